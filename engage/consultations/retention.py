"""Retention for consultations: drafts that were never sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from engage.consultations.models import Consultation, Response, ResponseStatus
from engage.core.clock import months_before
from engage.core.personal_data import RetentionRule
from engage.extensions import db

UNSENT_DRAFTS = "consultation_unsent_drafts"


def remove_unsent_drafts(now: datetime, months: int) -> int:
    cutoff = months_before(now, months)
    closed_long_ago = select(Consultation.id).where(Consultation.closes_at < cutoff)
    result = db.session.execute(
        delete(Response)
        .where(Response.status == ResponseStatus.DRAFT,
               Response.consultation_id.in_(closed_long_ago))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


UNSENT_DRAFTS_RULE = RetentionRule(
    UNSENT_DRAFTS, "Consultation answers saved as a draft and never sent", 3,
    "after the consultation closed", remove_unsent_drafts)
