"""Retention for panels: applications that were never taken up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func

from engage.core.clock import months_before
from engage.core.personal_data import RetentionRule
from engage.extensions import db
from engage.panels.models import MembershipState, PanelMembership
from engage.panels.services import restore_earlier_periods

UNFINISHED_APPLICATIONS = "panel_applications_unfinished"


def remove_unfinished_applications(now: datetime, months: int) -> int:
    """Applications that were declined or withdrawn, or left waiting, `months` ago or more.
    Memberships that were ever active stay: they are the panel's history."""
    cutoff = months_before(now, months)
    last_activity = func.coalesce(PanelMembership.decided_at, PanelMembership.left_at,
                                  PanelMembership.applied_at)
    stale = [PanelMembership.state.in_([MembershipState.APPLIED, MembershipState.DECLINED,
                                        MembershipState.LEFT]),
             last_activity < cutoff]
    # Someone who had been a member and applied again keeps their earlier time: the stale
    # application is cleared and the row goes back to that membership, which has ended.
    restore_earlier_periods(*stale)
    result = db.session.execute(
        delete(PanelMembership)
        .where(PanelMembership.joined_at.is_(None), *stale)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


UNFINISHED_APPLICATIONS_RULE = RetentionRule(
    UNFINISHED_APPLICATIONS, "Panel applications that did not lead to membership", 6,
    "after the application was last answered, withdrawn or sent", remove_unfinished_applications)
