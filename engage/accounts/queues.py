"""The work waiting for a member of staff, shown in the staff navigation with a count each.

Accounts owns the list; each domain that owns a queue contributes it through the
`STAFF_QUEUES` hook in its own `init_app` (feedback: to triage and safeguarding; changes:
entries waiting for this person's approval; payments: claims waiting for this person's step).
A contribution is a function of the signed-in person returning the queues they may open
(the same permission checks as the queue's page), each with one COUNT query.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g

from engage.core.wiring import Hook

STAFF_QUEUES = Hook("staff_queues")


@dataclass(frozen=True)
class StaffQueue:
    label: str  # what the link says, already translated ("Feedback to triage")
    url: str
    count: int
    spoken: str  # the count in words for screen readers, with ngettext ("3 new items")


def staff_queues(user) -> list[StaffQueue]:
    """This person's queues, in the order the domains registered them; worked out at most once
    a request, and only for staff (members and visitors cost nothing)."""
    if user is None or not user.is_staff:
        return []
    if "engage_staff_queues" not in g:
        found: list[StaffQueue] = []
        for queues in STAFF_QUEUES.results(user):
            found.extend(queues)
        g.engage_staff_queues = found
    return g.engage_staff_queues
