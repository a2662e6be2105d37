"""public page versions and the public log's filter lists

Revision ID: 0012_public_page_cache
Revises: 0011_membership_periods
Create Date: 2026-12-05 00:00:00

page_versions holds one version number per group of cached public pages (the public log
starts at 1). change_public_organisations and change_public_themes list the organisations and
themes that published entries have; they are filled from the entries already published.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_public_page_cache'
down_revision = '0011_membership_periods'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'page_versions',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_page_versions')),
    )
    op.create_table(
        'change_public_organisations',
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('entries', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_change_public_organisations')),
    )
    op.create_table(
        'change_public_themes',
        sa.Column('theme_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('entries', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['theme_id'], ['feedback_themes.id'],
                                name=op.f('fk_change_public_themes_theme_id_feedback_themes'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('theme_id', name=op.f('pk_change_public_themes')),
    )
    op.execute("INSERT INTO page_versions (name, version) VALUES ('public-log', 1)")
    op.execute(
        "INSERT INTO change_public_organisations (name, entries) "
        "SELECT organisation, count(*) FROM change_entries WHERE publication = 'published' "
        "GROUP BY organisation")
    op.execute(
        "INSERT INTO change_public_themes (theme_id, name, entries) "
        "SELECT t.id, t.name, count(*) FROM feedback_themes t "
        "JOIN change_entries e ON e.theme_id = t.id WHERE e.publication = 'published' "
        "GROUP BY t.id, t.name")


def downgrade():
    op.drop_table('change_public_themes')
    op.drop_table('change_public_organisations')
    op.drop_table('page_versions')
