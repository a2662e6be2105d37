"""Event reminders from the real worker process, killed in the middle of a batch and restarted
(with a duplicate worker started beside it): every reminder still goes exactly once.

Each reminder is a reminders_sent row (unique booking + kind) committed together with its
in-app notification and outbox email, a few at a time. A SIGKILL loses only the uncommitted
few, which the next worker sends; a duplicate worker's insert of the same reminder does nothing.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engage.accounts.models import User
from engage.core import clock
from engage.core.models import Notification, OutboxMessage
from engage.events.models import Booking, Event, EventOrganiser, ReminderSent
from engage.extensions import db
from tests.integration.processes import wait_until

pytestmark = pytest.mark.integration
PEOPLE = 300


def _seed() -> None:
    organiser = User(username="organiser", username_key="organiser",
                     display_name="Organiser", password_hash="x")
    db.session.add(organiser)
    db.session.flush()
    start = clock.now() + timedelta(minutes=90)
    event = Event(title="Big meeting", kind="network_event", starts_at=start,
                  ends_at=start + timedelta(hours=2), venue="Hall", capacity=PEOPLE,
                  confirmed_count=PEOPLE, created_by_id=organiser.id)
    event.organisers.append(EventOrganiser(user_id=organiser.id))
    db.session.add(event)
    db.session.flush()
    for n in range(PEOPLE):
        user = User(username=f"p{n}", username_key=f"p{n}", display_name=f"P{n}",
                    password_hash="x", email=f"p{n}@example.org", email_is_safe=True)
        db.session.add(user)
        db.session.flush()
        db.session.add(Booking(event_id=event.id, user_id=user.id, status="confirmed",
                               confirmed_at=clock.now()))
    db.session.commit()


def _count(model) -> int:
    db.session.rollback()  # a fresh transaction sees what the worker committed
    value = db.session.scalar(select(func.count()).select_from(model))
    db.session.rollback()
    return value


def test_worker_killed_mid_batch_sends_each_reminder_exactly_once(
        shared_database, smtp_server, start_worker):
    _seed()
    settings = {"EVENT_REMINDER_BATCH_SIZE": 5, "OUTBOX_BATCH_SIZE": PEOPLE,
                "WORKER_LEASE_SECONDS": 3}
    first = start_worker(**settings)
    wait_until(lambda: _count(ReminderSent) > 0, 60, "the first reminders", [first])
    first.kill()
    after_kill = _count(ReminderSent)
    assert after_kill < PEOPLE, "the batch finished before the worker was killed"

    restarted = start_worker(**settings)
    duplicate = start_worker(**settings)
    workers = [restarted, duplicate]
    wait_until(lambda: _count(ReminderSent) == PEOPLE, 90, "every reminder", workers)
    wait_until(lambda: len(smtp_server.received) >= PEOPLE, 90, "every email", workers)
    time.sleep(1.0)  # anything sent twice would arrive now

    recipients = [r for message in smtp_server.received for r in message.rcpt_tos]
    assert len(recipients) == PEOPLE and len(set(recipients)) == PEOPLE
    assert _count(OutboxMessage) == PEOPLE
    db.session.rollback()
    per_person = db.session.execute(
        select(Notification.user_id, func.count()).group_by(Notification.user_id)).all()
    assert len(per_person) == PEOPLE and {n for _, n in per_person} == {1}
