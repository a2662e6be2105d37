"""The work waiting for a member of staff, shown in the staff navigation with a count each.

Accounts owns the list; each domain that owns a queue contributes it through the
`STAFF_QUEUES` hook in its own `init_app` (feedback: to triage and safeguarding; changes:
entries waiting for this person's approval; payments: claims waiting for this person's step).
A contribution is a function of the signed-in person returning the queues they may open
(the same permission checks as the queue's page), each with its COUNT statement; accounts
runs every count of the page in one query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from flask import g
from sqlalchemy import Select, bindparam, select

from engage.core.wiring import Hook
from engage.extensions import db

STAFF_QUEUES = Hook("staff_queues")
# A count that depends on who is asking uses this parameter for the person's id; build each
# statement once (a module constant, or cached) so the page reuses it.
PERSON_ID = bindparam("person_id")


@dataclass(frozen=True)
class StaffQueue:
    label: str  # what the link says, already translated ("Feedback to triage")
    url: str
    count: int
    spoken: str  # the count in words for screen readers, with ngettext ("3 new items")


@dataclass(frozen=True)
class QueueCount:
    """A domain's queue before it is counted: what a contribution to STAFF_QUEUES returns."""

    label: str
    url: str
    count: Select  # SELECT count(*) ..., built once, with PERSON_ID for the person
    spoken: Callable[[int], str]  # the count in words, from the count


def staff_queues(user) -> list[StaffQueue]:
    """This person's queues, in the order the domains registered them, all counted in one
    query; worked out at most once a request, and only for staff (members and visitors cost
    nothing)."""
    if user is None or not user.is_staff:
        return []
    if "engage_staff_queues" not in g:
        wanted = [queue for queues in STAFF_QUEUES.results(user) for queue in queues]
        counts = db.session.execute(_counting(tuple(queue.count for queue in wanted)),
                                    {"person_id": user.id}).one() if wanted else ()
        g.engage_staff_queues = [
            StaffQueue(queue.label, queue.url, count or 0, queue.spoken(count or 0))
            for queue, count in zip(wanted, counts, strict=True)]
    return g.engage_staff_queues


@lru_cache(maxsize=64)
def _counting(counts: tuple[Select, ...]) -> Select:
    """One SELECT of every count: the same few combinations come back on every page."""
    return select(*(count.scalar_subquery() for count in counts))
