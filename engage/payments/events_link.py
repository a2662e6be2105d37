"""Claims follow events: payments listens to the signals the events domain defines
(engage.events.signals); events never imports payments.

- `register_finalised`: one draft claim per person who took part.
- `attendance_corrected`: a correction after the register was finalised updates the person's
  claim (or makes one, if they now took part), while it can still change.
- `event_cancelled`: everyone with a place gets a draft claim, for costs they could not get
  back and, where the organiser marked the cancellation payable, the involvement payment for
  the time planned.

The receivers are connected in the payments domain's init_app; tests/payments/test_events_wiring.py
finalises a real register and checks the claims.
"""

from __future__ import annotations

from sqlalchemy import select

from engage.core.clock import to_london
from engage.events.models import TOOK_PART, Booking, Event
from engage.extensions import db
from engage.panels.models import Panel
from engage.payments import services
from engage.payments.activities import Activity, Attendee
from engage.payments.models import Claim


def lead_ids_for(event: Event, actor=None) -> list[int]:
    """Who checks claims for the event: the panel's facilitators and leads, and the event's
    organisers; the person acting when there is nobody else."""
    panel = db.session.get(Panel, event.panel_id) if event.panel_id else None
    ids = [u.id for u in panel.facilitators_and_leads()] if panel else []
    ids += [o.user_id for o in event.organisers if o.user_id not in ids]
    if not ids and actor is not None:
        ids = [actor.id]
    return ids


def activity_from_event(event: Event, lead_ids: list[int], *, cancelled: bool = False,
                        cancellation_payable: bool = False) -> Activity:
    return Activity(
        kind="event", ref_id=event.id, title=event.title,
        activity_date=to_london(event.starts_at).date(),
        involvement_level=event.involvement_level,
        kind_label=str(event.kind or "activity").replace("_", " "),
        prep_minutes=int(event.prep_minutes or 0), prep_paid=bool(event.prep_paid),
        lead_ids=tuple(lead_ids), panel_id=event.panel_id,
        cancelled=cancelled, cancellation_payable=cancellation_payable,
        planned_minutes=event.duration_minutes,
    )


def attendees_from_records(records, *, declined_ids: frozenset[int] | set[int] = frozenset()
                           ) -> list[Attendee]:
    """Who can claim: those who took part. People in `declined_ids` said when booking that
    they do not want to be paid."""
    return [Attendee(r.user_id, int(r.minutes_attended or 0), r.user_id in declined_ids,
                     day_minutes_of(r))
            for r in records if r.status in TOOK_PART]


def day_minutes_of(record) -> tuple[int, ...]:
    """Minutes on each day of an event over several days, in date order (empty for one day)."""
    days = getattr(record, "day_minutes", None) or {}
    return tuple(int(days[day] or 0) for day in sorted(days))


def declined_at_booking(event: Event) -> set[int]:
    """Who ticked "I do not want to be paid for taking part in this event" on their booking."""
    return set(db.session.scalars(select(Booking.user_id).where(
        Booking.event_id == event.id, Booking.declines_payment.is_(True))))


def on_register_finalised(event: Event, records=(), actor=None, **extra) -> None:
    """One draft claim per attendee who took part (idempotent)."""
    activity = activity_from_event(event, lead_ids_for(event, actor))
    services.create_draft_involvement_claims(
        activity, attendees_from_records(records, declined_ids=declined_at_booking(event)),
        actor=actor)


def on_event_cancelled(event: Event, booked_user_ids=(), cancellation_payable: bool = False,
                       actor=None, **extra) -> None:
    """Everyone with a place can claim: costs they could not get back, and the involvement
    payment for the time planned when the cancellation is payable."""
    activity = activity_from_event(event, lead_ids_for(event, actor), cancelled=True,
                                   cancellation_payable=cancellation_payable)
    declined = declined_at_booking(event)
    planned_days = planned_day_minutes(event) if cancellation_payable else ()
    services.create_draft_involvement_claims(
        activity, [Attendee(user_id, 0, user_id in declined, planned_days)
                   for user_id in booked_user_ids],
        actor=actor)


def planned_day_minutes(event: Event) -> tuple[int, ...]:
    """Minutes planned on each day of an event over several days (empty for one day), so a
    payable cancellation pays each planned day as a day of its own."""
    return tuple(session.minutes for session in event.sessions) if event.is_multi_day else ()


def on_attendance_corrected(event: Event, record=None, correction=None, actor=None,
                            **extra) -> None:
    """The person's claim follows the corrected record (see services.follow_attendance)."""
    if record is None:
        return
    took_part = record.status in TOOK_PART
    minutes = int(record.minutes_attended or 0) if took_part else 0
    days = day_minutes_of(record) if took_part else ()
    claim = db.session.scalar(select(Claim).where(
        Claim.user_id == record.user_id, Claim.activity_kind == "event",
        Claim.activity_ref_id == event.id))
    if claim is None:
        if minutes <= 0:
            return
        activity = activity_from_event(event, lead_ids_for(event, actor))
        services.create_draft_involvement_claims(
            activity, [Attendee(record.user_id, minutes,
                                record.user_id in declined_at_booking(event), days)],
            actor=actor)
        return
    reason = getattr(correction, "reason", "") or ""
    services.follow_attendance(claim, minutes, actor, reason, days)
