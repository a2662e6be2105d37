"""The events domain's personal data: bookings, reminders, calendar feeds, attendance."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from engage.core.clock import iso
from engage.core.personal_data import PersonalDataKind
from engage.events.models import (
    PLACE_HOLDING,
    AttendanceCorrection,
    AttendanceRecord,
    Booking,
    CalendarFeed,
    Event,
    EventOrganiser,
    EventSeries,
    Register,
    ReminderSent,
)
from engage.events.services import give_back_place
from engage.extensions import db


def _bookings(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Booking).where(Booking.user_id == user.id))
    return [{
        "event": b.event.title, "event_starts_at": iso(b.event.starts_at), "status": b.status,
        "join_mode": b.join_mode, "access_needs": b.access_needs,
        "support_needs": b.support_needs, "needs_travel_booked": b.needs_travel_booked,
        "needs_advance": b.needs_advance, "declines_payment": b.declines_payment,
        "requested_at": iso(b.requested_at),
        "confirmed_at": iso(b.confirmed_at), "cancelled_at": iso(b.cancelled_at),
    } for b in rows]


def _erase_bookings(user) -> None:
    for booking in db.session.scalars(select(Booking).where(Booking.user_id == user.id)):
        if booking.status in PLACE_HOLDING:
            give_back_place(booking.event_id)
    db.session.execute(delete(Booking).where(Booking.user_id == user.id))


def _reminders(user) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(ReminderSent, Booking).join(Booking, ReminderSent.booking_id == Booking.id)
        .where(Booking.user_id == user.id)).all()
    return [{"event": b.event.title, "reminder": r.reminder_kind, "sent_at": iso(r.sent_at)}
            for r, b in rows]


def _erase_reminders(user) -> None:
    db.session.execute(delete(ReminderSent).where(ReminderSent.booking_id.in_(
        select(Booking.id).where(Booking.user_id == user.id))))


def _feeds(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(CalendarFeed).where(CalendarFeed.user_id == user.id))
    return [{"created_at": iso(f.created_at), "last_used_at": iso(f.last_used_at)}
            for f in rows]


def _erase_feeds(user) -> None:
    db.session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))


def _attendance(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(AttendanceRecord)
                              .where(AttendanceRecord.user_id == user.id))
    return [{"event": r.event.title, "event_starts_at": iso(r.event.starts_at),
             "status": r.status, "minutes_attended": r.minutes_attended} for r in rows]


def _erase_attendance(user) -> None:
    """Payment records the law says we keep are held by payments, not here."""
    db.session.execute(delete(AttendanceRecord).where(AttendanceRecord.user_id == user.id))


def _corrections(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(AttendanceCorrection).join(AttendanceRecord).where(
        AttendanceRecord.user_id == user.id))
    return [{"corrected_at": iso(c.corrected_at), "reason": c.reason,
             "old_status": c.old_status, "new_status": c.new_status} for c in rows]


def _erase_corrections(user) -> None:
    db.session.execute(delete(AttendanceCorrection).where(AttendanceCorrection.record_id.in_(
        select(AttendanceRecord.id).where(AttendanceRecord.user_id == user.id))))
    db.session.execute(update(AttendanceCorrection)
                       .where(AttendanceCorrection.corrected_by_id == user.id)
                       .values(corrected_by_id=None))


def _organised(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(EventOrganiser).where(EventOrganiser.user_id == user.id))
    return [{"event": o.event.title} for o in rows]


def _erase_organised(user) -> None:
    db.session.execute(delete(EventOrganiser).where(EventOrganiser.user_id == user.id))


def _events_created(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Event).where(Event.created_by_id == user.id))
    return [{"event": e.title, "created_at": iso(e.created_at)} for e in rows]


def _erase_events_created(user) -> None:
    db.session.execute(update(Event).where(Event.created_by_id == user.id)
                       .values(created_by_id=None))
    db.session.execute(update(EventSeries).where(EventSeries.created_by_id == user.id)
                       .values(created_by_id=None))


def _registers(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Register).where(
        (Register.finalised_by_id == user.id) | (Register.saved_by_id == user.id)))
    return [{"event_id": r.event_id, "finalised_at": iso(r.finalised_at)} for r in rows]


def _erase_registers(user) -> None:
    db.session.execute(update(Register).where(Register.finalised_by_id == user.id)
                       .values(finalised_by_id=None))
    db.session.execute(update(Register).where(Register.saved_by_id == user.id)
                       .values(saved_by_id=None))


def _series(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(EventSeries).where(EventSeries.created_by_id == user.id))
    return [{"frequency": s.frequency, "created_at": iso(s.created_at)} for s in rows]


def _erase_series(user) -> None:
    db.session.execute(update(EventSeries).where(EventSeries.created_by_id == user.id)
                       .values(created_by_id=None))


KINDS = [
    PersonalDataKind("bookings", "Your event bookings", "To keep your place and tell the "
                     "organisers what you need on the day.", "You. Access and support needs: "
                     "only the event's organisers.", "Until you close your account.",
                     _bookings, _erase_bookings),
    PersonalDataKind("reminders_sent", "Event reminders sent to you", "So each reminder is "
                     "sent once.", "You.", "Until you close your account.", _reminders,
                     _erase_reminders),
    PersonalDataKind("calendar_feeds", "Your private calendar feed", "So your calendar app "
                     "can show the events you booked.", "Only you have the link; we keep a "
                     "scrambled copy.", "Until you turn it off or close your account.", _feeds,
                     _erase_feeds),
    PersonalDataKind("attendance_records", "Event attendance", "To record involvement and "
                     "work out involvement payments.", "You, the event's organisers and "
                     "finance.", "Until you close your account.", _attendance,
                     _erase_attendance),
    PersonalDataKind("attendance_corrections", "Corrections to attendance", "To keep an honest "
                     "record of any change to a finalised register.", "The event's organisers "
                     "and finance.", "As long as the attendance record.", _corrections,
                     _erase_corrections),
    PersonalDataKind("event_organisers", "Events you organise", "To show who runs an event.",
                     "Staff.", "Until you close your account.", _organised, _erase_organised),
    PersonalDataKind("events", "Events you created", "To show who set an event up.", "Staff.",
                     "The link is removed when you close your account.", _events_created,
                     _erase_events_created),
    PersonalDataKind("event_series", "Repeating events you set up", "To show who set up a "
                     "series.", "Staff.", "The link is removed when you close your account.",
                     _series, _erase_series),
    PersonalDataKind("registers", "Registers you saved or finalised", "To show who completed "
                     "an attendance register.", "Staff and finance.", "The link is removed "
                     "when you close your account.", _registers, _erase_registers),
]
