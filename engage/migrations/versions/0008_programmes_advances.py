"""programmes, advances and booked tickets, declining payment when booking

Revision ID: 0008_programmes_advances
Revises: 0007_change_links_consultations
Create Date: 2026-11-25 23:38:00

"""
from alembic import op
import sqlalchemy as sa

import engage.db


# revision identifiers, used by Alembic.
revision = '0008_programmes_advances'
down_revision = '0007_change_links_consultations'
branch_labels = None
depends_on = None

ADVANCE_WITHIN_TOTAL = ("advance_pence >= 0 AND advance_pence <= involvement_pence + "
                        "expenses_pence")


def upgrade():
    op.create_table('programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', engage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programmes')),
    sa.UniqueConstraint('name', name=op.f('uq_programmes_name'))
    )
    op.create_table('payment_activity_support',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('activity_kind', sa.String(length=20), nullable=False),
    sa.Column('activity_ref_id', sa.Integer(), nullable=False),
    sa.Column('activity_title', sa.String(length=200), nullable=False),
    sa.Column('activity_date', sa.Date(), nullable=False),
    sa.Column('amount_pence', sa.Integer(), nullable=False),
    sa.Column('route', sa.String(length=10), nullable=True),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('ledger_entry_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', engage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', engage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_reason', sa.String(length=120), nullable=True),
    sa.CheckConstraint("kind IN ('advance', 'ticket')", name=op.f('ck_payment_activity_support_kind_known')),
    sa.CheckConstraint('amount_pence > 0', name=op.f('ck_payment_activity_support_amount_positive')),
    sa.ForeignKeyConstraint(['ledger_entry_id'], ['payment_ledger.id'], name=op.f('fk_payment_activity_support_ledger_entry_id_payment_ledger')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_payment_activity_support_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payment_activity_support_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_payment_activity_support_withdrawn_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_activity_support')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_activity_support_idempotency_key'))
    )
    with op.batch_alter_table('payment_activity_support', schema=None) as batch_op:
        batch_op.create_index('ix_payment_activity_support_activity', ['activity_kind', 'activity_ref_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_activity_support_user_id'), ['user_id'], unique=False)

    # Existing rows get the defaults (nobody had declined, no advances).
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declines_payment', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    with op.batch_alter_table('panels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('programme_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_panels_programme_id'), ['programme_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_panels_programme_id_programmes'), 'programmes', ['programme_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('payment_claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('advance_pence', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.create_check_constraint(batch_op.f('ck_payment_claims_advance_within_total'),
                                         ADVANCE_WITHIN_TOTAL)


def downgrade():
    with op.batch_alter_table('payment_claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payment_claims_advance_within_total'), type_='check')
        batch_op.drop_column('advance_pence')

    with op.batch_alter_table('panels', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_panels_programme_id_programmes'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_panels_programme_id'))
        batch_op.drop_column('programme_id')

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('declines_payment')

    with op.batch_alter_table('payment_activity_support', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_activity_support_user_id'))
        batch_op.drop_index('ix_payment_activity_support_activity')

    op.drop_table('payment_activity_support')
    op.drop_table('programmes')
