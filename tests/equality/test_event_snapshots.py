"""Finalising an event's register keeps one unnamed equality snapshot per person who took part."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engage.core.permissions import Role
from engage.equality.models import EqualitySnapshot
from engage.equality.services import save_answers, snapshot_counts
from engage.errors import InvalidState
from engage.events import services as events
from engage.payments.policy import seed_policies
from tests.factories import make_member, make_staff
from tests.factories_events import confirmed_booking, make_event, make_panel


def _held_meeting():
    facilitator = make_staff(Role.FACILITATOR)
    came, came_part, missed = make_member(), make_member(), make_member()
    panel = make_panel(facilitators=[facilitator], members=[came, came_part, missed])
    event = make_event(organiser=facilitator, panel=panel, starts_in=timedelta(days=14))
    for person in (came, came_part, missed):
        confirmed_booking(person, event)
    event.starts_at -= timedelta(days=21)
    event.ends_at -= timedelta(days=21)
    return facilitator, event, came, came_part, missed


def _event_snapshots() -> int:
    return db_count(select(func.count()).select_from(EqualitySnapshot)
                    .where(EqualitySnapshot.context_kind == "event"))


def db_count(query) -> int:
    from engage.extensions import db
    return db.session.scalar(query) or 0


def test_finalising_a_register_snapshots_only_people_who_took_part(db):
    seed_policies()
    facilitator, event, came, came_part, missed = _held_meeting()
    save_answers(came, {"ethnicity": "white"})
    db.session.flush()
    events.register_rows(facilitator, event)
    events.save_register(facilitator, event, {
        came.id: events.Mark("attended"),
        came_part.id: events.Mark("attended_part", 30),
        missed.id: events.Mark("did_not_attend"),
    })
    assert _event_snapshots() == 0  # saving is not finalising
    events.finalise_register(facilitator, event)
    db.session.commit()

    assert _event_snapshots() == 2
    counts = snapshot_counts("event", [event.id])["ethnicity"]
    assert counts["white"] == 1
    assert counts["not_answered"] == 1
    assert db.session.scalar(select(EqualitySnapshot.context_id)
                             .where(EqualitySnapshot.context_kind == "event")) == event.id


def test_a_second_finalise_is_refused_and_adds_no_snapshot(db):
    seed_policies()
    facilitator, event, *_ = _held_meeting()
    events.register_rows(facilitator, event)
    events.finalise_register(facilitator, event)
    db.session.commit()
    assert _event_snapshots() == 3  # the prefilled register marks everyone as attended
    with pytest.raises(InvalidState):
        events.finalise_register(facilitator, event)
    db.session.rollback()
    assert _event_snapshots() == 3


def test_a_correction_to_taking_part_adds_one_snapshot_and_toggling_adds_no_more(db):
    seed_policies()
    facilitator, event, came, _came_part, missed = _held_meeting()
    save_answers(missed, {"ethnicity": "mixed"})
    db.session.flush()
    events.register_rows(facilitator, event)
    events.save_register(facilitator, event, {missed.id: events.Mark("did_not_attend")})
    events.finalise_register(facilitator, event)
    db.session.commit()
    assert _event_snapshots() == 2
    record_of = {r.user_id: r for r in events.register_rows(facilitator, event)}

    # They did come after all: counted now, with their answers.
    events.correct_attendance(facilitator, record_of[missed.id], events.Mark("attended"),
                              "Signed in late at the door")
    db.session.commit()
    assert _event_snapshots() == 3
    assert snapshot_counts("event", [event.id])["ethnicity"]["mixed"] == 1

    # Back and forth again: still counted once.
    events.correct_attendance(facilitator, record_of[missed.id],
                              events.Mark("did_not_attend"), "Wrong row")
    events.correct_attendance(facilitator, record_of[missed.id], events.Mark("attended"),
                              "It was the right row")
    # Someone finalised as taking part, corrected away and back, was counted at finalising.
    events.correct_attendance(facilitator, record_of[came.id], events.Mark("did_not_attend"),
                              "Mixed up two names")
    events.correct_attendance(facilitator, record_of[came.id], events.Mark("attended"),
                              "Checked the sign-in sheet")
    db.session.commit()
    assert _event_snapshots() == 3
