"""Named feedback is personal data; anonymous feedback is not tied to anyone and is not here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engage.core.personal_data import PersonalDataKind, register
from engage.extensions import db
from engage.feedback.models import FeedbackGiver, FeedbackItem


def _named_feedback(user: Any) -> list[dict[str, Any]]:
    items = db.session.scalars(
        select(FeedbackItem).join(FeedbackGiver, FeedbackGiver.feedback_id == FeedbackItem.id)
        .where(FeedbackGiver.user_id == user.id).order_by(FeedbackItem.received_on))
    return [{"received_on": i.received_on.isoformat(), "feedback": i.body, "topic": i.topic,
             "may_quote": i.may_quote, "status": str(i.status),
             "closed_reason": i.closed_reason,
             "replies": [{"written_on": r.written_on.isoformat(), "reply": r.body}
                         for r in i.replies]} for i in items]


def _erase_named_feedback(user: Any) -> None:
    """Closing an account deletes the feedback the person gave with their name (and so its
    replies and links): it could identify them even without the name."""
    items = db.session.scalars(
        select(FeedbackItem).join(FeedbackGiver, FeedbackGiver.feedback_id == FeedbackItem.id)
        .where(FeedbackGiver.user_id == user.id)).all()
    for item in items:
        db.session.delete(item)
    db.session.flush()


register(PersonalDataKind(
    "feedback_givers", "Feedback you gave with your name",
    "So you can see replies and what changed because of it.",
    "You, and the staff who read and answer feedback.",
    "Until you withdraw it or close your account.", _named_feedback, _erase_named_feedback))
