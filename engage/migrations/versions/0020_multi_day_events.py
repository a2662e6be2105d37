"""events over several days: how they run, attendance and claims per day

Revision ID: 0020_multi_day_events
Revises: 0019_register_walk_ins
Create Date: 2026-12-06 00:00:01

Every existing event is on one day, so `runs_daily` (which only matters over several days) is
true, and existing attendance records, corrections and claims have no per-day minutes.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020_multi_day_events'
down_revision = '0019_register_walk_ins'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('runs_daily', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    with op.batch_alter_table('attendance_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('day_minutes', sa.JSON(), nullable=True))
    with op.batch_alter_table('attendance_corrections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('old_day_minutes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('new_day_minutes', sa.JSON(), nullable=True))
    with op.batch_alter_table('payment_claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('day_minutes', sa.JSON(), nullable=False,
                                      server_default='[]'))


def downgrade():
    with op.batch_alter_table('payment_claims', schema=None) as batch_op:
        batch_op.drop_column('day_minutes')
    with op.batch_alter_table('attendance_corrections', schema=None) as batch_op:
        batch_op.drop_column('new_day_minutes')
        batch_op.drop_column('old_day_minutes')
    with op.batch_alter_table('attendance_records', schema=None) as batch_op:
        batch_op.drop_column('day_minutes')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('runs_daily')
