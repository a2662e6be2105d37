"""Encrypted backups of the whole database and every uploaded file, and restoring one.

A backup is one file: a tar archive holding the database (SQLite's online backup, or
PostgreSQL's pg_dump custom format) and every object in the upload storage (receipts, already
encrypted), encrypted in 4 MiB chunks with the field-encryption key (the first key in
FIELD_ENCRYPTION_KEY; any of them decrypts). Without that key a backup cannot be read, and
neither can the encrypted fields inside it: keep the key somewhere safe apart from the backups.

PostgreSQL's tools get the password in their environment, never on the command line, where
other users of the machine could see it. Restoring replaces the database and makes the upload
storage hold exactly the backup's files (files added since are removed).
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
from pathlib import Path

from flask import current_app
from sqlalchemy.engine import URL

from engage.core.crypto import FieldKeyError
from engage.core.storage import storage
from engage.extensions import db

MAGIC = b"ENGAGE-BACKUP-2\n"
CHUNK = 4 * 1024 * 1024
SQLITE_NAME = "database.sqlite3"
POSTGRES_NAME = "database.pgdump"
UPLOADS = "uploads"


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


def _cipher():
    return current_app.extensions["engage_field_cipher"]


def _dump_database(folder: Path) -> Path:
    if _is_sqlite():
        target = folder / SQLITE_NAME
        destination = sqlite3.connect(target)
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.backup(destination)
        finally:
            raw.close()
            destination.close()
        return target
    target = folder / POSTGRES_NAME
    url, env = _postgres_target()
    result = subprocess.run(  # noqa: S603 - fixed arguments, the URL from configuration
        [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}",
         f"--dbname={url}"], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError("pg_dump could not make the backup: " + result.stderr.strip()[-500:])
    return target


def _encrypt_file(source: Path, target: Path) -> None:
    cipher = _cipher()
    with source.open("rb") as plain, target.open("wb") as sealed:
        sealed.write(MAGIC)
        while chunk := plain.read(CHUNK):
            token = cipher.encrypt_bytes(chunk)
            sealed.write(struct.pack(">I", len(token)) + token)


def _decrypt_file(source: Path, target: Path) -> None:
    cipher = _cipher()
    with source.open("rb") as sealed, target.open("wb") as plain:
        if sealed.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{source} is not an Engage backup (made by `engage backup`).")
        while header := sealed.read(4):
            (length,) = struct.unpack(">I", header)
            token = sealed.read(length)
            if len(token) != length:
                raise BackupError(f"{source} is cut short: copy the whole file and try again.")
            try:
                plain.write(cipher.decrypt_bytes(token))
            except FieldKeyError as error:
                raise BackupError(
                    f"{source} cannot be decrypted with FIELD_ENCRYPTION_KEY. Set the key the "
                    "backup was made with (a list of keys may hold it as an older key).") \
                    from error


def backup(path: str | Path) -> Path:
    """Write an encrypted backup of the database and the uploaded files to `path` (replaced if
    it exists)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="engage-backup-") as work:
        folder = Path(work)
        database = _dump_database(folder)
        archive = folder / "backup.tar"
        files = storage()
        with tarfile.open(archive, "w") as tar:
            tar.add(database, arcname=database.name)
            for key in files.list_keys():
                body = files.get(key)
                member = tarfile.TarInfo(f"{UPLOADS}/{key}")
                member.size = len(body)
                member.mode = 0o600
                tar.addfile(member, io.BytesIO(body))
        _encrypt_file(archive, partial)
    os.replace(partial, target)
    return target


def restore(path: str | Path) -> dict[str, int]:
    """Replace the database and the uploaded files with the backup at `path`."""
    source_path = Path(path)
    if not source_path.is_file():
        raise BackupError(f"There is no backup file at {source_path}.")
    with tempfile.TemporaryDirectory(prefix="engage-restore-") as work:
        folder = Path(work)
        archive = folder / "backup.tar"
        _decrypt_file(source_path, archive)
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(folder / "contents", filter="data")
        except tarfile.TarError as error:
            raise BackupError(f"{source_path} is damaged: {error}") from error
        contents = folder / "contents"
        _restore_database(contents)
        return {"files": _restore_uploads(contents / UPLOADS)}


def _restore_database(contents: Path) -> None:
    db.session.remove()
    if _is_sqlite():
        dump = contents / SQLITE_NAME
        if not dump.is_file():
            raise BackupError("This backup is of a PostgreSQL database; restore it into "
                              "PostgreSQL (set DATABASE_URL).")
        source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
        try:
            raw = db.engine.raw_connection()
            try:
                source.backup(raw.driver_connection)
            finally:
                raw.close()
        finally:
            source.close()
    else:
        dump = contents / POSTGRES_NAME
        if not dump.is_file():
            raise BackupError("This backup is of an SQLite database; restore it with an SQLite "
                              "DATABASE_URL.")
        url, env = _postgres_target()
        result = subprocess.run(  # noqa: S603 - fixed arguments, the URL from configuration
            [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
             "--single-transaction", f"--dbname={url}", str(dump)],
            env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError("pg_restore could not restore the backup: "
                              + result.stderr.strip()[-500:])
    db.engine.dispose()


def _restore_uploads(folder: Path) -> int:
    files = storage()
    wanted = set()
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                key = path.relative_to(folder).as_posix()
                files.put(key, path.read_bytes())
                wanted.add(key)
    for key in list(files.list_keys()):
        if key not in wanted:
            files.delete(key)
    return len(wanted)
