"""Payments' queues in the staff navigation: claims waiting for this person's step
(engage/accounts/queues.py)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import JSONB

from engage.accounts.queues import StaffQueue
from engage.core.permissions import Permission, can
from engage.extensions import db
from engage.payments.models import Claim, ClaimState


def staff_queues(user: Any) -> list[StaffQueue]:
    """Sent claims this person checks as a lead of the claim's panel (the lead queue), and
    lead-approved claims for finance that this person may approve (not their own, not one they
    approved as the lead). One COUNT each, only for those who may open the queue's page."""
    queues = []
    claims = select(func.count()).select_from(Claim).where(Claim.user_id.is_distinct_from(user.id))
    if can(user, Permission.APPROVE_CLAIMS_AS_LEAD):
        if db.session.get_bind().dialect.name == "postgresql":
            listed = Claim.lead_ids.cast(JSONB).contains([user.id])
        else:
            leads = func.json_each(Claim.lead_ids).table_valued("value")
            listed = select(leads.c.value).where(leads.c.value == user.id).exists()
        count = db.session.scalar(claims.where(Claim.state == ClaimState.SUBMITTED, listed)) or 0
        queues.append(StaffQueue(_("Claims to check"), url_for("payments.lead_queue"), count,
                                 ngettext("%(num)d claim", "%(num)d claims", count)))
    if can(user, Permission.APPROVE_CLAIMS_AS_FINANCE):
        count = db.session.scalar(claims.where(
            Claim.state == ClaimState.LEAD_APPROVED,
            Claim.lead_approved_by_id.is_distinct_from(user.id))) or 0
        queues.append(StaffQueue(
            _("Claims to approve for payment"),
            url_for("payments.finance_queue", state=ClaimState.LEAD_APPROVED.value), count,
            ngettext("%(num)d claim", "%(num)d claims", count)))
    return queues
