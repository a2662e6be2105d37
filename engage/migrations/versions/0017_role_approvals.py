"""powerful roles granted by two admins

Revision ID: 0017_role_approvals
Revises: 0016_user_sessions
Create Date: 2026-12-08 00:00:03

New: role_grant_requests (admin, finance officer and programme lead wait for a second admin),
and staff_invitations.approved (existing invitations stay approved). Downgrading drops them.
"""
import sqlalchemy as sa
from alembic import op

import engage.db

# revision identifiers, used by Alembic.
revision = '0017_role_approvals'
down_revision = '0016_user_sessions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approved', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))

    op.create_table('role_grant_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', engage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', engage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=True),
    sa.CheckConstraint('(user_id IS NULL) <> (invitation_id IS NULL)', name=op.f('ck_role_grant_requests_one_target')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('approved', 'declined', 'cancelled')", name=op.f('ck_role_grant_requests_outcome_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_role_grant_requests_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invitation_id'], ['staff_invitations.id'], name=op.f('fk_role_grant_requests_invitation_id_staff_invitations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_role_grant_requests_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_role_grant_requests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grant_requests'))
    )
    with op.batch_alter_table('role_grant_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grant_requests_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_role_grant_requests_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_role_grant_requests_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('role_grant_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_grant_requests_user_id'))
        batch_op.drop_index(batch_op.f('ix_role_grant_requests_outcome'))
        batch_op.drop_index(batch_op.f('ix_role_grant_requests_invitation_id'))
    op.drop_table('role_grant_requests')
    with op.batch_alter_table('staff_invitations', schema=None) as batch_op:
        batch_op.drop_column('approved')
