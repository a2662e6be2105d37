"""The worker's events jobs: reminders exactly once, waiting-list offers and expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engage.core import clock
from engage.core.models import Notification, OutboxMessage
from engage.events import tasks
from engage.events.models import Booking, BookingStatus, Event, ReminderSent
from engage.extensions import db
from engage.worker import jobs_of
from tests.factories import make_member
from tests.factories_events import book, make_event


def _reminders(user) -> list[str]:
    return list(db.session.scalars(select(Notification.title).where(
        Notification.user_id == user.id, Notification.title.like("Reminder:%"))))


def test_events_jobs_are_registered_with_the_worker(app):
    names = [job.name for job in jobs_of(app)]
    assert "event_reminders" in names and "event_waiting_list" in names


def test_two_days_and_two_hours_reminders_each_go_once(app):
    person = make_member(email="kit@example.org", email_is_safe=True)
    event = make_event(starts_in=timedelta(days=5), title="Spring meeting")
    book(person, event)
    db.session.commit()
    assert tasks.send_due_reminders("w1") == 0
    with clock.frozen(event.starts_at - timedelta(hours=47)):
        assert tasks.send_due_reminders("w1") == 1
        assert tasks.send_due_reminders("w2") == 0
    with clock.frozen(event.starts_at - timedelta(hours=1)):
        assert tasks.send_due_reminders("w1") == 1
        assert tasks.send_due_reminders("w1") == 0
    assert _reminders(person) == ["Reminder: Spring meeting"] * 2
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    kinds = set(db.session.scalars(select(ReminderSent.reminder_kind)))
    assert kinds == {"48h", "2h"}


def test_late_booking_gets_only_the_nearest_reminder(app):
    person = make_member()
    event = make_event(starts_in=timedelta(minutes=90))
    book(person, event)
    assert tasks.send_due_reminders("w1") == 1
    assert list(db.session.scalars(select(ReminderSent.reminder_kind))) == ["2h"]


def test_no_reminders_for_cancelled_events_bookings_or_the_waiting_list(app):
    booked, waiting, cancelled = make_member(), make_member(), make_member()
    event = make_event(starts_in=timedelta(hours=1), capacity=2)
    book(booked, event)
    gone = book(cancelled, event)
    from engage.events import services

    services.cancel_booking(cancelled, gone)
    full = make_event(starts_in=timedelta(hours=1), capacity=1)
    book(make_member(), full)
    book(waiting, full)
    off = make_event(starts_in=timedelta(hours=1))
    book(booked, off)
    off.status = "cancelled"
    db.session.flush()
    tasks.send_due_reminders("w1")
    assert len(_reminders(booked)) == 1
    assert _reminders(waiting) == [] and _reminders(cancelled) == []


def test_a_second_worker_cannot_send_the_same_reminder(app):
    person = make_member()
    event = make_event(starts_in=timedelta(hours=1))
    book(person, event)
    db.session.commit()
    [due] = tasks._due_batch("2h", timedelta(hours=2), timedelta(0), 10)
    # Two workers that both found the reminder due: only the first sends it.
    assert tasks._send_one(due, person, "2h") is True
    assert tasks._send_one(due, person, "2h") is False
    db.session.commit()
    assert len(_reminders(person)) == 1


def test_reminder_times_are_configurable(app):
    app.config["EVENT_REMINDER_HOURS"] = "24, 1"
    assert [kind for kind, _ in tasks.reminder_offsets()] == ["24h", "1h"]


def test_worker_job_expires_offers_and_offers_places_freed_by_more_capacity(app):
    event = make_event(capacity=1, offer_hours=1)
    first, second, third = make_member(), make_member(), make_member()
    book(first, event)
    waiting = [book(second, event), book(third, event)]
    db.session.execute(db.update(Event).where(Event.id == event.id).values(capacity=2))
    db.session.commit()
    assert tasks.offer_waiting_places("w1") == 1
    db.session.expire_all()
    assert db.session.get(Booking, waiting[0].id).status == BookingStatus.OFFERED
    with clock.frozen(clock.now() + timedelta(hours=2)):
        tasks.offer_waiting_places("w1")  # the first offer expires; the next person is offered
    db.session.expire_all()
    assert db.session.get(Booking, waiting[0].id).status == BookingStatus.CANCELLED
    assert db.session.get(Booking, waiting[1].id).status == BookingStatus.OFFERED
    assert db.session.get(Event, event.id).confirmed_count == 2
