"""'you said, we did' governance: versions of published entries, sending back, withdrawal

Revision ID: 0022_change_governance
Revises: 0021_question_types
Create Date: 2026-12-05 21:00:00

Each published entry gets its version 1 (a copy of what is public now), so editing it later
starts version 2 and the history keeps what was there before. Downgrading removes versions
(a version in preparation is lost) and puts withdrawn entries back to published: withdrawal
has no other place to live in the older shape.
"""
import sqlalchemy as sa
from alembic import op

import engage.db

# revision identifiers, used by Alembic.
revision = '0022_change_governance'
down_revision = '0021_question_types'
branch_labels = None
depends_on = None

OLD_PUBLICATION = "publication IN ('draft', 'awaiting_approval', 'published')"
NEW_PUBLICATION = "publication IN ('draft', 'awaiting_approval', 'published', 'withdrawn')"
PENDING = "publication IN ('draft', 'awaiting_approval')"
CONTENT = ("said", "done", "organisation", "theme_id", "status", "not_possible_reason",
           "target_on", "completed_on")


def _user_fk(batch_op, column: str) -> None:
    batch_op.create_foreign_key(batch_op.f(f'fk_change_entries_{column}_users'), 'users',
                                [column], ['id'], ondelete='SET NULL')


def upgrade():
    with op.batch_alter_table('change_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_change_entries_publication_known'),
                                 type_='check')
        batch_op.add_column(sa.Column('submitted_at', engage.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('public_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sent_back_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('sent_back_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sent_back_at', engage.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', engage.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_change_entries_sent_back_by_id'),
                              ['sent_back_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_entries_withdrawn_by_id'),
                              ['withdrawn_by_id'], unique=False)
        _user_fk(batch_op, 'sent_back_by_id')
        _user_fk(batch_op, 'withdrawn_by_id')
        batch_op.create_check_constraint('publication_known', NEW_PUBLICATION)
        batch_op.create_check_constraint(
            'reason_when_withdrawn', "publication <> 'withdrawn' OR withdrawn_reason IS NOT NULL")

    op.create_table(
        'change_entry_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('publication', sa.String(length=20), nullable=False),
        sa.Column('said', sa.Text(), nullable=False),
        sa.Column('done', sa.Text(), nullable=False),
        sa.Column('organisation', sa.String(length=120), nullable=False),
        sa.Column('theme_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('not_possible_reason', sa.Text(), nullable=True),
        sa.Column('target_on', sa.Date(), nullable=True),
        sa.Column('completed_on', sa.Date(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('submitted_by_id', sa.Integer(), nullable=True),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('sent_back_by_id', sa.Integer(), nullable=True),
        sa.Column('sent_back_note', sa.Text(), nullable=True),
        sa.Column('created_at', engage.db.UTCDateTime(), nullable=False),
        sa.Column('submitted_at', engage.db.UTCDateTime(), nullable=True),
        sa.Column('sent_back_at', engage.db.UTCDateTime(), nullable=True),
        sa.Column('published_at', engage.db.UTCDateTime(), nullable=True),
        sa.Column('superseded_at', engage.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('considering', 'planned', 'in_progress', 'done', "
                           "'not_possible')", name=op.f('ck_change_entry_versions_status_known')),
        sa.CheckConstraint("publication IN ('draft', 'awaiting_approval', 'published', "
                           "'superseded')",
                           name=op.f('ck_change_entry_versions_publication_known')),
        sa.CheckConstraint('approved_by_id IS NULL OR submitted_by_id IS NULL '
                           'OR approved_by_id <> submitted_by_id',
                           name=op.f('ck_change_entry_versions_second_person')),
        sa.CheckConstraint("status <> 'not_possible' OR not_possible_reason IS NOT NULL",
                           name=op.f('ck_change_entry_versions_reason_when_not_possible')),
        sa.ForeignKeyConstraint(['entry_id'], ['change_entries.id'],
                                name=op.f('fk_change_entry_versions_entry_id_change_entries'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['theme_id'], ['feedback_themes.id'],
                                name=op.f('fk_change_entry_versions_theme_id_feedback_themes'),
                                ondelete='SET NULL'),
        *[sa.ForeignKeyConstraint([column], ['users.id'],
                                  name=op.f(f'fk_change_entry_versions_{column}_users'),
                                  ondelete='SET NULL')
          for column in ('created_by_id', 'submitted_by_id', 'approved_by_id',
                         'sent_back_by_id')],
        sa.PrimaryKeyConstraint('id', name=op.f('pk_change_entry_versions')),
        sa.UniqueConstraint('entry_id', 'number', name='uq_change_entry_versions_number'),
    )
    for column in ('entry_id', 'theme_id', 'created_by_id', 'submitted_by_id',
                   'approved_by_id', 'sent_back_by_id'):
        op.create_index(op.f(f'ix_change_entry_versions_{column}'), 'change_entry_versions',
                        [column], unique=False)
    op.create_index('uq_change_entry_versions_one_pending', 'change_entry_versions',
                    ['entry_id'], unique=True, sqlite_where=sa.text(PENDING),
                    postgresql_where=sa.text(PENDING))

    # Version 1 of every published entry: what the public sees now.
    op.execute("UPDATE change_entries SET public_version = 1 WHERE publication = 'published'")
    columns = ", ".join(CONTENT)
    op.execute(
        "INSERT INTO change_entry_versions (entry_id, number, publication, "  # nosec B608 - fixed column names
        f"{columns}, created_by_id, submitted_by_id, approved_by_id, created_at, "
        "submitted_at, published_at) "
        f"SELECT id, 1, 'published', {columns}, created_by_id, submitted_by_id, "
        "approved_by_id, created_at, published_at, published_at "
        "FROM change_entries WHERE publication = 'published'")


def downgrade():
    op.drop_index('uq_change_entry_versions_one_pending', table_name='change_entry_versions')
    for column in ('sent_back_by_id', 'approved_by_id', 'submitted_by_id', 'created_by_id',
                   'theme_id', 'entry_id'):
        op.drop_index(op.f(f'ix_change_entry_versions_{column}'),
                      table_name='change_entry_versions')
    op.drop_table('change_entry_versions')
    op.execute("UPDATE change_entries SET publication = 'published' "
               "WHERE publication = 'withdrawn'")
    with op.batch_alter_table('change_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_change_entries_reason_when_withdrawn'),
                                 type_='check')
        batch_op.drop_constraint(batch_op.f('ck_change_entries_publication_known'),
                                 type_='check')
        batch_op.drop_constraint(batch_op.f('fk_change_entries_withdrawn_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_change_entries_sent_back_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_change_entries_withdrawn_by_id'))
        batch_op.drop_index(batch_op.f('ix_change_entries_sent_back_by_id'))
        batch_op.drop_column('withdrawn_reason')
        batch_op.drop_column('withdrawn_by_id')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('sent_back_at')
        batch_op.drop_column('sent_back_by_id')
        batch_op.drop_column('sent_back_note')
        batch_op.drop_column('public_version')
        batch_op.drop_column('submitted_at')
        batch_op.create_check_constraint('publication_known', OLD_PUBLICATION)
