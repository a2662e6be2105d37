"""The database behaves the same on SQLite (the default) as on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import QueuePool

import engage.db as engage_db
from engage.core import audit, clock
from engage.core.models import AuditEvent, Notification
from engage.db import configure_engine, holds_work, one_of
from tests.factories import make_member


def test_foreign_keys_are_enforced(db):
    db.session.add(Notification(user_id=987654, title="to nobody"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_deleting_a_person_cascades_to_their_rows(db):
    member = make_member()
    db.session.add(Notification(user_id=member.id, title="hello"))
    db.session.commit()
    db.session.delete(member)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_savepoint_released_first_thing_does_not_commit_the_transaction(db):
    db.session.commit()
    with db.session.begin_nested():
        audit.record("test.inside_savepoint")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_connection_lost_while_waiting_in_the_pool_is_replaced_before_use(tmp_path,
                                                                              monkeypatch):
    """Connections that waited in the pool are checked before use (engage/db.py): one the
    database dropped meanwhile is replaced, so the request never sees the error."""
    monkeypatch.setattr(engage_db, "IDLE_BEFORE_PING", 0.0)
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}", poolclass=QueuePool)
    configure_engine(engine)
    with engine.connect() as connection:
        lost = connection.connection.driver_connection
    lost.close()  # gone while it waited, as after a database restart
    with engine.connect() as connection:
        assert connection.scalar(select(1)) == 1
        assert connection.connection.driver_connection is not lost
    engine.dispose()


def test_a_connection_in_steady_use_is_not_checked_each_time(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}", poolclass=QueuePool)
    configure_engine(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))
    for _ in range(3):
        with engine.connect() as connection:
            connection.execute(text("SELECT 2"))
    assert statements == ["SELECT 2"] * 3  # no "SELECT 1" pings in between
    engine.dispose()


def _in_transaction(db) -> bool:
    return db.session.connection().connection.driver_connection.info.transaction_status != 0


def test_on_postgresql_a_get_request_reads_outside_a_transaction_until_it_writes(app, db):
    """engage/db.py: a GET request's reads need no BEGIN and COMMIT (two round trips); its
    first write opens the transaction, so what it writes is still kept or undone as one."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's driver already opens its transaction at the first write")
    db.session.commit()
    with app.test_request_context("/", method="GET"):
        db.session.scalar(select(func.count()).select_from(AuditEvent))
        assert not _in_transaction(db)
        audit.record("test.first_write")
        audit.record("test.second_write")
        db.session.flush()
        assert _in_transaction(db)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
        db.session.rollback()  # the end of the request: the connection goes back to the pool
    with app.test_request_context("/", method="POST"):
        db.session.scalar(select(func.count()).select_from(AuditEvent))
        assert _in_transaction(db)  # other requests open it at once, as before
        db.session.rollback()


def test_on_postgresql_a_savepoint_in_a_get_request_is_inside_the_transaction(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    db.session.commit()
    with app.test_request_context("/", method="GET"):
        with db.session.begin_nested():
            audit.record("test.inside_savepoint")
        assert _in_transaction(db)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_connection_goes_back_to_the_pool_with_transactions_on(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    db.session.commit()
    with app.test_request_context("/", method="GET"):
        db.session.scalar(select(1))
        driver = db.session.connection().connection.driver_connection
        assert driver.autocommit
        db.session.commit()
        db.session.close()
    assert not driver.autocommit  # a worker job or the command line gets it as usual


def test_one_of_writes_fixed_words_into_the_sql_and_refuses_anything_else(app, db):
    """engage/db.py: a fixed set of states is written into the statement once, not expanded
    again on every execution; it is never for anything a person typed."""
    clause = one_of(AuditEvent.action, ["signed_in", "signed_out"])
    statement = select(func.count()).select_from(AuditEvent).where(clause)
    compiled = statement.compile(db.engine)
    assert "IN ('signed_in', 'signed_out')" in str(compiled)
    assert not compiled.post_compile_params
    audit.record("signed_in")
    audit.record("something_else")
    assert db.session.scalar(statement) == 1
    db.session.rollback()
    for bad in (["it's"], ["a', 'b"], []):
        with pytest.raises(ValueError):
            one_of(AuditEvent.action, bad)


def test_a_request_that_only_read_has_nothing_to_commit_and_one_that_wrote_has(app, db):
    """engage/db.py holds_work, which the request's one commit asks first (both databases):
    reading leaves nothing to commit; a change waiting in the session, or one already written
    by a statement, must be committed."""
    db.session.commit()
    with app.test_request_context("/", method="GET"):
        db.session.scalar(select(func.count()).select_from(AuditEvent))
        assert not holds_work(db.session())
        db.session.execute(insert(AuditEvent).values(action="test.by_statement",
                                                     occurred_at=clock.now()))
        assert holds_work(db.session())
        db.session.rollback()
        audit.record("test.waiting_in_the_session")
        assert holds_work(db.session())
        db.session.rollback()
