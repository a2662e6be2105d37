"""consultation questions: dropdown, date, ranking and matrix (with its ratings as columns)

Revision ID: 0021_question_types
Revises: 0020_multi_day_events
Create Date: 2026-12-06 00:00:02

Existing questions keep their kind and have no matrix ratings. Going back, dropdowns become
single-choice questions (their answers have the same shape); dates, rankings and matrices cannot
be kept in the old shape and are removed with their answers.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0021_question_types'
down_revision = '0020_multi_day_events'
branch_labels = None
depends_on = None

OLD_KIND_KNOWN = "kind IN ('free_text', 'single_choice', 'multiple_choice', 'scale')"
NEW_KIND_KNOWN = ("kind IN ('free_text', 'single_choice', 'multiple_choice', 'scale', "
                  "'dropdown', 'date', 'ranking', 'matrix')")


def upgrade():
    with op.batch_alter_table('consultation_questions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_consultation_questions_kind_known'),
                                 type_='check')
        batch_op.add_column(sa.Column('columns', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.create_check_constraint('kind_known', NEW_KIND_KNOWN)


def downgrade():
    op.execute("UPDATE consultation_questions SET kind = 'single_choice' "
               "WHERE kind = 'dropdown'")
    for table in ('response_answers', 'anonymous_answers'):
        op.execute(f"DELETE FROM {table} WHERE question_id IN (SELECT id FROM "  # nosec B608 - fixed table names
                   "consultation_questions WHERE kind IN ('date', 'ranking', 'matrix'))")
    op.execute("DELETE FROM consultation_questions WHERE kind IN ('date', 'ranking', 'matrix')")
    with op.batch_alter_table('consultation_questions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_consultation_questions_kind_known'),
                                 type_='check')
        batch_op.drop_column('columns')
        batch_op.create_check_constraint('kind_known', OLD_KIND_KNOWN)
