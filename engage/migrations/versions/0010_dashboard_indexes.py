"""indexes for the programme dashboard's monthly counts

Revision ID: 0010_dashboard_indexes
Revises: 0009_impact_feedback_links
Create Date: 2026-11-25 23:48:42

Each index lets the dashboard count a month range from the index alone (see
bench/dashboard.py): joining and leaving panels (audit events by action and time), sent
consultation responses by time, and members of each panel at each month's end. Plain
CREATE INDEX, not batch mode: no table is copied (audit_events keeps its append-only
triggers).
"""
from alembic import op

import engage.db  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0010_dashboard_indexes'
down_revision = '0009_impact_feedback_links'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_events_action_time', 'audit_events',
                    ['action', 'occurred_at', 'subject_type', 'subject_id'], unique=False)
    op.create_index('ix_consultation_responses_submitted', 'consultation_responses',
                    ['status', 'submitted_at', 'consultation_id'], unique=False)
    op.create_index('ix_panel_memberships_panel_joined', 'panel_memberships',
                    ['panel_id', 'joined_at', 'left_at'], unique=False)


def downgrade():
    op.drop_index('ix_panel_memberships_panel_joined', table_name='panel_memberships')
    op.drop_index('ix_consultation_responses_submitted', table_name='consultation_responses')
    op.drop_index('ix_audit_events_action_time', table_name='audit_events')
