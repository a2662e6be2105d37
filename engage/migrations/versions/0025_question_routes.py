"""consultation questions can route people past sections

Revision ID: 0025_question_routes
Revises: 0024_assisted_feedback
Create Date: 2026-12-06 04:20:00

A single choice or dropdown question may send a person to a later section, or to the end, for
each option: `routes` maps an option key to a section id (or "end"). Existing questions route
nowhere (an empty mapping).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0025_question_routes'
down_revision = '0024_assisted_feedback'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consultation_questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routes', sa.JSON(), nullable=False,
                                      server_default='{}'))


def downgrade():
    with op.batch_alter_table('consultation_questions', schema=None) as batch_op:
        batch_op.drop_column('routes')
