"""Events polling jobs: reminders, waiting-list offers and their expiry.

Reminders go exactly once: each is a row in reminders_sent (unique booking + kind) written in
the same transaction as the notification and its outbox email. A worker killed mid-batch loses
only its uncommitted work, which the next run picks up; a second worker's insert of the same
reminder fails on the unique key and it moves on.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, select

from engage.accounts.models import User
from engage.core import clock
from engage.core.notify import Message, notify
from engage.events import services
from engage.events.models import Booking, BookingStatus, Event, EventStatus, ReminderSent
from engage.extensions import db


def reminder_offsets() -> list[tuple[str, timedelta]]:
    """(kind, how long before the start), longest first. Configured with EVENT_REMINDER_HOURS,
    for example "48,2" (the default: two days and two hours before)."""
    raw = current_app.config["EVENT_REMINDER_HOURS"]
    hours = sorted({float(part) for part in str(raw).split(",") if part.strip()}, reverse=True)
    return [(f"{h:g}h", timedelta(hours=h)) for h in hours if h > 0]


def _due_batch(kind: str, window_start: timedelta, window_end: timedelta, limit: int):
    """Confirmed bookings whose event starts between `window_end` and `window_start` from now
    and that have not had this reminder. Only the nearest reminder is due, so someone who books
    an hour before gets one reminder, not two at once. One query for the batch, with just the
    columns a reminder needs."""
    now = clock.now()
    return db.session.execute(
        select(Booking.id, Booking.user_id, Booking.join_mode, Event.id.label("event_id"),
               Event.title, Event.starts_at, Event.ends_at, Event.runs_daily, Event.venue)
        .join(Event, Booking.event_id == Event.id)
        .outerjoin(ReminderSent, and_(ReminderSent.booking_id == Booking.id,
                                      ReminderSent.reminder_kind == kind))
        .where(Booking.status == BookingStatus.CONFIRMED,
               Event.status == EventStatus.SCHEDULED,
               Event.starts_at > now + window_end,
               Event.starts_at <= now + window_start,
               ReminderSent.id.is_(None))
        .order_by(Event.starts_at, Booking.id).limit(limit)).all()


def _send_one(due, user: User, kind: str) -> bool:
    if not services.insert_if_absent(ReminderSent, booking_id=due.id, reminder_kind=kind,
                                     sent_at=clock.now()):
        return False  # another worker sent it
    where = ""
    if due.join_mode == "online":
        where = " online. The join link appears on the event page shortly before it starts"
    elif due.venue:
        where = f" at {due.venue}"
    when = services.when_text(due.starts_at, due.ends_at, due.runs_daily)
    notify(user, Message(
        f"Reminder: {due.title}",
        f"This is a reminder that {due.title} is on {when}{where}. If you can no longer come, "
        "that is okay: you can cancel your place on the event page so someone else can have "
        "it.",
        services.event_path(due.event_id)),
        dedupe_key=f"reminder:{due.id}:{kind}")
    return True


def send_due_reminders(worker_id: str, batch_size: int | None = None) -> int:
    """Send every due reminder; commits after each batch (EVENT_REMINDER_BATCH_SIZE)."""
    batch_size = batch_size or int(current_app.config["EVENT_REMINDER_BATCH_SIZE"])
    sent = 0
    offsets = reminder_offsets()
    for index, (kind, before) in enumerate(offsets):
        nearer = offsets[index + 1][1] if index + 1 < len(offsets) else timedelta(0)
        while True:
            batch = _due_batch(kind, before, nearer, batch_size)
            if not batch:
                break
            users = {u.id: u for u in db.session.scalars(
                select(User).where(User.id.in_({due.user_id for due in batch})))}
            for due in batch:
                if _send_one(due, users[due.user_id], kind):
                    sent += 1
            db.session.commit()  # per batch: a killed worker loses only this batch
    return sent


def offer_waiting_places(worker_id: str) -> int:
    """Expire offers not taken up in time, and offer any free places to the waiting list."""
    changed = services.expire_offers()
    db.session.commit()  # expired offers free their places before they are offered again
    for event in services.events_with_free_places():
        changed += services.offer_free_places(event)
        db.session.commit()  # per event: one event's offers never wait on another's
    return changed
