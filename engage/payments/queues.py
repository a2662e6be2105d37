"""Payments' queues in the staff navigation: claims waiting for this person's step
(engage/accounts/queues.py)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import JSONB

from engage.accounts.queues import PERSON_ID, QueueCount
from engage.core.permissions import Permission, can
from engage.extensions import db
from engage.payments.models import Claim, ClaimState


def _claims_in_words(count: int) -> str:
    return ngettext("%(num)d claim", "%(num)d claims", count)


def _others_claims():
    return select(func.count()).select_from(Claim).where(Claim.user_id.is_distinct_from(PERSON_ID))


@cache
def _to_check(dialect: str):
    """Sent claims listing this person among the claim's leads (a JSON list of ids)."""
    if dialect == "postgresql":
        listed = Claim.lead_ids.cast(JSONB).op("@>")(func.jsonb_build_array(PERSON_ID))
    else:
        leads = func.json_each(Claim.lead_ids).table_valued("value")
        listed = select(leads.c.value).where(leads.c.value == PERSON_ID).exists()
    return _others_claims().where(Claim.state == ClaimState.SUBMITTED, listed)


TO_APPROVE_FOR_PAYMENT = _others_claims().where(
    Claim.state == ClaimState.LEAD_APPROVED, Claim.lead_approved_by_id.is_distinct_from(PERSON_ID))


def staff_queues(user: Any) -> list[QueueCount]:
    """Sent claims this person checks as a lead of the claim's panel (the lead queue), and
    lead-approved claims for finance that this person may approve (not their own, not one they
    approved as the lead). One COUNT each, only for those who may open the queue's page."""
    queues = []
    if can(user, Permission.APPROVE_CLAIMS_AS_LEAD):
        queues.append(QueueCount(_("Claims to check"), url_for("payments.lead_queue"),
                                 _to_check(db.session.get_bind().dialect.name),
                                 _claims_in_words))
    if can(user, Permission.APPROVE_CLAIMS_AS_FINANCE):
        queues.append(QueueCount(
            _("Claims to approve for payment"),
            url_for("payments.finance_queue", state=ClaimState.LEAD_APPROVED.value),
            TO_APPROVE_FOR_PAYMENT, _claims_in_words))
    return queues
