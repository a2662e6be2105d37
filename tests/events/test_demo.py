"""Demo events: what `make run` shows, seeded once even when run twice."""

from __future__ import annotations

from sqlalchemy import func, select

from engage.accounts.services import find_by_username
from engage.core import clock
from engage.demo import seed_demo
from engage.events import services
from engage.events.models import Event


def test_demo_events_are_seeded_once_and_work_for_the_demo_people(app, db):
    lines = seed_demo()
    seed_demo()
    assert any("creative workshop" in line for line in lines)
    assert db.session.scalar(select(func.count()).select_from(Event)) == 4
    member = find_by_username("demo-member")
    member2 = find_by_username("demo-member2")
    facilitator = find_by_username("demo-facilitator")
    events = {e.title: e for e in db.session.scalars(select(Event))}

    meetup = events["Open Voices Network: meet-up"]
    booking = services.book_event(member, meetup, services.BookingDetails(
        access_needs="A seat near the door, please"))
    assert booking.status == "confirmed"

    full = events["Writing in our own words: creative workshop"]
    waiting = services.book_event(member, full, services.BookingDetails())
    assert waiting.status == "waiting"
    services.cancel_booking(member2, services.booking_of(member2, full))
    db.session.refresh(waiting)
    assert waiting.status == "offered"

    past = events["Open Voices Network: last month's meet-up"]
    assert past.ends_at < clock.now()
    records = services.finalise_register(facilitator, past)
    assert {r.user_id for r in records} == {member.id, member2.id}

    survivor_meeting = events["Survivors' Voice Panel: monthly meeting"]
    assert survivor_meeting.content_note and survivor_meeting.panel.name.startswith("Survivors")
