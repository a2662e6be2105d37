"""anonymous records keep no order of arrival and no per-event audit rows

Revision ID: 0015_anonymous_order
Revises: 0014_field_encryption
Create Date: 2026-12-08 00:00:01

- New tables: sealed_envelopes (anonymous answers waiting for the worker) and
  anonymous_activity_counts (a daily count instead of an audit row per anonymous action).
- feedback_items.settled (written again once its day is over). On SQLite, feedback_items.id
  becomes INTEGER PRIMARY KEY, so the random id is the rowid; anonymous_responses,
  anonymous_answers and equality_snapshots become WITHOUT ROWID tables, ordered by their random
  ids.
- impact_feedback_links.id: random, no sequence (existing links get random ids).
- Existing audit rows for anonymous actions (consultation.answered_anonymously,
  feedback.withdrawn_by_giver, feedback.replies_deleted_by_giver) are turned into daily
  counts and deleted: their times, beside named sign-ins, could say who answered. The audit
  log's append-only guard is lifted for that one statement and put back.
- The page tokens stored with anonymous responses are cleared (new ones are keyed hashes).
- Every existing anonymous row is written again in a random order, so what was stored in the
  order it arrived no longer is (on PostgreSQL the old row versions stay in the files until
  VACUUM: docs/operations.md says to run VACUUM FULL on these tables after upgrading).

Downgrading drops the new tables and column and gives SQLite its rowid tables back; the deleted
audit rows and cleared tokens are not restored (they are what the upgrade removes on purpose).
"""
import secrets
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import engage.db
from engage.core.models import AUDIT_GUARD_POSTGRES, AUDIT_GUARD_SQLITE

# revision identifiers, used by Alembic.
revision = '0015_anonymous_order'
down_revision = '0014_field_encryption'
branch_labels = None
depends_on = None

ANONYMOUS_ACTIONS = ('consultation.answered_anonymously', 'feedback.withdrawn_by_giver',
                     'feedback.replies_deleted_by_giver')
LONDON = ZoneInfo('Europe/London')
_random = secrets.SystemRandom()


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _table(name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=op.get_bind())


def _rewrite_shuffled(*names: str) -> None:
    """Delete every row of the tables (children first) and insert them again in random order
    (parents first), in this transaction."""
    bind = op.get_bind()
    tables = [_table(name) for name in names]
    rows = {t.name: [dict(r._mapping) for r in bind.execute(sa.select(t))] for t in tables}
    for table in reversed(tables):
        bind.execute(table.delete())
    for table in tables:
        batch = rows[table.name]
        _random.shuffle(batch)
        for row in batch:
            bind.execute(table.insert().values(**row))


def _audit_guard(on: bool) -> None:
    bind = op.get_bind()
    if _sqlite():
        if on:
            for statement in AUDIT_GUARD_SQLITE:
                op.execute(statement)
        else:
            op.execute('DROP TRIGGER IF EXISTS audit_events_no_update')
            op.execute('DROP TRIGGER IF EXISTS audit_events_no_delete')
    elif bind.dialect.name == 'postgresql':
        if on:
            for statement in AUDIT_GUARD_POSTGRES:
                op.execute(statement)
        else:
            op.execute('DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events')


def _london_day(moment):
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LONDON).date()


def _audit_rows_to_counts() -> None:
    bind = op.get_bind()
    audit = _table('audit_events')
    counts = _table('anonymous_activity_counts')
    found = bind.execute(sa.select(audit.c.action, audit.c.occurred_at)
                         .where(audit.c.action.in_(ANONYMOUS_ACTIONS))).all()
    if not found:
        return
    per_day = Counter((_london_day(occurred), action) for action, occurred in found)
    for (day, action), number in per_day.items():
        bind.execute(counts.insert().values(day=day, action=action, count=number))
    _audit_guard(on=False)
    bind.execute(audit.delete().where(audit.c.action.in_(ANONYMOUS_ACTIONS)))
    _audit_guard(on=True)


def _random_link_ids() -> None:
    bind = op.get_bind()
    links = _table('impact_feedback_links')
    taken: set[int] = set()
    for (old,) in bind.execute(sa.select(links.c.id)).all():
        new = secrets.randbelow(2**31 - 1) + 1
        while new in taken:
            new = secrets.randbelow(2**31 - 1) + 1
        taken.add(new)
        # Negative first, so a new id never meets an old one still waiting to be moved.
        bind.execute(links.update().where(links.c.id == old).values(id=-new))
    bind.execute(links.update().values(id=-links.c.id))
    if not _sqlite():
        op.execute('ALTER TABLE impact_feedback_links ALTER COLUMN id DROP DEFAULT')
        op.execute('DROP SEQUENCE IF EXISTS impact_feedback_links_id_seq')


def _shuffle_feedback_items() -> None:
    """PostgreSQL: each item updated in random order (new row versions, one transaction);
    SQLite (foreign keys are off while migrating): deleted and inserted again."""
    if _sqlite():
        _rewrite_shuffled('feedback_items')
        return
    bind = op.get_bind()
    items = _table('feedback_items')
    ids = [row.id for row in bind.execute(sa.select(items.c.id))]
    _random.shuffle(ids)
    for item_id in ids:
        bind.execute(items.update().where(items.c.id == item_id)
                     .values(received_on=items.c.received_on))


def upgrade():
    op.create_table('anonymous_activity_counts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'action', name=op.f('pk_anonymous_activity_counts'))
    )
    op.create_table('sealed_envelopes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
              nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('lookup', sa.String(length=64), nullable=True),
    sa.Column('payload', engage.db.EncryptedText(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sealed_envelopes')),
    sa.UniqueConstraint('lookup', name=op.f('uq_sealed_envelopes_lookup'))
    )
    with op.batch_alter_table('sealed_envelopes', schema=None) as batch_op:
        batch_op.create_index('ix_sealed_envelopes_kind_scope', ['kind', 'scope'], unique=False)

    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settled', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        if _sqlite():
            batch_op.alter_column('id', existing_type=sa.BigInteger(), type_=sa.Integer(),
                                  existing_nullable=False, autoincrement=False)
    if _sqlite():
        for name in ('anonymous_responses', 'anonymous_answers', 'equality_snapshots'):
            with op.batch_alter_table(name, recreate='always',
                                      table_kwargs={'sqlite_with_rowid': False}):
                pass

    _audit_rows_to_counts()
    _random_link_ids()
    anonymous = _table('anonymous_responses')
    op.get_bind().execute(anonymous.update().values(form_token=None))
    _rewrite_shuffled('anonymous_responses', 'anonymous_answers')
    _rewrite_shuffled('equality_snapshots')
    _shuffle_feedback_items()


def downgrade():
    if _sqlite():
        for name in ('anonymous_responses', 'anonymous_answers', 'equality_snapshots'):
            with op.batch_alter_table(name, recreate='always'):
                pass
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        if _sqlite():
            batch_op.alter_column('id', existing_type=sa.Integer(), type_=sa.BigInteger(),
                                  existing_nullable=False, autoincrement=False)
        batch_op.drop_column('settled')
    if not _sqlite():
        op.execute('CREATE SEQUENCE IF NOT EXISTS impact_feedback_links_id_seq '
                   'OWNED BY impact_feedback_links.id')
        op.execute("SELECT setval('impact_feedback_links_id_seq', "
                   "COALESCE((SELECT MAX(id) FROM impact_feedback_links), 0) + 1, false)")
        op.execute("ALTER TABLE impact_feedback_links ALTER COLUMN id "
                   "SET DEFAULT nextval('impact_feedback_links_id_seq')")
    with op.batch_alter_table('sealed_envelopes', schema=None) as batch_op:
        batch_op.drop_index('ix_sealed_envelopes_kind_scope')
    op.drop_table('sealed_envelopes')
    op.drop_table('anonymous_activity_counts')
