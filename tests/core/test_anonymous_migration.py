"""The migration that stops anonymous records keeping an order of arrival (issue 11, items 2
and 3): what it does to rows that already exist."""

from __future__ import annotations

from datetime import UTC, date, datetime

import flask_migrate
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engage.extensions import db as _db


def _run(sql: str, **values):
    with _db.engine.begin() as connection:
        return connection.execute(text(sql), values)


def _rows(sql: str) -> list[tuple]:
    with _db.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql))]


def _existing_data() -> None:
    for action, moment in [
        ("consultation.answered_anonymously", datetime(2026, 6, 1, 9, 15, tzinfo=UTC)),
        ("consultation.answered_anonymously", datetime(2026, 6, 1, 22, 50, tzinfo=UTC)),
        ("feedback.withdrawn_by_giver", datetime(2026, 6, 2, 10, 0, tzinfo=UTC)),
        ("auth.signed_in", datetime(2026, 6, 1, 9, 14, tzinfo=UTC)),
    ]:
        _run("INSERT INTO audit_events (occurred_at, action, details) "
             "VALUES (:at, :action, '{}')", at=moment, action=action)
    _run("INSERT INTO users (id, username, username_key, display_name, password_hash, "
         "is_disabled, session_version, created_at, email_is_safe, discreet_mode) VALUES "
         "(7, 'sam', 'sam', 'Sam', 'x', false, 1, :at, false, true)",
         at=datetime(2026, 1, 1, tzinfo=UTC))
    _run("INSERT INTO feedback_items (id, received_on, body, may_quote, status, "
         "safeguarding_flagged) VALUES (4242, :day, 'sealed', false, 'new', false)",
         day=date(2026, 6, 1))
    _run("INSERT INTO impact_feedback_links (id, user_id, feedback_id) VALUES (1, 7, 4242)")
    _run("INSERT INTO consultations (id, title, summary, background, background_html, "
         "opens_at, closes_at, is_anonymous, state, created_at) VALUES (3, 'Views', '', '', '', "
         ":opens, :closes, true, 'open', :opens)",
         opens=datetime(2026, 5, 1, tzinfo=UTC), closes=datetime(2026, 7, 1, tzinfo=UTC))
    for n in range(6):
        _run("INSERT INTO anonymous_responses (id, consultation_id, submitted_on, form_token) "
             "VALUES (:id, 3, :day, :token)", id=f"{n:032x}", day=date(2026, 6, 1),
             token=f"raw-page-token-{n}")


def test_existing_rows_lose_their_times_order_and_page_tokens(migration_app):
    flask_migrate.upgrade(revision="0014_field_encryption")
    _existing_data()

    flask_migrate.upgrade(revision="0015_anonymous_order")

    assert _rows("SELECT action FROM audit_events") == [("auth.signed_in",)]
    counts = _rows("SELECT day, action, count FROM anonymous_activity_counts")
    assert sorted((str(day), action, n) for day, action, n in counts) == [
        ("2026-06-01", "consultation.answered_anonymously", 2),  # London days
        ("2026-06-02", "feedback.withdrawn_by_giver", 1),
    ]
    [(link_id, user_id, feedback_id)] = _rows(
        "SELECT id, user_id, feedback_id FROM impact_feedback_links")
    assert (user_id, feedback_id) == (7, 4242) and link_id != 1 and link_id > 0
    assert _rows("SELECT DISTINCT form_token FROM anonymous_responses") == [(None,)]
    assert len(_rows("SELECT id FROM anonymous_responses")) == 6
    assert _rows("SELECT settled FROM feedback_items") in ([(False,)], [(0,)])
    if _db.engine.dialect.name == "sqlite":
        schema = dict(_rows("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        for table in ("anonymous_responses", "anonymous_answers", "equality_snapshots"):
            assert "WITHOUT ROWID" in schema[table], table
        assert _rows("SELECT rowid FROM feedback_items") == [(4242,)], "the id is the rowid"
    else:
        assert _rows("SELECT column_default FROM information_schema.columns WHERE "
                     "table_name = 'impact_feedback_links' AND column_name = 'id'") == [(None,)]
    with pytest.raises(DBAPIError, match="append-only"):  # the guard is back
        _run("DELETE FROM audit_events")

    flask_migrate.downgrade(revision="0014_field_encryption")
    assert len(_rows("SELECT id FROM anonymous_responses")) == 6
