"""The governance migration carries existing entries: each published one gets its version 1,
so its first edit starts version 2 and the history keeps today's wording."""

from __future__ import annotations

import flask_migrate
from sqlalchemy import text

from engage.extensions import db
from tests.test_migrations import empty_database_url, keep_logging, migration_app  # noqa: F401

BEFORE = "0021_question_types"
GOVERNANCE = "0022_change_governance"


def test_published_entries_get_their_first_version(migration_app):  # noqa: F811
    flask_migrate.upgrade(revision=BEFORE)
    with db.engine.begin() as connection:
        for said, publication, published in (("Published words", "published",
                                               "2026-03-02 10:00:00+00:00"),
                                              ("Draft words", "draft", None)):
            connection.execute(text(
                "INSERT INTO change_entries (said, done, organisation, status, publication, "
                "created_at, published_at) VALUES (:said, 'Done', 'Clinic', 'planned', "
                ":publication, '2026-03-01 09:00:00+00:00', :published)"),
                {"said": said, "publication": publication, "published": published})
    flask_migrate.upgrade(revision=GOVERNANCE)
    with db.engine.connect() as connection:
        versions = connection.execute(text(
            "SELECT e.said, v.number, v.publication, v.said FROM change_entry_versions v "
            "JOIN change_entries e ON e.id = v.entry_id")).all()
        public = connection.execute(text(
            "SELECT said, public_version FROM change_entries ORDER BY said")).all()
    assert versions == [("Published words", 1, "published", "Published words")]
    assert public == [("Draft words", None), ("Published words", 1)]

    with db.engine.begin() as connection:
        connection.execute(text(
            "UPDATE change_entries SET publication = 'withdrawn', withdrawn_reason = 'Repeat' "
            "WHERE said = 'Published words'"))
    flask_migrate.downgrade(revision=BEFORE)
    with db.engine.connect() as connection:
        assert connection.execute(text(
            "SELECT publication FROM change_entries WHERE said = 'Published words'")
        ).scalar() == "published"
