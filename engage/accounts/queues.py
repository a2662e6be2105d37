"""The work waiting for a member of staff, shown in the staff navigation with a count each.

Accounts owns the list; each domain that owns a queue contributes it through the
`STAFF_QUEUES` hook in its own `init_app` (feedback: to triage and safeguarding; changes:
entries waiting for this person's approval; payments: claims waiting for this person's step).
A contribution is a function of the signed-in person returning the queues they may open
(the same permission checks as the queue's page), each with its COUNT statement; accounts
runs every count of the page in one query. A page that has its own reads sent with the person
(wiring.send_with_person: the programme dashboard) can send that query too
(`reads_sent_early`), so the counts come with the person's own query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from flask import Flask, current_app, g
from sqlalchemy import Select, bindparam, select

from engage.core import wiring
from engage.core.page_cache import KeptCopies
from engage.extensions import db

STAFF_QUEUES = wiring.Hook("staff_queues")
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
        counts = _counted(user.id, tuple(queue.count for queue in wanted)) if wanted else ()
        g.engage_staff_queues = [
            StaffQueue(queue.label, queue.url, count or 0, queue.spoken(count or 0))
            for queue, count in zip(wanted, counts, strict=True)]
    return g.engage_staff_queues


def _counted(person_id: int, counts: tuple[Select, ...]) -> tuple:
    """Every count, counted now: by the person's own query when it was sent with it (the same
    counts, for the same person: reads_sent_early), otherwise in a query of its own."""
    counting = _counting(counts)
    _last_counted().put((person_id,), counting)
    [rows] = wiring.rows_sent_with_person(db.session, (counting, {"person_id": person_id}))
    return rows[0]


def reads_sent_early(person_id: int) -> list[tuple]:
    """For a page that has its reads sent with the signed-in person (wiring.send_with_person):
    the counts of the queues this person had the last time this process counted them, for
    this request (the counts themselves are never kept). Which queues a person has depends on
    their roles, only known once they are read; `staff_queues` works them out again and uses
    these counts only if they are the very same query, so a change of roles costs a query,
    never a wrong count."""
    counting = _last_counted().get((person_id,))
    return [] if counting is None else [(counting, {"person_id": person_id})]


LAST_COUNTED_LIMIT = 4096  # people; the few statements are shared, so this is small
LAST_COUNTED = "engage_staff_queues_counted"


def init_app(app: Flask) -> None:
    """Which count each person's queues needed last, per app (a statement is built for the
    app's database), the least recently seen people dropped first."""
    app.extensions[LAST_COUNTED] = KeptCopies(LAST_COUNTED_LIMIT)


def _last_counted() -> KeptCopies[Select]:
    return current_app.extensions[LAST_COUNTED]


@lru_cache(maxsize=64)
def _counting(counts: tuple[Select, ...]) -> Select:
    """One SELECT of every count: the same few combinations come back on every page."""
    return select(*(count.scalar_subquery() for count in counts))
