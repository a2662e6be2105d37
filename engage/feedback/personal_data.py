"""Named feedback is personal data; anonymous feedback is not tied to anyone and is not here,
unless the member chose to add it to their impact page by its code (`impact_feedback_links`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from engage.core.personal_data import PersonalDataKind
from engage.extensions import db
from engage.feedback.models import FeedbackGiver, FeedbackItem, ImpactFeedbackLink
from engage.feedback.retention import ANONYMOUS_REPLIES_RULE, keep_named_feedback_without_name


def _feedback_rows(items) -> list[dict[str, Any]]:
    return [{"received_on": i.received_on.isoformat(), "feedback": i.body, "topic": i.topic,
             "may_quote": i.may_quote, "status": str(i.status),
             "closed_reason": i.closed_reason,
             "replies": [{"written_on": r.written_on.isoformat(), "reply": r.body}
                         for r in i.replies]} for i in items]


def _named_feedback(user: Any) -> list[dict[str, Any]]:
    return _feedback_rows(db.session.scalars(
        select(FeedbackItem).join(FeedbackGiver, FeedbackGiver.feedback_id == FeedbackItem.id)
        .where(FeedbackGiver.user_id == user.id).order_by(FeedbackItem.received_on)))


def _erase_named_feedback(user: Any) -> None:
    """Closing an account deletes the feedback the person gave with their name (and so its
    replies and links): it could identify them even without the name."""
    items = db.session.scalars(
        select(FeedbackItem).join(FeedbackGiver, FeedbackGiver.feedback_id == FeedbackItem.id)
        .where(FeedbackGiver.user_id == user.id)).all()
    for item in items:
        db.session.delete(item)
    db.session.flush()


NAMED_FEEDBACK = PersonalDataKind(
    "feedback_givers", "Feedback you gave with your name",
    "So you can see replies and what changed because of it.",
    "You, and the staff who read and answer feedback.",
    "Until you withdraw it or close your account.", _named_feedback, _erase_named_feedback,
    anonymise=keep_named_feedback_without_name,
    anonymise_note="Your feedback is kept without your name: the link to you is deleted, you "
                   "can no longer see it in your account, and it will not be quoted.")


def _feedback_added_by_code(user: Any) -> list[dict[str, Any]]:
    """What the member can already read with the code, now that they linked it to themselves."""
    return _feedback_rows(db.session.scalars(
        select(FeedbackItem)
        .join(ImpactFeedbackLink, ImpactFeedbackLink.feedback_id == FeedbackItem.id)
        .where(ImpactFeedbackLink.user_id == user.id).order_by(FeedbackItem.received_on)))


def _erase_feedback_links(user: Any) -> None:
    """Only the link goes, whichever choice the member makes: the feedback was anonymous
    before they added it and stays exactly as it was."""
    db.session.execute(delete(ImpactFeedbackLink).where(ImpactFeedbackLink.user_id == user.id)
                       .execution_options(synchronize_session=False))


FEEDBACK_ADDED_BY_CODE = PersonalDataKind(
    "impact_feedback_links", "Anonymous feedback you added to your impact page with its code",
    "You chose to see it on your impact page, with its status and what it is part of.",
    "Only you. Staff never see which feedback you added, or that you added any.",
    "Until you remove it from your impact page, withdraw the feedback, or close your "
    "account, or until its code stops working.", _feedback_added_by_code,
    _erase_feedback_links, retention=ANONYMOUS_REPLIES_RULE,
    on_close="The link to you is deleted. The feedback stays anonymous, as it was before you "
             "added it.")

KINDS = [NAMED_FEEDBACK, FEEDBACK_ADDED_BY_CODE]
