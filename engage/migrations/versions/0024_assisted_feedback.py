"""feedback entered by staff on someone's behalf keeps how it was taken

Revision ID: 0024_assisted_feedback
Revises: 0023_claims_policy_rules
Create Date: 2026-12-06 04:25:00

- `feedback_items.entry_method` (phone, paper, interview, other; null when the person sent
  the feedback themselves). Existing items were all sent by the people themselves, so they
  stay null. Nothing about the member of staff is stored.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0024_assisted_feedback'
down_revision = '0023_claims_policy_rules'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entry_method', sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(
            'entry_method_known',
            "entry_method IS NULL OR entry_method IN ('phone', 'paper', 'interview', 'other')")


def downgrade():
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_feedback_items_entry_method_known'), type_='check')
        batch_op.drop_column('entry_method')
