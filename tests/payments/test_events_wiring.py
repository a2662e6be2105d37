"""Finalising a real attendance register (events) creates draft involvement claims (payments)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engage.core.permissions import Role
from engage.errors import InvalidState
from engage.events import services as events
from engage.payments.models import Claim
from engage.payments.policy import seed_policies
from tests.factories import make_member, make_staff
from tests.factories_events import confirmed_booking, make_event, make_panel


def _held_meeting(level: int):
    facilitator = make_staff(Role.FACILITATOR)
    came, came_part, missed = make_member(), make_member(), make_member()
    panel = make_panel(facilitators=[facilitator], members=[came, came_part, missed],
                       involvement_level=level)
    event = make_event(organiser=facilitator, panel=panel, starts_in=timedelta(days=14),
                       length=timedelta(hours=3, minutes=30))
    for person in (came, came_part, missed):
        confirmed_booking(person, event)
    # the meeting has now happened
    event.starts_at -= timedelta(days=21)
    event.ends_at -= timedelta(days=21)
    return facilitator, event, came, came_part, missed


def test_finalising_a_register_creates_one_draft_claim_per_person_who_took_part(db):
    seed_policies()
    facilitator, event, came, came_part, missed = _held_meeting(level=4)
    events.register_rows(facilitator, event)
    events.save_register(facilitator, event, {
        came.id: events.Mark("attended"),
        came_part.id: events.Mark("attended_part", 90),
        missed.id: events.Mark("did_not_attend"),
    })
    events.finalise_register(facilitator, event)
    db.session.commit()

    claims = {c.user_id: c for c in db.session.scalars(select(Claim))}
    assert set(claims) == {came.id, came_part.id}
    full, part = claims[came.id], claims[came_part.id]
    assert full.state == "draft" and full.activity_ref_id == event.id
    assert full.minutes_taken_part == 210 and part.minutes_taken_part == 90
    assert full.involvement_level == 4
    assert facilitator.id in full.lead_ids


def test_finalising_twice_is_refused_and_creates_nothing_more(db):
    seed_policies()
    facilitator, event, came, *_ = _held_meeting(level=4)
    events.register_rows(facilitator, event)
    events.finalise_register(facilitator, event)
    db.session.commit()
    count = len(db.session.scalars(select(Claim)).all())
    assert count == 3  # the prefilled register marks everyone with a place as attended
    assert db.session.scalar(select(Claim).where(Claim.user_id == came.id)) is not None
    with pytest.raises(InvalidState):
        events.finalise_register(facilitator, event)
    db.session.rollback()
    assert len(db.session.scalars(select(Claim)).all()) == count
