"""No overbooking and no duplicate bookings under truly simultaneous requests (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engage.accounts.models import User
from engage.events import services
from engage.events.models import Booking, Event
from engage.extensions import db
from tests.conftest import POSTGRES_URL
from tests.factories import make_member
from tests.factories_events import make_event

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (set TEST_DATABASE_URL)"),
]


def _book_at_once(app, event_id: int, user_ids: list[int]) -> list[BaseException]:
    barrier = threading.Barrier(len(user_ids))
    errors: list[BaseException] = []

    def attempt(user_id: int) -> None:
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                event = db.session.get(Event, event_id)
                barrier.wait(timeout=30)
                services.book_event(user, event, services.BookingDetails())
                db.session.commit()
            except BaseException as error:
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def _statuses(event_id: int) -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.execute(select(Booking.status, func.count()).where(
        Booking.event_id == event_id).group_by(Booking.status)).all()
    return dict(rows)


def test_more_bookings_than_places_at_once_confirms_exactly_capacity(app):
    event = make_event(capacity=5)
    people = [make_member() for _ in range(12)]
    db.session.commit()
    errors = _book_at_once(app, event.id, [p.id for p in people])
    assert errors == []
    assert _statuses(event.id) == {"confirmed": 5, "waiting": 7}
    assert db.session.get(Event, event.id).confirmed_count == 5


def test_the_same_person_booking_from_many_tabs_at_once_gets_one_booking(app):
    event = make_event(capacity=5)
    person = make_member()
    db.session.commit()
    errors = _book_at_once(app, event.id, [person.id] * 8)
    assert errors == []
    assert _statuses(event.id) == {"confirmed": 1}
    assert db.session.get(Event, event.id).confirmed_count == 1
