"""The tables meant to carry no link to a person, and the daily clean-up of their old rows.

Each domain lists its anonymous tables here (`register_anonymous_tables`), so the worker's
clean-up, the anonymity tests and the operations guide all name the same ones.

Writing rows again in a random order (engage/core/inbox.py, feedback's mix job) changes what
the live rows say, but a database keeps the old row versions for a while: PostgreSQL until
VACUUM removes them, SQLite in pages that keep the byte order rows were first written in. Once
a day the worker therefore runs VACUUM: on PostgreSQL on these tables (dead row versions go,
without locking anyone out), on SQLite on the whole file (it is rebuilt in key order, which for
these tables is the order of their random ids). See docs/operations.md for what remains.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError

from engage.extensions import db

log = logging.getLogger(__name__)

ANONYMOUS_TABLES: list[str] = []


def register_anonymous_tables(*names: str) -> None:
    for name in names:
        if name not in ANONYMOUS_TABLES:
            ANONYMOUS_TABLES.append(name)


register_anonymous_tables("sealed_envelopes", "anonymous_activity_counts")


def vacuum_anonymous_tables() -> bool:
    """VACUUM as described above. Returns False when there was nothing to do or the database
    was busy (the next day's run tries again)."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        if engine.url.database in (None, "", ":memory:"):
            return False
        statement = "VACUUM"
    elif engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{name}"' for name in ANONYMOUS_TABLES)
        statement = f"VACUUM {tables}"
    else:
        return False
    db.session.close()  # VACUUM cannot run inside a transaction, nor beside an open one
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(statement)
    except OperationalError:
        log.warning("VACUUM of the anonymous tables did not run: the database was busy")
        return False
    return True
