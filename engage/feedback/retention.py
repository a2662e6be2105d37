"""Retention and account closure for feedback (declared with its personal data).

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

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from engage.core.clock import months_before
from engage.core.personal_data import RetentionRule
from engage.extensions import db
from engage.feedback.models import (
    FeedbackGiver,
    FeedbackItem,
    FeedbackReply,
    ImpactFeedbackLink,
)

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


ANONYMOUS_REPLIES_RULE = RetentionRule(
    ANONYMOUS_REPLIES, "Replies to anonymous feedback (the code stops working)", 24,
    "after the last activity on the code", forget_old_anonymous_replies)


def keep_named_feedback_without_name(user: Any) -> None:
    """Delete the link to the person; keep the feedback, withdraw any quote."""
    ids = select(FeedbackGiver.feedback_id).where(FeedbackGiver.user_id == user.id)
    db.session.execute(update(FeedbackItem).where(FeedbackItem.id.in_(ids))
                       .values(may_quote=False, quote=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(FeedbackGiver).where(FeedbackGiver.user_id == user.id)
                       .execution_options(synchronize_session=False))
    db.session.expire_all()

