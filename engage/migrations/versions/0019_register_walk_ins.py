"""people added to a register who came without booking

Revision ID: 0019_register_walk_ins
Revises: 0018_payout_lifecycle
Create Date: 2026-12-06 00:00:00

One column: records already on registers came from bookings, so they are not walk-ins.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019_register_walk_ins'
down_revision = '0018_payout_lifecycle'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attendance_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('walked_in', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('attendance_records', schema=None) as batch_op:
        batch_op.drop_column('walked_in')
