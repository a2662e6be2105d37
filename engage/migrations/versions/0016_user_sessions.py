"""server-side sessions: signing out ends a session on the server too

Revision ID: 0016_user_sessions
Revises: 0015_anonymous_order
Create Date: 2026-12-08 00:00:02

A new table only: user_sessions (a keyed hash of the token in each session cookie). Everyone is
signed out once by this upgrade, since their cookies have no session row yet. Downgrading drops
it.
"""
import sqlalchemy as sa
from alembic import op

import engage.db

# revision identifiers, used by Alembic.
revision = '0016_user_sessions'
down_revision = '0015_anonymous_order'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('started_at', engage.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_user_sessions_started_at'))
    op.drop_table('user_sessions')
