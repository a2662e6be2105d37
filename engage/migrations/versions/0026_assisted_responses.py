"""consultation responses entered by staff on someone's behalf keep how they were taken

Revision ID: 0026_assisted_responses
Revises: 0025_question_routes
Create Date: 2026-12-06 06:30:00

- `consultation_responses.entry_method` and `anonymous_responses.entry_method` (phone, paper,
  interview, other; null when the person answered themselves). Existing responses were all
  sent by the people themselves, so they stay null. Nothing about the member of staff is
  stored on either table.
- On SQLite `anonymous_responses` stays a WITHOUT ROWID table (ordered by its random ids) when
  batch mode rebuilds it.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0026_assisted_responses'
down_revision = '0025_question_routes'
branch_labels = None
depends_on = None

CHECK = "entry_method IS NULL OR entry_method IN ('phone', 'paper', 'interview', 'other')"


def _kwargs(table: str) -> dict:
    if table == 'anonymous_responses' and op.get_bind().dialect.name == 'sqlite':
        return {'recreate': 'always', 'table_kwargs': {'sqlite_with_rowid': False}}
    return {}


def upgrade():
    for table in ('consultation_responses', 'anonymous_responses'):
        with op.batch_alter_table(table, schema=None, **_kwargs(table)) as batch_op:
            batch_op.add_column(sa.Column('entry_method', sa.String(length=16), nullable=True))
            batch_op.create_check_constraint('entry_method_known', CHECK)


def downgrade():
    for table in ('anonymous_responses', 'consultation_responses'):
        with op.batch_alter_table(table, schema=None, **_kwargs(table)) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'ck_{table}_entry_method_known'), type_='check')
            batch_op.drop_column('entry_method')
