"""From the events domain: a finalised attendance register creates draft claims.

`on_register_finalised` receives `engage.events.signals.register_finalised`, connected in the
payments domain's init_app; tests/payments/test_events_wiring.py finalises a real register and
checks the claims.
"""

from __future__ import annotations

from sqlalchemy import select

from engage.core.clock import to_london
from engage.events.models import TOOK_PART, AttendanceStatus, Booking, EventStatus
from engage.extensions import db
from engage.panels.models import Panel
from engage.payments.activities import Activity, Attendee
from engage.payments.services import create_draft_involvement_claims


def activity_from_event(event, lead_ids: list[int], *, cancellation_payable: bool = False
                        ) -> Activity:
    return Activity(
        kind="event", ref_id=event.id, title=event.title,
        activity_date=to_london(event.starts_at).date(),
        involvement_level=event.involvement_level,
        kind_label=str(getattr(event, "kind", "") or "activity").replace("_", " "),
        prep_minutes=int(getattr(event, "prep_minutes", 0) or 0),
        prep_paid=bool(getattr(event, "prep_paid", False)),
        lead_ids=tuple(lead_ids), panel_id=getattr(event, "panel_id", None),
        cancelled=getattr(event, "status", "") == EventStatus.CANCELLED,
        cancellation_payable=cancellation_payable,
    )


def attendees_from_records(records, *, cancelled: bool = False,
                           declined_ids: frozenset[int] | set[int] = frozenset()
                           ) -> list[Attendee]:
    """Who can claim: those who took part; for a cancelled event, everyone still booked.
    People in `declined_ids` said when booking that they do not want to be paid."""
    if cancelled:
        return [Attendee(r.user_id, 0, r.user_id in declined_ids) for r in records
                if r.status != AttendanceStatus.CANCELLED_IN_ADVANCE]
    return [Attendee(r.user_id, int(r.minutes_attended or 0), r.user_id in declined_ids,
                     day_minutes_of(r))
            for r in records if r.status in TOOK_PART]


def day_minutes_of(record) -> tuple[int, ...]:
    """Minutes on each day of an event over several days, in date order (empty for one day)."""
    days = getattr(record, "day_minutes", None) or {}
    return tuple(int(days[day] or 0) for day in sorted(days))


def declined_at_booking(event) -> set[int]:
    """Who ticked "I do not want to be paid for taking part in this event" on their booking."""
    return set(db.session.scalars(select(Booking.user_id).where(
        Booking.event_id == event.id, Booking.declines_payment.is_(True))))


def on_register_finalised(event, records=(), actor=None, **extra) -> None:
    """Signal receiver: one draft claim per attendee who took part (idempotent)."""
    panel = db.session.get(Panel, event.panel_id) if getattr(event, "panel_id", None) else None
    lead_ids = [u.id for u in panel.facilitators_and_leads()] if panel else []
    if not lead_ids and actor is not None:
        lead_ids = [actor.id]
    activity = activity_from_event(
        event, lead_ids, cancellation_payable=bool(extra.get("cancellation_payable")))
    create_draft_involvement_claims(
        activity, attendees_from_records(records, cancelled=activity.cancelled,
                                         declined_ids=declined_at_booking(event)),
        actor=actor)

