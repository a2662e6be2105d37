"""anonymous feedback a member adds to their impact page; unnamed panel membership history

Revision ID: 0009_impact_feedback_links
Revises: 0008_programmes_advances
Create Date: 2026-11-25 23:38:33

"""
from alembic import op
import sqlalchemy as sa

import engage.db  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0009_impact_feedback_links'
down_revision = '0008_programmes_advances'
branch_labels = None
depends_on = None


def upgrade():
    # No time column on purpose: see ImpactFeedbackLink in engage/feedback/models.py.
    op.create_table('impact_feedback_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('feedback_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback_items.id'], name=op.f('fk_impact_feedback_links_feedback_id_feedback_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_impact_feedback_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_impact_feedback_links')),
    sa.UniqueConstraint('user_id', 'feedback_id', name=op.f('uq_impact_feedback_links_user_id'))
    )
    with op.batch_alter_table('impact_feedback_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_impact_feedback_links_feedback_id'), ['feedback_id'], unique=False)

    # Empty only for the unnamed history of a closed account (see PanelMembership).
    with op.batch_alter_table('panel_memberships', schema=None) as batch_op:
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=True)


def downgrade():
    # The old shape cannot hold unnamed membership history: it is removed.
    op.execute("DELETE FROM panel_memberships WHERE user_id IS NULL")
    with op.batch_alter_table('panel_memberships', schema=None) as batch_op:
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=False)

    with op.batch_alter_table('impact_feedback_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_impact_feedback_links_feedback_id'))

    op.drop_table('impact_feedback_links')
