"""earlier times on a panel, kept when someone who left applies again

Revision ID: 0011_membership_periods
Revises: 0010_dashboard_indexes
Create Date: 2026-12-05 00:00:00

A new table only. Before it, re-applying reused the membership row and its dates started
afresh; rows already re-applied have lost their earlier dates, which cannot be recovered.
Downgrading drops the table (and with it those earlier dates).
"""
import sqlalchemy as sa
from alembic import op

import engage.db


# revision identifiers, used by Alembic.
revision = '0011_membership_periods'
down_revision = '0010_dashboard_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'panel_membership_periods',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('membership_id', sa.Integer(), nullable=False),
        sa.Column('panel_id', sa.Integer(), nullable=False),
        sa.Column('joined_at', engage.db.UTCDateTime(), nullable=False),
        sa.Column('left_at', engage.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint('left_at >= joined_at',
                           name=op.f('ck_panel_membership_periods_left_after_joining')),
        sa.ForeignKeyConstraint(['membership_id'], ['panel_memberships.id'],
                                name=op.f('fk_panel_membership_periods_membership_id_panel_memberships'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['panel_id'], ['panels.id'],
                                name=op.f('fk_panel_membership_periods_panel_id_panels'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_membership_periods')),
    )
    op.create_index(op.f('ix_panel_membership_periods_membership_id'),
                    'panel_membership_periods', ['membership_id'], unique=False)
    op.create_index('ix_panel_membership_periods_panel_joined', 'panel_membership_periods',
                    ['panel_id', 'joined_at', 'left_at'], unique=False)


def downgrade():
    op.drop_index('ix_panel_membership_periods_panel_joined',
                  table_name='panel_membership_periods')
    op.drop_index(op.f('ix_panel_membership_periods_membership_id'),
                  table_name='panel_membership_periods')
    op.drop_table('panel_membership_periods')
