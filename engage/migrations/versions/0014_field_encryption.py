"""encrypted fields move from Fernet to AES-256-GCM, which stores no time

Revision ID: 0014_field_encryption
Revises: 0013_dashboard_snapshots
Create Date: 2026-12-08 00:00:00

A data migration only: the columns stay text. Every Fernet token (which carries the second it
was made, in clear) is decrypted with FIELD_ENCRYPTION_KEY and encrypted again in the new
format (engage/core/crypto.py). It needs the key the site runs with; without it nothing is
changed and the upgrade stops with instructions. Rows are read and written in chunks of 500,
so a large outbox or answer table does not need much memory.

Downgrading encrypts the values as Fernet tokens again (they then carry the time of the
downgrade, not the original time, which is lost for good).
"""
import os

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from engage.core.crypto import FieldCipher, FieldKeyError

# revision identifiers, used by Alembic.
revision = '0014_field_encryption'
down_revision = '0013_dashboard_snapshots'
branch_labels = None
depends_on = None

# Every encrypted column at this revision: (table, primary key columns, column).
ENCRYPTED_COLUMNS = [
    ('users', ('id',), 'totp_secret'),
    ('outbox_messages', ('id',), 'to_address'),
    ('outbox_messages', ('id',), 'body_text'),
    ('panel_memberships', ('id',), 'why_joining'),
    ('panel_memberships', ('id',), 'access_needs'),
    ('response_answers', ('id',), 'text'),
    ('anonymous_answers', ('id',), 'text'),
    ('feedback_items', ('id',), 'body'),
    ('feedback_replies', ('id',), 'body'),
    ('events', ('id',), 'join_link'),
    ('bookings', ('id',), 'access_needs'),
    ('bookings', ('id',), 'support_needs'),
    ('payment_preferences', ('id',), 'payroll_number'),
    ('payment_claim_events', ('id',), 'reason'),
    ('equality_answers', ('user_id',), 'answers'),
    ('equality_snapshots', ('id',), 'answers'),
    ('equality_tallies', ('context_kind', 'month'), 'counts'),
]
FERNET_PREFIX = 'gAAAAA'  # every Fernet token starts with version byte 0x80
CHUNK = 500

MISSING_KEY = (
    "This upgrade re-encrypts the encrypted fields so that they no longer carry the time they "
    "were written, and for that it needs the key they were encrypted with. Set "
    "FIELD_ENCRYPTION_KEY to the value the site runs with (the same environment as the web "
    "process) and run 'flask --app engage.wsgi db upgrade' again. Nothing has been changed. "
    "If the key is lost, the encrypted fields cannot be read by anyone: restore the key from "
    "where you keep your secrets before upgrading."
)
WRONG_KEY = (
    "A stored field in {table}.{column} could not be decrypted with FIELD_ENCRYPTION_KEY. Set "
    "it to the key the site runs with (all keys, comma-separated, if you rotated one) and run "
    "the upgrade again. Nothing has been changed."
)


def _keys() -> str:
    try:
        from flask import current_app

        keys = current_app.config.get('FIELD_ENCRYPTION_KEY', '')
    except RuntimeError:
        keys = ''
    return keys or os.environ.get('FIELD_ENCRYPTION_KEY', '')


def _fernet(keys: str) -> MultiFernet:
    parts = [k.strip() for k in keys.split(',') if k.strip()]
    try:
        return MultiFernet([Fernet(k.encode()) for k in parts])
    except (ValueError, TypeError) as error:
        raise RuntimeError(
            "The stored fields are Fernet tokens, so FIELD_ENCRYPTION_KEY must be the Fernet "
            "key they were made with (44 characters of base64). " + MISSING_KEY) from error


def _existing_tables(bind) -> set[str]:
    return set(sa.inspect(bind).get_table_names())


def _rows(bind, table, keys, column, *, old_format: bool):
    """Chunks of (primary key values, token) still in the format being replaced."""
    cols = [sa.column(k) for k in keys]
    target = sa.column(column)
    query = sa.select(*cols, target).select_from(sa.table(table, *cols, target))
    if old_format:
        query = query.where(target.like(f'{FERNET_PREFIX}%'))
    else:
        query = query.where(target.is_not(None), ~target.like(f'{FERNET_PREFIX}%'))
    return bind.execute(query.limit(CHUNK)).all()


def _convert(convert_one, *, old_format: bool) -> None:
    bind = op.get_bind()
    tables = _existing_tables(bind)
    for table, keys, column in ENCRYPTED_COLUMNS:
        if table not in tables:
            continue
        cols = [sa.column(k) for k in keys]
        target = sa.column(column)
        stored = sa.table(table, *cols, target)
        while True:
            rows = _rows(bind, table, keys, column, old_format=old_format)
            if not rows:
                break
            for row in rows:
                try:
                    value = convert_one(row[-1])
                except (InvalidToken, FieldKeyError) as error:
                    raise RuntimeError(WRONG_KEY.format(table=table, column=column)) from error
                condition = sa.and_(*(c == v for c, v in zip(cols, row[:-1], strict=True)))
                bind.execute(sa.update(stored).where(condition).values({column: value}))


def _any_old_tokens() -> bool:
    bind = op.get_bind()
    tables = _existing_tables(bind)
    return any(_rows(bind, table, keys, column, old_format=True)
               for table, keys, column in ENCRYPTED_COLUMNS if table in tables)


def upgrade():
    if not _any_old_tokens():
        return
    keys = _keys()
    if not keys:
        raise RuntimeError(MISSING_KEY)
    fernet = _fernet(keys)
    cipher = FieldCipher(keys)
    _convert(lambda token: cipher.encrypt(fernet.decrypt(token.encode('ascii')).decode('utf-8')),
             old_format=True)


def downgrade():
    bind = op.get_bind()
    tables = _existing_tables(bind)
    if not any(_rows(bind, table, keys, column, old_format=False)
               for table, keys, column in ENCRYPTED_COLUMNS if table in tables):
        return
    keys = _keys()
    if not keys:
        raise RuntimeError(MISSING_KEY)
    fernet = _fernet(keys)
    cipher = FieldCipher(keys)
    _convert(lambda token: fernet.encrypt(cipher.decrypt(token).encode('utf-8')).decode('ascii'),
             old_format=False)
