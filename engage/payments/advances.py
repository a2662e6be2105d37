"""Advances and tickets booked for people who cannot pay first (PPV-POLICY section 3).

People ask when they book an event ("book my travel", "an advance for my costs"). Finance
records what was done against the event and the person:
- an advance (money paid to the person): one append-only ledger entry, and the person's claim
  for the same event takes it off what is still to pay, never below zero (anything left over
  is shown, not clawed back);
- a ticket the organisation booked and paid for: shown on the claim ("nothing to claim").

Only finance records them: money records keep the same separation of duties as approvals.
Event organisers already see the requests on their bookings page. A hidden token in the form
is stored with a unique constraint, so a double click records one row.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from engage.accounts.models import User
from engage.core import audit, clock
from engage.core.money import format_pence
from engage.core.notify import Message, notify
from engage.core.unit_of_work import atomic
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.events.models import Booking, BookingStatus, Event
from engage.extensions import db
from engage.payments import ledger
from engage.payments.links import link
from engage.payments.models import (
    EDITABLE_STATES,
    ActivitySupport,
    Claim,
    PaymentRoute,
    SupportKind,
)
from engage.payments.services import is_finance, recalculate

# Events finished longer ago than this drop off the overview (their records stay).
RECENT_DAYS = 90


def _check(actor) -> None:
    if not is_finance(actor):
        raise NotAllowed("Only finance can record advances and booked tickets.")


@dataclass
class PersonRow:
    booking: Booking
    records: list[ActivitySupport] = field(default_factory=list)
    claim: Claim | None = None

    @property
    def advance_not_covered_pence(self) -> int:
        """Advances beyond what their claim for the event is worth (never clawed back
        automatically; finance decides what to do). Zero until they have a claim."""
        if self.claim is None:
            return 0
        paid = sum(r.amount_pence for r in self.advances)
        return max(paid - self.claim.advance_pence, 0)

    @property
    def advances(self) -> list[ActivitySupport]:
        return [r for r in self.records if r.kind == SupportKind.ADVANCE and not r.is_withdrawn]

    @property
    def tickets(self) -> list[ActivitySupport]:
        return [r for r in self.records if r.kind == SupportKind.TICKET and not r.is_withdrawn]

    @property
    def can_withdraw_advance(self) -> bool:
        return self.claim is None or self.claim.state in EDITABLE_STATES

    @property
    def waiting(self) -> bool:
        """They asked for something and nothing of that kind is recorded yet."""
        return ((self.booking.needs_advance and not self.advances)
                or (self.booking.needs_travel_booked and not self.tickets))


@dataclass
class EventRow:
    event: Event
    asked_advance: int = 0
    asked_ticket: int = 0
    waiting: int = 0


def records_for_event(event_id: int) -> list[ActivitySupport]:
    return list(db.session.scalars(select(ActivitySupport).where(
        ActivitySupport.activity_kind == "event", ActivitySupport.activity_ref_id == event_id)
        .order_by(ActivitySupport.id)))


def people_for_event(event: Event) -> list[PersonRow]:
    """Everyone booked (or with something recorded), those who asked first."""
    records = records_for_event(event.id)
    bookings = db.session.scalars(select(Booking).where(Booking.event_id == event.id)).all()
    rows = []
    for booking in bookings:
        mine = [r for r in records if r.user_id == booking.user_id]
        if booking.status == BookingStatus.CANCELLED and not mine:
            continue
        rows.append(PersonRow(booking, mine, _claim_of(booking.user_id, event.id)))
    return sorted(rows, key=lambda r: (not (r.booking.needs_advance or
                                            r.booking.needs_travel_booked),
                                       r.booking.user.display_name.lower()))


def overview(now=None) -> list[EventRow]:
    """Recent and upcoming events where someone asked for an advance or a booked ticket."""
    now = now or clock.now()
    asked = select(Booking).join(Event, Event.id == Booking.event_id).where(
        Event.ends_at >= now - timedelta(days=RECENT_DAYS),
        Booking.status != BookingStatus.CANCELLED,
        or_(Booking.needs_advance.is_(True), Booking.needs_travel_booked.is_(True)))
    rows: dict[int, EventRow] = {}
    recorded: dict[int, set[tuple[int | None, str]]] = {}
    for booking in db.session.scalars(asked):
        row = rows.setdefault(booking.event_id, EventRow(booking.event))
        if booking.event_id not in recorded:
            recorded[booking.event_id] = {(r.user_id, r.kind)
                                          for r in records_for_event(booking.event_id)
                                          if not r.is_withdrawn}
        done = recorded[booking.event_id]
        row.asked_advance += booking.needs_advance
        row.asked_ticket += booking.needs_travel_booked
        if ((booking.needs_advance and (booking.user_id, SupportKind.ADVANCE) not in done)
                or (booking.needs_travel_booked
                    and (booking.user_id, SupportKind.TICKET) not in done)):
            row.waiting += 1
    return sorted(rows.values(), key=lambda r: r.event.starts_at)


def waiting_count(now=None) -> int:
    return sum(row.waiting for row in overview(now))


def _claim_of(user_id: int, event_id: int) -> Claim | None:
    return db.session.scalar(select(Claim).where(
        Claim.user_id == user_id, Claim.activity_kind == "event",
        Claim.activity_ref_id == event_id))


@atomic
def record_support(actor, event: Event, *, user_id: int, kind: str, amount_pence: int | None,
                   paid_on: date | None, token: str, route: str | None = None,
                   reference: str = "", description: str = "") -> ActivitySupport:
    """Record an advance paid or a ticket booked for someone booked on the event. The same
    form token twice (a double click, a resent form) returns the first record."""
    _check(actor)
    token = (token or "").strip()
    if not token or len(token) > 64:
        raise ValidationFailed("The form has expired. Open the page again and re-enter the "
                               "details.")
    existing = db.session.scalar(select(ActivitySupport).where(
        ActivitySupport.idempotency_key == token))
    if existing is not None:
        return existing
    booking = db.session.scalar(select(Booking).where(Booking.event_id == event.id,
                                                      Booking.user_id == user_id))
    if booking is None:
        raise ValidationFailed("Choose a person who booked this event.")
    if kind not in set(SupportKind):
        raise ValidationFailed("Choose whether this is an advance or a ticket booked for them.")
    if amount_pence is None or amount_pence <= 0:
        raise ValidationFailed("Enter the amount in pounds and pence, like 20.00.")
    if paid_on is None:
        raise ValidationFailed("Enter the date it was paid or booked.")
    if paid_on > clock.today_london():
        raise ValidationFailed("Record it once it has been paid or booked: the date must be "
                               "today or in the past.")
    reference = (reference or "").strip()
    description = (description or "").strip()
    if kind == SupportKind.ADVANCE:
        if route not in set(PaymentRoute):
            raise ValidationFailed("Choose how the advance was paid.")
        if not reference:
            raise ValidationFailed("Enter the payment reference or voucher number, so the "
                                   "advance can be traced.")
        description = ""
    else:
        if not description:
            raise ValidationFailed("Say what was booked, like 'Train ticket, Leeds to York'.")
        route, reference = None, ""
    claim = _claim_of(user_id, event.id)
    if kind == SupportKind.ADVANCE and claim is not None and claim.state not in EDITABLE_STATES:
        raise InvalidState("This person has already sent their claim for this event, so the "
                           "advance could not be taken off it. Ask the lead to return the "
                           "claim to them first, then record the advance.")
    support = ActivitySupport(
        user_id=user_id, kind=kind, activity_kind="event", activity_ref_id=event.id,
        activity_title=event.title[:200], activity_date=clock.to_london(event.starts_at).date(),
        amount_pence=amount_pence, route=route, reference=reference[:120] or None,
        description=description[:200], paid_on=paid_on, idempotency_key=token,
        recorded_by_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(support)
            db.session.flush()
    except IntegrityError:  # the same token saved a moment ago by a second request
        existing = db.session.scalar(select(ActivitySupport).where(
            ActivitySupport.idempotency_key == token))
        if existing is None:
            raise
        return existing
    if kind == SupportKind.ADVANCE:
        entry = ledger.record_advance(support, actor.id)
        support.ledger_entry_id = entry.id if entry else None
    if claim is not None and claim.state in EDITABLE_STATES:
        recalculate(claim)
    db.session.flush()
    audit.record(f"payments.{kind}_recorded", actor_id=actor.id, subject_type="event",
                 subject_id=event.id, record_id=support.id)
    person = db.session.get(User, user_id)
    if person is not None:
        what = (f"An advance of {format_pence(amount_pence)} has been paid to you"
                if kind == SupportKind.ADVANCE else
                f"{description} ({format_pence(amount_pence)}) has been booked for you")
        notify(person, Message(
            "Help with your costs for an event",
            f"{what} for '{event.title}'. When you claim for the event, it is shown on your "
            "claim: you do not need to claim it again.",
            link("events.detail", event_id=event.id)),
            dedupe_key=f"payments-support-{support.id}")
    return support


@atomic
def withdraw_support(actor, event: Event, support_id: int, reason: str) -> ActivitySupport:
    """An advance or ticket recorded by mistake is withdrawn, never deleted: an advance's
    ledger entry is reversed, and the person's claim is worked out again. Like recording, an
    advance can be withdrawn only until the person sends their claim."""
    _check(actor)
    support = db.session.get(ActivitySupport, support_id)
    if support is None or support.activity_kind != "event" or (
            support.activity_ref_id != event.id):
        raise NotFound("That record does not exist.")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed("Say why it is being withdrawn, like 'Recorded twice'.")
    claim = _claim_of(support.user_id, event.id) if support.user_id else None
    if (support.kind == SupportKind.ADVANCE and claim is not None
            and claim.state not in EDITABLE_STATES):
        raise InvalidState("This person has already sent their claim for this event, so the "
                           "advance cannot be withdrawn now. Ask the lead to return the claim "
                           "to them first.")
    result = db.session.execute(
        update(ActivitySupport).where(ActivitySupport.id == support.id,
                                      ActivitySupport.withdrawn_at.is_(None))
        .values(withdrawn_at=clock.now(), withdrawn_by_id=actor.id,
                withdrawn_reason=reason[:120])
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InvalidState("This has already been withdrawn.")
    db.session.refresh(support)
    if support.ledger_entry_id is not None:
        with contextlib.suppress(InvalidState):  # finance already reversed it by hand
            ledger.reverse(actor, support.ledger_entry_id, reason)
    if claim is not None and claim.state in EDITABLE_STATES:
        recalculate(claim)
    db.session.flush()
    audit.record(f"payments.{support.kind}_withdrawn", actor_id=actor.id, subject_type="event",
                 subject_id=event.id, record_id=support.id)
    person = db.session.get(User, support.user_id) if support.user_id else None
    if person is not None:
        notify(person, Message(
            "Help with your costs for an event",
            f"Finance corrected a record of help with your costs for '{event.title}': it had "
            "been recorded by mistake. Your claim for the event shows what is still to pay. "
            "If something does not look right, please contact finance.",
            link("events.detail", event_id=event.id)),
            dedupe_key=f"payments-support-withdrawn-{support.id}")
    return support


def get_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound("That event does not exist.")
    return event
