"""the dashboard's figures, kept for a few minutes

Revision ID: 0013_dashboard_snapshots
Revises: 0012_public_page_cache
Create Date: 2026-12-05 00:00:00

A new table only; it starts empty (the figures are worked out on the next visit or by the
worker).
"""
import sqlalchemy as sa
from alembic import op

import engage.db


# revision identifiers, used by Alembic.
revision = '0013_dashboard_snapshots'
down_revision = '0012_public_page_cache'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'dashboard_snapshots',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('computed_at', engage.db.UTCDateTime(), nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_dashboard_snapshots')),
    )


def downgrade():
    op.drop_table('dashboard_snapshots')
