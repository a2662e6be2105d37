"""Factories for feedback and 'you said, we did' entries."""

from __future__ import annotations

from datetime import date, timedelta

from engage.changes import services as change_services
from engage.changes.models import ChangeEntry, ChangeStatus
from engage.core import clock
from engage.core.permissions import Role
from engage.extensions import db
from engage.feedback import services as feedback_services
from engage.feedback.models import FeedbackItem, FeedbackStatus
from tests.factories import make_staff


class Anonymous:
    is_authenticated = False


def give(body: str = "The waiting room felt safe and the staff were kind.", *,
         actor=None, **kwargs) -> feedback_services.GivenFeedback:
    return feedback_services.give_feedback(actor or Anonymous(), body=body, **kwargs)


def make_feedback(*, body: str = "Please make the evening drop-in longer.",
                  received_on: date | None = None, status: FeedbackStatus = FeedbackStatus.NEW,
                  may_quote: bool = False, quote: str | None = None,
                  topic: str | None = None) -> FeedbackItem:
    item = FeedbackItem(received_on=received_on or clock.today_london(), body=body,
                        status=status, may_quote=may_quote, quote=quote, topic=topic)
    db.session.add(item)
    db.session.flush()
    return item


def make_entry(author=None, *, said: str = "The evening drop-in closes too early.",
               done: str = "The drop-in now stays open until 9pm.",
               organisation: str = "City Sexual Assault Referral Centre",
               status: ChangeStatus = ChangeStatus.PLANNED, **fields) -> ChangeEntry:
    author = author or make_staff(Role.PROGRAMME_LEAD)
    return change_services.create_entry(author, said=said, done=done, organisation=organisation,
                                        status=status, **fields)


def publish(entry: ChangeEntry, approver=None) -> ChangeEntry:
    """Submit as the writer, approve as a second programme lead."""
    from engage.accounts.models import User

    writer = db.session.get(User, entry.created_by_id)
    change_services.submit_for_approval(writer, entry)
    change_services.approve_entry(approver or make_staff(Role.PROGRAMME_LEAD), entry)
    return entry


def publish_new_version(entry: ChangeEntry, writer, approver=None, **changes) -> ChangeEntry:
    """Edit a published entry (a new version), submit it as the writer, approve it as a second
    programme lead: the new version replaces the public one."""
    fields = {name: getattr(entry, name) for name in change_services.EDITABLE_FIELDS}
    change_services.update_entry(writer, entry, **{**fields, **changes})
    change_services.submit_for_approval(writer, entry)
    change_services.approve_entry(approver or make_staff(Role.PROGRAMME_LEAD), entry)
    return entry


def days_ago(days: int) -> date:
    return clock.today_london() - timedelta(days=days)
