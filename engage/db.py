"""The typed declarative base, constraint naming and shared column types."""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache, partial

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Text,
    event,
    exc,
    func,
    inspect,
    literal_column,
    select,
    true,
)
from sqlalchemy.engine import Compiled
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.pool import SingletonThreadPool, StaticPool
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# A primary key for rows that must not reveal their order of arrival: random 63-bit values,
# never a sequence. On SQLite it is an INTEGER PRIMARY KEY, so the table's rowid is the random
# value itself and the b-tree is ordered by it, not by insertion.
RandomIdType = BigInteger().with_variant(Integer(), "sqlite")


def random_row_id() -> int:
    return secrets.randbelow(2**63 - 1) + 1


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Naive datetimes are not stored: use engage.core.clock.now().")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EncryptedText(TypeDecorator[str]):
    """Text encrypted at rest with a key derived from FIELD_ENCRYPTION_KEY (AES-256-GCM, a
    random nonce, padded to a size bucket; no time is stored: see engage/core/crypto.py).

    The key lives in the environment, never in the database or its backups.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        if value is None:
            return None
        # engage.core's package imports engage.extensions, which imports this module.
        from engage.core.crypto import encrypt

        return encrypt(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        if value is None:
            return None
        # engage.core's package imports engage.extensions, which imports this module.
        from engage.core.crypto import decrypt

        return decrypt(value)


@cache
def plain_columns(model) -> tuple:
    """A model's columns whose values can be kept as they are: all but the encrypted ones (a
    kept page's key is made of them; a decrypted secret has no place there)."""
    return tuple(column for column in model.__table__.c
                 if not isinstance(column.type, EncryptedText))


_PLAIN_WORD = re.compile(r"[a-z_]+")


def one_of(column, values: Iterable[str]):
    """`column IN ('a', 'b')` with the values written into the SQL when it is compiled.

    `column.in_(values)` sends them as an "expanding" parameter, which SQLAlchemy writes into
    the statement again on every execution: on the pages asked for most, that cost more than
    the database's own work. Only for fixed sets of plain words (the states in the models),
    never for anything a person typed."""
    words = tuple(str(value) for value in values)
    if not words or not all(_PLAIN_WORD.fullmatch(word) for word in words):
        raise ValueError(f"one_of() takes fixed plain words, not {words!r}")
    return column.in_([literal_column(f"'{word}'") for word in words])


class json_row(FunctionElement[str]):
    """Its arguments' values as the text of one JSON array: `json_build_array(...)::text` on
    PostgreSQL, `json_array(...)` on SQLite. Each value is written whole and quoted where it
    is text, so two rows give the same text only if their values are the same."""

    type = Text()
    inherit_cache = True
    name = "json_row"


@compiles(json_row, "postgresql")
def _json_row_on_postgresql(element, compiler, **kw) -> str:
    return f"json_build_array({compiler.process(element.clauses, **kw)})::text"


@compiles(json_row)
def _json_row(element, compiler, **kw) -> str:
    return f"json_array({compiler.process(element.clauses, **kw)})"


def rows_as_text(query):
    """A read that finds one row of one text column: every row `query` finds, in its order, as
    a JSON array each (json_row), joined with commas; NULL when it finds none. Equal texts
    mean equal rows, so the text can key a kept page that lists them, and being one row it can
    be read within the person's own query (wiring.send_with_person)."""
    found = query.with_only_columns(json_row(*query.selected_columns).label("row")).subquery()
    return select(func.aggregate_strings(found.c.row, literal_column("','")))


def with_one_row_reads(query, statements: tuple):
    """`query` with each of `statements` (reads that find one row at most) joined to it, so
    one query finds both: their columns follow `query`'s own, each read's with a flag after
    them that is NULL when it found no row. `one_row_reads` takes them apart again."""
    first = query.columns_clause_froms[0]
    for statement in statements:
        found = statement.add_columns(literal_column("1").label("engage_found")).subquery()
        query = query.outerjoin_from(first, found, true()).add_columns(*found.c)
    return query


def one_row_reads(values: tuple, statements: tuple) -> list[list[tuple]]:
    """The rows each of `statements` found (none, or one) from the values that follow a
    query's own in a row of `with_one_row_reads(query, statements)`."""
    found, at = [], 0
    for statement in statements:
        width = len(statement.selected_columns)
        row, flag = values[at:at + width], values[at + width]
        found.append([] if flag is None else [tuple(row)])
        at += width + 1
    return found


# A connection that waited in the pool longer than this is checked before use (the database may
# have restarted meanwhile); one in steady use is not, which saves a round trip per request.
IDLE_BEFORE_PING = 30.0  # seconds


def configure_engine(engine: Engine, reads_first: Callable[[], bool] | None = None) -> None:
    """Checks idle connections before use and, on SQLite, the settings below. On PostgreSQL,
    when `reads_first()` says so (a GET request), the transaction opens at the first write, as
    SQLite's driver does (see `read_before_first_write`)."""
    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", partial(_ping_if_idle, engine.dialect))
    configure_sqlite(engine)
    keep_read_connections(engine)
    if reads_first is not None and engine.dialect.name == "postgresql":
        read_before_first_write(engine, reads_first)


def _note_idle(dbapi_connection, record) -> None:
    record.info["engage_idle_since"] = time.monotonic()


def _ping_if_idle(dialect, dbapi_connection, record, proxy) -> None:
    """SQLAlchemy's pool_pre_ping, for connections that have waited a while: raising
    DisconnectionError makes the pool drop this connection and open a fresh one."""
    since = record.info.get("engage_idle_since")
    if since is not None and time.monotonic() - since < IDLE_BEFORE_PING:
        return
    if not _answers(dialect, dbapi_connection):
        raise exc.DisconnectionError("the database connection was lost")


# What may run outside a transaction: a plain SELECT, with no row lock and none of the functions
# that only mean something inside one (or change something).
_NOT_A_PLAIN_READ = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\bFOR\s+(?:KEY\s+)?SHARE\b|pg_advisory|pg_try_advisory"
    r"|nextval|setval|set_config|pg_notify|txid_current|pg_current_xact_id", re.IGNORECASE)
READING = "engage_reading_outside_a_transaction"


def read_before_first_write(engine: Engine, reads_first: Callable[[], bool]) -> None:
    """Statements before a request's first write run outside a transaction.

    psycopg opens a transaction with a BEGIN of its own before the first statement and closes it
    with a COMMIT: two round trips to the database on every request, a third of a signed-in
    page's database time, for pages that only read. Reading in autocommit mode sees exactly what
    it would inside a READ COMMITTED transaction (every statement there takes a fresh snapshot
    too). The first statement that is not a plain SELECT (an INSERT, UPDATE or DELETE, a
    SAVEPOINT, a row lock) turns autocommit off before it runs, so it and everything after it
    are one transaction, committed or rolled back as before. This is what Python's sqlite3
    driver does on SQLite.
    """
    event.listen(engine, "begin", partial(_read_until_a_write, reads_first))
    event.listen(engine, "before_cursor_execute", _open_before_a_write)
    event.listen(engine, "checkin", _close_reading)


def _in_transaction(connection) -> bool:
    """Whether the driver has a transaction open on this connection: on SQLite, only once
    something was written; on PostgreSQL (psycopg), anything but idle."""
    driver = connection.connection.driver_connection
    if connection.dialect.name == "sqlite":
        return driver.in_transaction
    return driver.info.transaction_status != 0  # psycopg's TransactionStatus.IDLE


def _read_until_a_write(reads_first: Callable[[], bool], connection) -> None:
    driver = connection.connection.driver_connection
    if driver.autocommit or _in_transaction(connection) or not reads_first():
        return  # already autocommit (an AUTOCOMMIT isolation level), or in a transaction
    driver.autocommit = True
    connection.info[READING] = True


def _open_before_a_write(connection, cursor, statement, parameters, context, executemany) -> None:
    if connection.info.get(READING) and not _is_plain_read(statement):
        connection.connection.driver_connection.autocommit = False
        connection.info[READING] = False


@lru_cache(maxsize=4096)
def _is_plain_read(statement: str) -> bool:
    return (statement.lstrip()[:6].upper() == "SELECT"
            and not _NOT_A_PLAIN_READ.search(statement))


def _close_reading(dbapi_connection, record) -> None:
    if record.info.pop(READING, False):
        dbapi_connection.autocommit = False


def made_session(scoped: scoped_session) -> Session | None:
    """The scope's session (the request's) if something has made it, else None: asking does not
    make one, which would then be closed again at the request's end for nothing."""
    return scoped() if scoped.registry.has() else None


def holds_work(session: Session | scoped_session) -> bool:
    """Whether committing `session` would keep anything: changes waiting in it, or a
    transaction open on its connection because something was written (reads open none on
    SQLite, nor on PostgreSQL in a GET request: see `read_before_first_write`). A scoped
    session that was never made holds nothing, and is not made to find out."""
    if isinstance(session, scoped_session):
        session = made_session(session)
        if session is None:
            return False
    if session.new or session.dirty or session.deleted:
        return True
    connection = session.info.get(_SESSION_CONNECTION)
    return connection is not None and _in_transaction(connection)


# The connection a session's transaction holds, kept in session.info while it does: so a
# request can ask whether anything is open without taking a connection from the pool to find
# out (see `holds_work`, and `plain_rows`, which reads on a connection of its own until then).
_SESSION_CONNECTION = "engage_connection"


@event.listens_for(Session, "after_begin")
def _note_connection(session, transaction, connection) -> None:
    session.info[_SESSION_CONNECTION] = connection


@event.listens_for(Session, "after_transaction_end")
def _forget_connection(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_SESSION_CONNECTION, None)


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave like the PostgreSQL Engage runs on at scale.

    - Foreign keys are enforced (SQLite leaves them off unless asked), so ON DELETE CASCADE and
      SET NULL work on the default database too.
    - Deleted rows are overwritten with zeros (secure_delete), so a deleted draft or sealed
      envelope does not stay readable in the file's free pages.
    - A SAVEPOINT is always inside a transaction. Python's sqlite3 driver opens a transaction
      only before a write, so a SAVEPOINT issued first would itself open one and its RELEASE
      would commit everything early; here a BEGIN is issued first when none is open.
    """
    if engine.dialect.name != "sqlite":
        return
    event.listen(engine, "connect", _enforce_foreign_keys)
    event.listen(engine, "savepoint", _begin_before_savepoint)


def _enforce_foreign_keys(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _begin_before_savepoint(connection, name) -> None:
    driver = connection.connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN")


def set_sqlite_foreign_keys(connection, *, on: bool) -> None:
    """Switch enforcement on or off for one connection (only takes effect outside a
    transaction, so it goes straight to the driver)."""
    connection.connection.driver_connection.execute(
        f"PRAGMA foreign_keys={'ON' if on else 'OFF'}"
    )


# --- plain reads on the driver -------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """A SELECT compiled for one database, with SQLAlchemy's own conversions of its
    parameters and of its result columns (None where a value needs none)."""

    compiled: Compiled
    sql: str
    order: tuple[str, ...] | None  # parameter names in order, for drivers that take a sequence
    bind_processors: tuple[tuple[str, Callable], ...]
    result_processors: tuple[Callable | None, ...] | None


_PREPARED: dict[tuple[object, str], _Prepared] = {}
# The statements are built once (cached), so this only guards against a caller that builds
# one for each request.
PREPARED_LIMIT = 1024


def _prepared(statement, dialect) -> _Prepared:
    found = _PREPARED.get((statement, dialect.name))
    if found is None:
        if len(_PREPARED) >= PREPARED_LIMIT:
            _PREPARED.clear()
        compiled = statement.compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("plain_rows() takes no expanding IN lists: use engage.db.one_of")
        binds = tuple((name, processor) for name, bind in compiled.binds.items()
                      if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)))
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                        for column in statement.selected_columns)
        found = _PREPARED[(statement, dialect.name)] = _Prepared(
            compiled, str(compiled), tuple(compiled.positiontup) if compiled.positional else None,
            binds, results if any(results) else None)
    return found


def _driver_parameters(prepared: _Prepared, params: dict | None):
    values = prepared.compiled.construct_params(params or {})
    for name, processor in prepared.bind_processors:
        values[name] = processor(values[name])
    if prepared.order is None:
        return values
    return tuple(values[name] for name in prepared.order)


def _converted(rows: list, processors: tuple[Callable | None, ...] | None) -> list[tuple]:
    if processors is None:
        return rows
    return [tuple(value if convert is None else convert(value)
                  for value, convert in zip(row, processors, strict=True)) for row in rows]


def plain_rows(session: Session, *reads: tuple[object, dict | None]) -> list[list[tuple]]:
    """The rows of each (statement, parameters) in `reads`, run straight on the driver
    connection `session` is using (in its transaction, if one is open).

    For the few reads every signed-in request makes (the person; a kept page's key),
    SQLAlchemy's execution and result objects cost more than the database's own work. Here
    the statement is still written with SQLAlchemy and compiled once per database, and its
    parameters and results go through SQLAlchemy's own conversions (dates on SQLite, say);
    what is skipped is the per-execution machinery. On PostgreSQL several reads are sent
    together (psycopg's pipeline mode): one round trip, however many there are.

    Only for plain SELECTs built once (cached), whose rows are wanted as tuples. As with the
    ORM, changes waiting in the session are flushed first, so the reads see them; the
    engine's before_cursor_execute listeners still see every statement (decision 0022).
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    if session.get_transaction() is not None:
        return _plain_rows_on(session.connection(), reads)
    # Nothing begun: the reads see what any new transaction would, so they take a connection
    # from the pool for themselves, and the session stays unbegun, as it was.
    return plain_rows_apart(session.get_bind(), *reads)


def plain_rows_apart(engine: Engine, *reads: tuple[object, dict | None]) -> list[list[tuple]]:
    """plain_rows() outside any transaction (on PostgreSQL in autocommit mode: no BEGIN, no
    ROLLBACK), for reads that need no session: the signed-in person before the request has
    begun anything, a public page's version (page_cache). They run on the thread's own read
    connection (`KeptReads`) where the engine keeps one, else on one from the pool, given
    back at once."""
    kept = getattr(engine, KEPT_READS, None)
    if kept is not None:
        try:
            return _plain_rows_on(kept.connection(engine), reads)
        except exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
            # The database had dropped the connection (a restart, say). Reads outside a
            # transaction change nothing, so they are asked again, once, on a new one.
            return _plain_rows_on(kept.connection(engine), reads)
    with engine.connect() as connection, _autocommit(connection):
        return _plain_rows_on(connection, reads)


KEPT_READS = "engage_kept_reads"


class KeptReads:
    """Each thread's own database connection for plain reads outside a transaction.

    Taking a connection from SQLAlchemy's pool and giving it back (with its events, the
    driver's reset and, on PostgreSQL, autocommit switched on and off again) cost more of a
    signed-in page than the person's query itself. Each web thread instead keeps one
    connection, outside the pool, for these reads alone: always in autocommit mode on
    PostgreSQL, never holding a transaction or a lock between statements. So a process uses
    up to its threads' count of connections more than its pool (docs/operations.md).

    As the pool does, a connection that has waited longer than IDLE_BEFORE_PING is checked
    before use, and one the database dropped is replaced (plain_rows_apart asks again). One
    inherited from a parent process (a fork) is never used or closed by the child, and
    `engine.dispose()` closes the calling thread's at once and every other thread's before
    its next read.
    """

    def __init__(self, engine: Engine) -> None:
        self._local = threading.local()
        self._generation = 0
        event.listen(engine, "engine_disposed", self.dispose)

    def connection(self, engine: Engine) -> Connection:
        local = self._local
        connection = getattr(local, "connection", None)
        now = time.monotonic()
        if connection is None or not self._usable(local, connection, now):
            self._let_go(local)
            connection = self._open(local, engine)
        local.used_at = now
        return connection

    def _usable(self, local, connection: Connection, now: float) -> bool:
        if (local.pid != os.getpid() or local.generation != self._generation
                or connection.invalidated or connection.closed):
            return False  # asked first: `.connection` on an invalidated one would reconnect
        dbapi_connection = connection.connection.dbapi_connection
        return not getattr(dbapi_connection, "closed", False) and (
            now - local.used_at < IDLE_BEFORE_PING
            or _answers(connection.dialect, dbapi_connection))

    def _open(self, local, engine: Engine) -> Connection:
        connection = engine.connect()
        connection.detach()  # outside the pool: closing it closes it
        if connection.dialect.name == "postgresql":
            connection.connection.dbapi_connection.autocommit = True
        local.connection, local.pid, local.generation = connection, os.getpid(), self._generation
        return connection

    def dispose(self, engine: Engine | None = None) -> None:
        """The engine was disposed of (its pool closed): so are the kept connections."""
        self._generation += 1
        self._let_go(self._local)

    @staticmethod
    def _let_go(local) -> None:
        """The thread's connection, closed; or, if it is a parent process's, kept unused."""
        connection, local.connection = getattr(local, "connection", None), None
        if connection is None:
            return
        if local.pid == os.getpid():
            _close_quietly(connection)
        else:
            _INHERITED.append(connection)


# Connections a forked child inherited from its parent: kept referenced, so that the child
# never closes them (closing one, even by letting it be collected, would end the parent's
# session with the database).
_INHERITED: list = []


def keep_read_connections(engine: Engine) -> None:
    """Give `engine` a kept read connection for each thread (see KeptReads), unless its pool
    is one connection shared by everyone (an in-memory SQLite database)."""
    if not isinstance(engine.pool, (StaticPool, SingletonThreadPool)):
        setattr(engine, KEPT_READS, KeptReads(engine))


def _answers(dialect, dbapi_connection) -> bool:
    """Whether the connection still answers (SQLAlchemy's own ping for the database)."""
    try:
        dialect.do_ping(dbapi_connection)
    except Exception:
        return False
    return True


def _close_quietly(connection: Connection) -> None:
    with suppress(Exception):  # a dropped connection cannot be closed any better
        connection.close()


@contextmanager
def _autocommit(connection):
    driver = connection.connection.driver_connection
    if connection.dialect.name != "postgresql" or driver.autocommit:
        yield
        return
    driver.autocommit = True
    try:
        yield
    finally:
        if not driver.closed and not connection.invalidated:
            driver.autocommit = False


def _plain_rows_on(connection, reads) -> list[list[tuple]]:
    dialect = connection.dialect
    driver = connection.connection.dbapi_connection
    jobs = []
    for statement, params in reads:
        prepared = _prepared(statement, dialect)
        jobs.append((prepared, _driver_parameters(prepared, params)))
    cursors: list = []
    try:
        if len(jobs) > 1 and dialect.name == "postgresql":
            with driver.pipeline():
                cursors.extend(_execute(connection, driver.cursor(), *job) for job in jobs)
        elif dialect.name == "postgresql":
            # One read, on the connection's kept cursor, prepared at once on the server unless
            # the deployment switched psycopg's prepared statements off (prepare_threshold
            # None, for PgBouncer's transaction mode, say).
            [(prepared, parameters)] = jobs
            cursor = _execute(connection, _reused_cursor(connection, driver), prepared,
                              parameters, prepare=_prepare_at_once(driver))
            return [_converted(cursor.fetchall(), prepared.result_processors)]
        else:
            cursors.extend(_execute(connection, driver.cursor(), *job) for job in jobs)
        return [_converted(cursor.fetchall(), prepared.result_processors)
                for cursor, (prepared, _) in zip(cursors, jobs, strict=True)]
    except dialect.loaded_dbapi.Error as error:
        invalidated = dialect.is_disconnect(error, driver, None)
        if invalidated:
            connection.invalidate(error)
        raise exc.DBAPIError.instance(
            "; ".join(prepared.sql for prepared, _ in jobs), None, error,
            dialect.loaded_dbapi.Error, hide_parameters=True,
            connection_invalidated=invalidated, dialect=dialect,
        ) from error
    finally:
        for cursor in cursors:
            cursor.close()


REUSED_CURSOR = "engage_reused_cursor"


def _reused_cursor(connection, driver):
    """A psycopg cursor kept with its connection for one read at a time: making a cursor and
    closing it again, for a read of one row, cost about as much of a signed-in page as the
    rest of the read's work in Python. It holds its last read's rows until the next one, and
    a new one is made when the connection is a new one (after a reconnect, say)."""
    info = connection.connection.info
    cursor = info.get(REUSED_CURSOR)
    if cursor is None or cursor.closed or cursor.connection is not driver:
        cursor = info[REUSED_CURSOR] = driver.cursor()
    return cursor


def _prepare_at_once(driver) -> bool | None:
    """psycopg's `prepare`: True (prepare on first use) unless prepared statements are switched
    off on the connection, then None (psycopg's own rule, which never prepares)."""
    return True if driver.prepare_threshold is not None else None


def _execute(connection, cursor, prepared: _Prepared, parameters, **options):
    connection.dispatch.before_cursor_execute(connection, cursor, prepared.sql, parameters,
                                              None, False)
    cursor.execute(prepared.sql, parameters, **options)
    return cursor


def attached(session: Session, model, values: dict):
    """The `model` instance for a row read with plain_rows() (`values` by attribute name,
    its primary key among them), in `session` as if the ORM had loaded it: the session's
    own copy if it holds one already (its unsaved changes kept), otherwise a new one.
    Columns left out of `values` are read when first used."""
    if isinstance(session, scoped_session):
        session = session()
    key = identity_key(model, _primary_key(model, values))
    found = session.identity_map.get(key)
    if found is not None:  # as the ORM does, what it had forgotten (expired) is filled in
        for name in instance_state(found).unloaded & values.keys():
            set_committed_value(found, name, values[name])
        return found
    # The steps the ORM's own loading takes for a row (sqlalchemy/orm/loading.py, _instance):
    # the values go straight into the new object's state (no change events), which joins the
    # session's identity map as loaded from the database. Adding it with session.add() walked
    # every attribute for cascades and cost a third of this; tests/core/test_db.py holds the
    # result to what the ORM gives (same object on get, unread columns read when used, links
    # loaded, changes saved).
    instance = inspect(model).class_manager.new_instance()
    state = instance_state(instance)
    state.dict.update(values)
    state.key, state.identity_token, state.session_id = key, key[2], session.hash_key
    session.identity_map._add_unpresent(state, key)
    state._commit_all(state.dict, session.identity_map)
    state._expire_attributes(state.dict, state.unloaded)  # read when first used
    return instance


def attached_row(session: Session, model, columns: tuple, values) -> object | None:
    """attached() for `values` read in the order of `columns` (plain_columns(model), say);
    None when the row's primary key is missing (an outer join that found nothing)."""
    found = dict(zip(_attribute_keys(model, columns), values, strict=True))
    if any(found[key] is None for key in _primary_key_names(model)):
        return None
    return attached(session, model, found)


@cache
def _attribute_keys(model, columns: tuple) -> tuple[str, ...]:
    mapper = inspect(model)
    return tuple(mapper.get_property_by_column(column).key for column in columns)


@cache
def _primary_key_names(model) -> tuple[str, ...]:
    mapper = inspect(model)
    return tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key)


def _primary_key(model, values: dict) -> tuple:
    return tuple(values[key] for key in _primary_key_names(model))
