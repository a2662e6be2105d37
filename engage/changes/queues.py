"""Changes' queue in the staff navigation: entries waiting for this person's approval
(engage/accounts/queues.py)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from engage.accounts.queues import PERSON_ID, QueueCount
from engage.changes import services
from engage.core.permissions import Permission, can


def staff_queues(user: Any) -> list[QueueCount]:
    """Entries (or new versions) someone else wrote or submitted, waiting for this person to
    approve; only for those who may open the "You said, we did" staff list and approve."""
    if not can(user, Permission.APPROVE_CHANGES):
        return []
    return [QueueCount(_("Entries to approve"), url_for("changes.staff_list"),
                       services.awaiting_approval_count_query(PERSON_ID),
                       lambda count: ngettext("%(num)d entry waiting for you",
                                              "%(num)d entries waiting for you", count))]
