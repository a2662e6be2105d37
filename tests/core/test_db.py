"""The database behaves the same on SQLite (the default) as on PostgreSQL."""

from __future__ import annotations

import gc
import os
import threading

import pytest
from sqlalchemy import bindparam, create_engine, event, func, insert, literal_column, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import QueuePool

import engage.db as engage_db
from engage.accounts.models import User
from engage.core import audit, clock
from engage.core.models import AuditEvent, Notification
from engage.db import (
    attached,
    configure_engine,
    holds_work,
    one_of,
    one_row_reads,
    plain_rows,
    plain_rows_apart,
    rows_as_text,
    with_one_row_reads,
)
from tests.factories import make_member, sign_in


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


def test_a_request_that_never_made_a_session_holds_nothing_and_is_not_given_one(app, db):
    """The request's end asks the scoped session (engage.core.unit_of_work): one never made
    holds nothing, and asking does not make it."""
    db.session.remove()  # the tests share the request's app context: start it without one
    with app.test_request_context("/", method="GET"):
        assert not db.session.registry.has()
        assert not holds_work(db.session)
        assert not db.session.registry.has()
        audit.record("test.waiting_in_the_session")
        assert holds_work(db.session)
        db.session.rollback()


# --- plain reads (engage.db.plain_rows, decision 0022) ------------------------------------------

_NOTIFICATIONS = (select(Notification.id, Notification.created_at, Notification.title,
                         Notification.read_at.is_(None))
                  .where(Notification.user_id == bindparam("user_id"))
                  .order_by(Notification.id))
_COUNT_ALL = select(func.count()).select_from(Notification)


def test_a_plain_read_gives_what_sqlalchemy_gives_with_its_conversions(db):
    """Dates come back aware (SQLite stores them as text), yes-or-no values as booleans: the
    same rows as SQLAlchemy's own execution, on both databases."""
    member = make_member()
    db.session.add_all([Notification(user_id=member.id, title="First"),
                        Notification(user_id=member.id, title="Second", read_at=clock.now())])
    db.session.commit()
    [rows] = plain_rows(db.session, (_NOTIFICATIONS, {"user_id": member.id}))
    expected = [tuple(row) for row in db.session.execute(_NOTIFICATIONS,
                                                         {"user_id": member.id})]
    assert rows == expected
    assert [title for _, _, title, _ in rows] == ["First", "Second"]
    assert [unread for *_, unread in rows] == [True, False]
    assert all(created.tzinfo is not None for _, created, _, _ in rows)


def test_several_plain_reads_come_back_in_order_and_see_unsaved_changes(db):
    """Several reads at once (one round trip on PostgreSQL) each give their own rows; changes
    waiting in the session are written first, as the ORM does before a query."""
    member = make_member()
    db.session.add(Notification(user_id=member.id, title="Not committed yet"))
    first, second = plain_rows(db.session, (_NOTIFICATIONS, {"user_id": member.id}),
                               (_COUNT_ALL, None))
    assert [row[2] for row in first] == ["Not committed yet"]
    assert second == [(1,)]
    db.session.rollback()
    assert plain_rows(db.session, (_COUNT_ALL, None)) == [[(0,)]]


def test_every_plain_read_is_seen_by_the_engines_listeners(db):
    """Query counts (tests/core/test_query_counts.py) and reading before the first write on
    PostgreSQL rely on seeing every statement."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        plain_rows(db.session, (_COUNT_ALL, None), (_NOTIFICATIONS, {"user_id": 1}))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(seen) == 2 and "count(*)" in seen[0] and "notifications.title" in seen[1]


def test_a_plain_read_first_in_a_request_holds_nothing_open_afterwards(app, db):
    """A read before the session has begun anything (the person, at the start of every
    signed-in request) takes a connection for itself and gives it back at once: the session
    stays unbegun, so the request's end neither commits nor takes a connection to ask whether
    it should. A read after a write is on the writing connection and sees the change."""
    member = make_member(username="read-first")
    db.session.commit()
    member_id = member.id
    db.session.close()
    pool = db.engine.pool
    with app.test_request_context("/", method="GET"):
        [rows] = plain_rows(db.session, (_COUNT_ALL, None))
        assert rows == [(0,)]
        assert db.session().get_transaction() is None
        attached(db.session, User, {"id": member_id, "username": "read-first"})
        assert not holds_work(db.session())
        if db.engine.dialect.name == "postgresql":  # SQLite's single in-memory connection stays
            assert pool.checkedout() == 0
        db.session.execute(insert(Notification).values(user_id=member_id, title="Written"))
        assert plain_rows(db.session, (_NOTIFICATIONS, {"user_id": member_id}))[0][0][2] == \
            "Written"
        assert holds_work(db.session())
        db.session.rollback()
    assert plain_rows(db.session, (_COUNT_ALL, None)) == [[(0,)]]


def test_a_failed_plain_read_raises_sqlalchemys_error_and_the_session_recovers(db):
    broken = select(literal_column("no_such_column")).select_from(Notification)
    for reads in ([(broken, None)], [(_COUNT_ALL, None), (broken, None)]):
        with pytest.raises(DBAPIError):
            plain_rows(db.session, *reads)
        db.session.rollback()
        assert plain_rows(db.session, (_COUNT_ALL, None)) == [[(0,)]]


def test_a_plain_read_refuses_lists_expanded_at_each_execution(db):
    expanding = select(Notification.id).where(Notification.title.in_(["a", "b"]))
    with pytest.raises(ValueError, match="one_of"):
        plain_rows(db.session, (expanding, None))


def test_a_row_read_plainly_becomes_the_sessions_own_object(db):
    """engage.db.attached: the person read with plain_rows is in the session as if the ORM had
    loaded them; columns that were not read are read when first used, and the session's own
    copy is given back if it already holds one."""
    member = make_member(username="plainly-read", display_name="Plainly Read")
    db.session.commit()
    member_id = member.id
    db.session.expunge_all()
    person = attached(db.session, User, {"id": member_id, "username": "plainly-read",
                                         "display_name": "Plainly Read"})
    assert db.session.get(User, member_id) is person
    assert person.password_hash  # not read above: read now, from the database
    assert [role.role for role in person.roles] == ["member"]  # and what it is linked to
    assert person not in db.session.dirty
    person.display_name = "Renamed"
    db.session.commit()
    db.session.expunge_all()
    assert db.session.get(User, member_id).display_name == "Renamed"
    again = db.session.get(User, member_id)
    assert attached(db.session, User, {"id": member_id, "display_name": "Stale"}) is again
    assert again.display_name == "Renamed"  # what the session holds is kept
    db.session.commit()  # which expires it: what was read fills it in, as the ORM would
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_rest) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        filled = attached(db.session, User, {"id": member_id, "display_name": "Read just now"})
        assert filled is again and filled.display_name == "Read just now"
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert not seen


# --- reads joined into one query (engage.db.rows_as_text, with_one_row_reads) ----------------

_TITLES = (select(Notification.id, Notification.title, Notification.read_at,
                  Notification.link)
           .where(Notification.user_id == bindparam("user_id")).order_by(Notification.id))


def test_rows_as_text_differ_whenever_a_value_shown_differs(db):
    """The text keys a kept page, so any change to a listed value must change it: text with
    commas, quotes and brackets, a missing value and the word "null" each read differently,
    and the same rows read the same text again."""
    member = make_member()
    note = Notification(user_id=member.id, title='Panel, "Voices" [north]', link=None)
    db.session.add(note)
    db.session.commit()
    read = rows_as_text(_TITLES)

    def text_now() -> str | None:
        [[(found,)]] = plain_rows(db.session, (read, {"user_id": member.id}))
        return found

    first = text_now()
    assert first is not None and 'Panel, \\"Voices\\" [north]' in first
    assert text_now() == first
    seen = {first}
    for change in ({"link": "null"}, {"link": ""}, {"title": 'Panel, "Voices"'},
                   {"read_at": clock.now()}):
        for name, value in change.items():
            setattr(note, name, value)
        db.session.commit()
        seen.add(text_now())
    assert len(seen) == 5
    db.session.add(Notification(user_id=member.id, title="Another"))
    db.session.commit()
    assert text_now().count("Another") == 1
    [[(nothing,)]] = plain_rows(db.session, (read, {"user_id": 0}))
    assert nothing is None


def test_one_row_reads_joined_to_a_query_give_what_they_give_alone(db):
    """A page's one-row reads joined to the person's query (wiring.send_with_person) come back
    as each would alone, converted the same way, and a read that finds nothing as no row."""
    member = make_member(username="joined-reads")
    db.session.add(Notification(user_id=member.id, title="Only one", read_at=clock.now()))
    db.session.commit()
    one = _TITLES.limit(1)
    reads = (one, rows_as_text(_TITLES), one)
    person = select(User.username).where(User.id == bindparam("person"))
    query = with_one_row_reads(person, reads)
    params = {"person": member.id, "user_id": member.id}
    [[row]] = plain_rows(db.session, (query, params))
    assert row[0] == "joined-reads"
    found = one_row_reads(row[1:], reads)
    alone = [plain_rows(db.session, (read, params))[0] for read in reads]
    assert found == alone
    assert found[0][0][1] == "Only one" and found[0][0][2].tzinfo is not None
    [[row]] = plain_rows(db.session, (query, {"person": member.id, "user_id": 0}))
    assert one_row_reads(row[1:], reads) == [[], [(None,)], []]


# --- each thread's own read connection (engage.db.KeptReads) ------------------------------------

_ONE_TWO = select(literal_column("1") + literal_column("1"))


def _file_engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'kept.sqlite3'}", poolclass=QueuePool)
    configure_engine(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE said (words TEXT)"))
    return engine


def _attempts(monkeypatch) -> list:
    """Each time a read is tried on a connection (engage.db._plain_rows_on), whether or not the
    driver gets as far as the statement."""
    tried: list = []
    real = engage_db._plain_rows_on

    def trying(connection, reads):
        tried.append(connection)
        return real(connection, reads)

    monkeypatch.setattr(engage_db, "_plain_rows_on", trying)
    return tried


def _connections_used(engine) -> list:
    used: list = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, *rest: used.append(conn.connection.dbapi_connection))
    return used


def test_reads_outside_a_transaction_keep_one_connection_per_thread_and_see_new_rows(tmp_path):
    """The person's read at the start of every signed-in request takes no connection from
    the pool: each thread keeps its own, outside it, and every read still sees what was
    committed a moment before."""
    engine = _file_engine(tmp_path)
    used = _connections_used(engine)
    count = select(func.count()).select_from(text("said"))
    assert plain_rows_apart(engine, (count, None)) == [[(0,)]]
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO said VALUES ('kept')"))
    assert plain_rows_apart(engine, (count, None)) == [[(1,)]]
    assert engine.pool.checkedout() == 0
    assert used[0] is used[-1]
    other = threading.Thread(target=plain_rows_apart, args=(engine, (count, None)))
    other.start()
    other.join()
    assert used[-1] is not used[0]  # the other thread read on a connection of its own
    engine.dispose()


def test_a_read_connection_lost_while_it_waited_is_replaced_before_the_read(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setattr(engage_db, "IDLE_BEFORE_PING", 0.0)
    engine = _file_engine(tmp_path)
    used = _connections_used(engine)
    plain_rows_apart(engine, (_ONE_TWO, None))
    used[0].close()  # gone while it waited, as after a database restart
    tried = _attempts(monkeypatch)
    assert plain_rows_apart(engine, (_ONE_TWO, None)) == [[(2,)]]
    assert len(used) == 2  # checked first, so the read was not even tried on the lost one
    assert len(tried) == 1
    assert used[1] is not used[0]
    engine.dispose()


def test_a_read_on_a_connection_the_database_just_dropped_is_asked_again_once(tmp_path,
                                                                             monkeypatch):
    engine = _file_engine(tmp_path)
    used = _connections_used(engine)
    plain_rows_apart(engine, (_ONE_TWO, None))
    used[0].close()  # dropped a moment ago: too recent for the check before use
    tried = _attempts(monkeypatch)
    assert plain_rows_apart(engine, (_ONE_TWO, None)) == [[(2,)]]
    assert len(tried) == 2 and tried[1] is not tried[0]  # failed once, then a new connection
    assert used[-1] is not used[0]
    before = len(used)
    broken = select(literal_column("no_such_column")).select_from(text("said"))
    with pytest.raises(DBAPIError):  # any other error is the caller's, and not asked again
        plain_rows_apart(engine, (broken, None))
    assert len(used) == before + 1
    engine.dispose()


def test_disposing_of_the_engine_closes_the_read_connection(tmp_path):
    engine = _file_engine(tmp_path)
    kept: list = []
    event.listen(engine, "before_cursor_execute", lambda conn, *rest: kept.append(conn))
    plain_rows_apart(engine, (_ONE_TWO, None))
    engine.dispose()
    assert kept[0].closed
    assert plain_rows_apart(engine, (_ONE_TWO, None)) == [[(2,)]]
    assert kept[1] is not kept[0]
    engine.dispose()


def _backend_pid(db) -> int:
    [[(pid,)]] = plain_rows_apart(db.engine, (select(func.pg_backend_pid()), None))
    return pid


def test_a_signed_in_page_loads_after_the_database_dropped_the_read_connection(app, db,
                                                                               browser_like):
    """On PostgreSQL: a restart, or an administrator ending the session, between two of a
    member's pages is not shown to them."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    member = make_member(username="still-here")
    db.session.commit()
    sign_in(browser_like, member)
    kept = _backend_pid(db)
    db.session.execute(select(func.pg_terminate_backend(kept)))
    db.session.commit()
    page = browser_like.get("/")
    assert page.status_code == 200
    assert "Sign out" in page.get_data(as_text=True)
    assert _backend_pid(db) != kept


def test_a_forked_process_never_uses_or_ends_its_parents_read_connection(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    parent = _backend_pid(db)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's result is its exit status
        try:
            ok = _backend_pid(db) != parent
            engage_db._INHERITED.clear()
            gc.collect()
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _backend_pid(db) == parent  # still connected, on the same session


def test_on_postgresql_a_read_connection_the_driver_knows_is_closed_is_replaced_first(
        app, db, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    used = _connections_used(db.engine)
    first = _backend_pid(db)
    used[-1].close()  # psycopg now says it is closed
    before = len(used)
    tried = _attempts(monkeypatch)
    assert _backend_pid(db) != first
    assert len(used) == before + 1
    assert len(tried) == 1  # the read went straight to a new connection


def _cursors_used(engine) -> list:
    used: list = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, *rest: used.append(cursor))
    return used


def test_on_postgresql_one_read_at_a_time_reuses_its_connections_cursor_and_sees_new_rows(
        app, db):
    """The person's read on every signed-in page runs on a cursor kept with its connection
    (engage.db._reused_cursor): the next read gets the new rows, not the last read's, and a
    failed read leaves the cursor fit for the next."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    cursors = _cursors_used(db.engine)
    count = select(func.count()).select_from(Notification)
    assert plain_rows_apart(db.engine, (count, None)) == [[(0,)]]
    db.session.add(Notification(user_id=make_member().id, title="new"))
    db.session.commit()
    assert plain_rows_apart(db.engine, (count, None)) == [[(1,)]]
    with pytest.raises(DBAPIError):
        plain_rows_apart(db.engine, (select(literal_column("no_such_column")), None))
    assert plain_rows_apart(db.engine, (count, None)) == [[(1,)]]
    # One cursor for the four reads (the session wrote with a cursor of its own).
    assert cursors[0] is cursors[-3] is cursors[-2] is cursors[-1]
    # Several reads at once still each get a cursor of their own (psycopg's pipeline).
    assert plain_rows_apart(db.engine, (count, None), (_ONE_TWO, None)) == [[(1,)], [(2,)]]
    assert cursors[-1] is not cursors[-2]


def test_on_postgresql_a_new_read_connection_gets_a_new_cursor(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    cursors = _cursors_used(db.engine)
    first = _backend_pid(db)
    cursors[-1].connection.close()
    assert _backend_pid(db) != first
    assert cursors[-1] is not cursors[0] and not cursors[-1].closed


def test_on_postgresql_reads_are_not_prepared_where_prepared_statements_are_switched_off(
        app, db):
    """A deployment behind PgBouncer's transaction mode switches psycopg's prepared statements
    off (prepare_threshold None); the kept reads respect that, and otherwise prepare at once."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    cursors = _cursors_used(db.engine)
    prepared = select(func.count()).select_from(text("pg_prepared_statements"))
    plain_rows_apart(db.engine, (_ONE_TWO, None))
    driver = cursors[-1].connection
    [[(before,)]] = plain_rows_apart(db.engine, (prepared, None))
    assert before >= 1  # prepared on first use, not after psycopg's usual five
    driver.prepare_threshold = None
    try:
        driver.execute("DEALLOCATE ALL")
        plain_rows_apart(db.engine, (_ONE_TWO, None))
        [[(after,)]] = plain_rows_apart(db.engine, (prepared, None))
        assert after == 0
    finally:
        driver.prepare_threshold = 5
