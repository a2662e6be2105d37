"""Backups of the whole database, and restoring one.

SQLite uses its online backup API, which copies a consistent snapshot while the site keeps
running. PostgreSQL uses pg_dump's custom format and pg_restore, with the database URL from the
configuration (the password goes to them in the environment, never on the command line, where
other users of the machine could see it).

Encrypted fields stay encrypted in the backup: FIELD_ENCRYPTION_KEY is not in the database, so
keep it somewhere safe apart from the backups; without it a restored database cannot be read.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from engage.extensions import db


class BackupError(RuntimeError):
    """Something a person running the command can put right; the message says how."""


def _url() -> URL:
    return db.engine.url


def _is_sqlite() -> bool:
    return _url().get_backend_name() == "sqlite"


def _postgres_target() -> tuple[str, dict[str, str]]:
    url = _url()
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} was not found. Install the PostgreSQL client tools "
                          f"(for example `apt-get install postgresql-client`) and try again.")
    return found


def backup(path: str | Path) -> Path:
    """Write a backup of the configured database to `path` (replaced if it exists)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    if _is_sqlite():
        destination = sqlite3.connect(partial)
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.backup(destination)
        finally:
            raw.close()
            destination.close()
    else:
        url, env = _postgres_target()
        result = subprocess.run(  # noqa: S603 - fixed arguments, the URL from configuration
            [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}",
             f"--dbname={url}"], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError("pg_dump could not make the backup: "
                              + result.stderr.strip()[-500:])
    os.replace(partial, target)
    return target


def restore(path: str | Path) -> None:
    """Replace the configured database's contents with the backup at `path`."""
    source_path = Path(path)
    if not source_path.is_file():
        raise BackupError(f"There is no backup file at {source_path}.")
    db.session.remove()
    if _is_sqlite():
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        try:
            try:
                source.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.DatabaseError as error:
                raise BackupError(f"{source_path} is not an SQLite backup.") from error
            raw = db.engine.raw_connection()
            try:
                source.backup(raw.driver_connection)
            finally:
                raw.close()
        finally:
            source.close()
    else:
        url, env = _postgres_target()
        result = subprocess.run(  # noqa: S603 - fixed arguments, the URL from configuration
            [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
             "--single-transaction", f"--dbname={url}", str(source_path)],
            env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError("pg_restore could not restore the backup: "
                              + result.stderr.strip()[-500:])
    db.engine.dispose()
