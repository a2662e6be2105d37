"""Feedback's queues in the staff navigation: new feedback to triage, and the safeguarding
queue for those who may see it (engage/accounts/queues.py)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from engage.accounts.queues import QueueCount
from engage.core.permissions import Permission, can
from engage.feedback.models import FeedbackItem, FeedbackStatus

NEW_ITEMS = (select(func.count()).select_from(FeedbackItem)
             .where(FeedbackItem.status == FeedbackStatus.NEW))
OPEN_FLAGGED = (select(func.count()).select_from(FeedbackItem)
                .where(FeedbackItem.safeguarding_flagged.is_(True),
                       FeedbackItem.status != FeedbackStatus.CLOSED))


def staff_queues(user: Any) -> list[QueueCount]:
    """New feedback nobody has read yet (the triage queue filtered to "new"), and flagged
    feedback that is not closed (the safeguarding queue): one COUNT each, only for those who
    may open the page."""
    queues = []
    if can(user, Permission.TRIAGE_FEEDBACK):
        queues.append(QueueCount(
            _("Feedback to triage"), url_for("feedback.queue", status=FeedbackStatus.NEW.value),
            NEW_ITEMS,
            lambda count: ngettext("%(num)d new item", "%(num)d new items", count)))
    if can(user, Permission.VIEW_SAFEGUARDING):
        queues.append(QueueCount(
            _("Safeguarding queue"), url_for("feedback.safeguarding_queue"),
            OPEN_FLAGGED,
            lambda count: ngettext("%(num)d open item", "%(num)d open items", count)))
    return queues
