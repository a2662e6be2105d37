"""'you said, we did' entries link to consultations and consultation answers

Revision ID: 0007_change_links_consultations
Revises: 0006_equality_lifecycle
Create Date: 2026-11-25 22:05:00

"""
from alembic import op
import sqlalchemy as sa

import engage.db  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0007_change_links_consultations'
down_revision = '0006_equality_lifecycle'
branch_labels = None
depends_on = None

OLD_KIND_KNOWN = "kind IN ('feedback')"
OLD_ONE_TARGET = "(kind = 'feedback') = (feedback_id IS NOT NULL)"
NEW_KIND_KNOWN = "kind IN ('feedback', 'consultation', 'consultation_answer')"
NEW_ONE_TARGET = (
    "(kind = 'feedback' AND feedback_id IS NOT NULL AND consultation_id IS NULL"
    " AND answer_id IS NULL AND anonymous_answer_id IS NULL)"
    " OR (kind = 'consultation' AND consultation_id IS NOT NULL AND feedback_id IS NULL"
    " AND answer_id IS NULL AND anonymous_answer_id IS NULL)"
    " OR (kind = 'consultation_answer' AND feedback_id IS NULL AND consultation_id IS NULL"
    " AND ((answer_id IS NOT NULL AND anonymous_answer_id IS NULL)"
    " OR (answer_id IS NULL AND anonymous_answer_id IS NOT NULL)))"
)


# anonymous_answer_id has no database foreign key on purpose: no table may point at
# anonymous answers (the consultations anonymity rule); see ChangeLink in engage/changes/models.py.


def upgrade():
    with op.batch_alter_table('change_entry_links', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_change_entry_links_kind_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_change_entry_links_one_target'), type_='check')
        batch_op.add_column(sa.Column('consultation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answer_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('anonymous_answer_id', sa.String(length=32),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_change_entry_links_consultation_id'),
                              ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_entry_links_answer_id'), ['answer_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_change_entry_links_anonymous_answer_id'),
                              ['anonymous_answer_id'], unique=False)
        batch_op.create_unique_constraint('uq_change_entry_links_consultation',
                                          ['entry_id', 'consultation_id'])
        batch_op.create_unique_constraint('uq_change_entry_links_answer',
                                          ['entry_id', 'answer_id'])
        batch_op.create_unique_constraint('uq_change_entry_links_anonymous_answer',
                                          ['entry_id', 'anonymous_answer_id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_change_entry_links_consultation_id_consultations'),
            'consultations', ['consultation_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(
            batch_op.f('fk_change_entry_links_answer_id_response_answers'),
            'response_answers', ['answer_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint('kind_known', NEW_KIND_KNOWN)
        batch_op.create_check_constraint('one_target', NEW_ONE_TARGET)


def downgrade():
    # Links to consultations cannot be kept in the old shape: they are removed.
    op.execute("DELETE FROM change_entry_links WHERE kind <> 'feedback'")
    with op.batch_alter_table('change_entry_links', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_change_entry_links_one_target'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_change_entry_links_kind_known'), type_='check')
        batch_op.drop_constraint(
            batch_op.f('fk_change_entry_links_answer_id_response_answers'), type_='foreignkey')
        batch_op.drop_constraint(
            batch_op.f('fk_change_entry_links_consultation_id_consultations'),
            type_='foreignkey')
        batch_op.drop_constraint('uq_change_entry_links_anonymous_answer', type_='unique')
        batch_op.drop_constraint('uq_change_entry_links_answer', type_='unique')
        batch_op.drop_constraint('uq_change_entry_links_consultation', type_='unique')
        batch_op.drop_index(batch_op.f('ix_change_entry_links_anonymous_answer_id'))
        batch_op.drop_index(batch_op.f('ix_change_entry_links_answer_id'))
        batch_op.drop_index(batch_op.f('ix_change_entry_links_consultation_id'))
        batch_op.drop_column('anonymous_answer_id')
        batch_op.drop_column('answer_id')
        batch_op.drop_column('consultation_id')
        batch_op.create_check_constraint('kind_known', OLD_KIND_KNOWN)
        batch_op.create_check_constraint('one_target', OLD_ONE_TARGET)
