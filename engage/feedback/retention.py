"""Retention and account closure for feedback (registered at merge by issue 7).

- Anonymous feedback replies: 2 years after the last activity on the code (the day the
  feedback arrived, its status last changed, or the last reply), the replies are deleted and
  the code stops working. The feedback itself stays: it is anonymous, it is counted on the
  dashboard and it may be linked to a "you said, we did" entry. Named feedback is not touched
  (the member sees it under their name until they withdraw it or close their account).
- Closing an account and choosing "keep my contributions without my name": the
  `feedback_givers` row is deleted (the only link to the person) and any quote is withdrawn.
- Anonymous feedback a member added to their impact page by its code: when its code stops
  working, the member's link goes too (the link stands in for the code).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from engage.core import personal_data
from engage.extensions import db
from engage.feedback.models import (
    FeedbackGiver,
    FeedbackItem,
    FeedbackReply,
    ImpactFeedbackLink,
)
from engage.lifecycle.retention import RetentionRule, months_before, register

ANONYMOUS_REPLIES = "feedback_anonymous_replies"


def forget_old_anonymous_replies(now: datetime, months: int) -> int:
    cutoff = months_before(now, months).date()
    last_reply = (select(FeedbackReply.feedback_id, func.max(FeedbackReply.written_on)
                         .label("last")).group_by(FeedbackReply.feedback_id).subquery())
    candidates = db.session.execute(
        select(FeedbackItem.id, FeedbackItem.received_on, FeedbackItem.status_changed_on,
               last_reply.c.last)
        .outerjoin(last_reply, last_reply.c.feedback_id == FeedbackItem.id)
        .where(~select(FeedbackGiver.id).where(FeedbackGiver.feedback_id == FeedbackItem.id)
               .exists(),
               FeedbackItem.received_on < cutoff,
               (FeedbackItem.code_lookup.is_not(None)) | (last_reply.c.last.is_not(None)))
    ).all()
    stale = [item_id for item_id, received, changed, replied in candidates
             if max(d for d in (received, changed, replied) if d is not None) < cutoff]
    if not stale:
        return 0
    db.session.execute(delete(FeedbackReply).where(FeedbackReply.feedback_id.in_(stale))
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(ImpactFeedbackLink)
                       .where(ImpactFeedbackLink.feedback_id.in_(stale))
                       .execution_options(synchronize_session=False))
    db.session.execute(update(FeedbackItem).where(FeedbackItem.id.in_(stale))
                       .values(code_lookup=None).execution_options(synchronize_session=False))
    db.session.expire_all()
    return len(stale)


register(RetentionRule(
    ANONYMOUS_REPLIES, "Replies to anonymous feedback (the code stops working)", 24,
    "after the last activity on the code", forget_old_anonymous_replies))


def keep_named_feedback_without_name(user: Any) -> None:
    """Delete the link to the person; keep the feedback, withdraw any quote."""
    ids = select(FeedbackGiver.feedback_id).where(FeedbackGiver.user_id == user.id)
    db.session.execute(update(FeedbackItem).where(FeedbackItem.id.in_(ids))
                       .values(may_quote=False, quote=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(FeedbackGiver).where(FeedbackGiver.user_id == user.id)
                       .execution_options(synchronize_session=False))
    db.session.expire_all()


_kind = personal_data.REGISTRY.get("feedback_givers")
if _kind is not None and _kind.anonymise is None:
    personal_data.register(dataclasses.replace(
        _kind, anonymise=keep_named_feedback_without_name,
        anonymise_note="Your feedback is kept without your name: the link to you is deleted, "
                       "you can no longer see it in your account, and it will not be quoted."))

_links = personal_data.REGISTRY.get("impact_feedback_links")
if _links is not None and _links.retention_key is None:
    personal_data.register(dataclasses.replace(_links, retention_key=ANONYMOUS_REPLIES))
