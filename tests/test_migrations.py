"""The Alembic migrations are the only source of the schema, so they must build exactly what the
models describe, and every revision must downgrade and upgrade again.

Runs on a database of its own: a temporary SQLite file, or, when TEST_DATABASE_URL points at
PostgreSQL, a separate database `engage_migrations_test` on that server (created here and
dropped afterwards), so the schema the other tests share is never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import create_engine, inspect, make_url, select, text
from sqlalchemy.exc import DBAPIError

from engage.core.models import AuditEvent
from engage.extensions import db
from tests.conftest import POSTGRES_URL, make_app

MIGRATIONS_DATABASE = "engage_migrations_test"


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    server = make_url(POSTGRES_URL)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{MIGRATIONS_DATABASE}" WITH (FORCE)')
    try:
        with admin.connect() as connection:
            connection.execute(drop)
            connection.execute(text(f'CREATE DATABASE "{MIGRATIONS_DATABASE}"'))
        yield server.set(database=MIGRATIONS_DATABASE).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(drop)
        admin.dispose()


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """migrations/env.py runs logging.config.fileConfig, which replaces the root handlers and
    disables every logger it does not name; put logging back so later tests still see logs."""
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {name: (logger.disabled, logger.level, list(logger.handlers), logger.propagate)
             for name, logger in logging.Logger.manager.loggerDict.items()
             if isinstance(logger, logging.Logger)}
    yield
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    for name, logger in logging.Logger.manager.loggerDict.items():
        if not isinstance(logger, logging.Logger):
            continue
        if name in saved:
            logger.disabled, level, handlers, logger.propagate = saved[name]
            logger.setLevel(level)
            logger.handlers[:] = handlers
        else:
            logger.disabled = False


@pytest.fixture
def migration_app(empty_database_url, keep_logging):
    app = make_app(empty_database_url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def revisions_base_to_head() -> list[str]:
    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    return [revision.revision for revision in script.walk_revisions("base", "heads")][::-1]


def assert_audit_log_is_append_only() -> None:
    table = AuditEvent.__table__
    with db.engine.begin() as connection:
        connection.execute(table.insert().values(
            occurred_at=db.func.now(), action="auth.sign_in", details={}))
    for statement in (table.update().values(action="auth.tampered"), table.delete()):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(statement)
    with db.engine.connect() as connection:
        assert connection.execute(select(table.c.action)).scalars().all() == ["auth.sign_in"]


def test_upgrade_to_head_builds_exactly_the_models_schema(migration_app):
    tables = set(db.metadata.tables)
    missing = {diff[1].name for diff in schema_differences() if diff[0] == "add_table"}
    assert missing == tables, "on an empty database the comparison sees every table missing"

    flask_migrate.upgrade()

    assert current_revision() == revisions_base_to_head()[-1]
    assert schema_differences() == []


def test_every_revision_downgrades_and_upgrades_again(migration_app):
    revisions = revisions_base_to_head()
    assert revisions, "there are migrations"
    flask_migrate.upgrade()

    for expected in [*revisions[-2::-1], None]:
        flask_migrate.downgrade(revision="-1")
        assert current_revision() == expected
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

    for revision in revisions:
        flask_migrate.upgrade(revision=revision)
        assert current_revision() == revision
    assert schema_differences() == []
    assert_audit_log_is_append_only()


def test_the_migrated_audit_log_refuses_updates_and_deletes(migration_app):
    flask_migrate.upgrade()

    assert_audit_log_is_append_only()


def _run(sql: str, **values) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(sql), values)


def _rows(sql: str) -> list[tuple]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_assisted_responses_migration_keeps_existing_answers_as_the_peoples_own(migration_app):
    flask_migrate.upgrade(revision="0025_question_routes")
    moment = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    _run("INSERT INTO users (id, username, username_key, display_name, password_hash, "
         "is_disabled, session_version, created_at, email_is_safe, discreet_mode) VALUES "
         "(7, 'sam', 'sam', 'Sam', 'x', false, 1, :at, false, true)", at=moment)
    for number, anonymous in ((3, False), (4, True)):
        _run("INSERT INTO consultations (id, title, summary, background, background_html, "
             "opens_at, closes_at, is_anonymous, state, created_at) VALUES (:id, 'Views', '', "
             "'', '', :opens, :closes, :anonymous, 'open', :opens)", id=number,
             anonymous=anonymous, opens=moment, closes=datetime(2026, 7, 1, tzinfo=UTC))
    _run("INSERT INTO consultation_responses (id, consultation_id, user_id, status, created_at, "
         "updated_at, submitted_at) VALUES (1, 3, 7, 'submitted', :at, :at, :at)", at=moment)
    _run("INSERT INTO anonymous_responses (id, consultation_id, submitted_on) "
         "VALUES (:id, 4, :day)", id="a" * 32, day=date(2026, 6, 1))

    flask_migrate.upgrade(revision="0026_assisted_responses")

    assert _rows("SELECT id, entry_method FROM consultation_responses") == [(1, None)]
    assert _rows("SELECT id, entry_method FROM anonymous_responses") == [("a" * 32, None)]
    with pytest.raises(DBAPIError):  # only the known methods
        _run("UPDATE anonymous_responses SET entry_method = 'email'")
    _run("UPDATE consultation_responses SET entry_method = 'phone'")
    if db.engine.dialect.name == "sqlite":
        schema = dict(_rows("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        assert "WITHOUT ROWID" in schema["anonymous_responses"]

    flask_migrate.downgrade(revision="0025_question_routes")

    assert _rows("SELECT id, user_id FROM consultation_responses") == [(1, 7)]
    assert _rows("SELECT id FROM anonymous_responses") == [("a" * 32,)]
    if db.engine.dialect.name == "sqlite":
        schema = dict(_rows("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        assert "WITHOUT ROWID" in schema["anonymous_responses"]
