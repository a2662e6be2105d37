"""Organisers: registers to complete, finalising with confirmation, cancelling one booking,
walk-ins and co-organisers, through the real pages."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engage.core.models import Notification
from engage.core.permissions import Role
from engage.equality.models import EqualitySnapshot
from engage.events import services
from engage.events.models import (
    AttendanceCorrection,
    AttendanceRecord,
    Booking,
    BookingStatus,
    Register,
)
from engage.extensions import db
from tests.factories import make_member, make_staff, sign_in
from tests.factories_events import book, make_event, make_panel


def _signed_in(browser_like, user):
    db.session.commit()
    assert sign_in(browser_like, user).status_code == 302
    return browser_like


def _text(response) -> str:
    return response.get_data(as_text=True)


def _booked_in_the_past(event, person):
    db.session.add(Booking(event_id=event.id, user_id=person.id, status=BookingStatus.CONFIRMED,
                           confirmed_at=event.starts_at - timedelta(days=2)))
    event.confirmed_count += 1
    db.session.flush()


def test_registers_to_complete_lists_ended_events_whose_register_is_not_finalised(
        app, browser_like):
    facilitator = make_staff(Role.FACILITATOR)
    someone_else = make_staff(Role.FACILITATOR)
    waiting = make_event(organiser=facilitator, title="Autumn workshop",
                         starts_in=timedelta(days=-3))
    done = make_event(organiser=facilitator, title="Summer workshop",
                      starts_in=timedelta(days=-10))
    services.finalise_register(facilitator, done)
    make_event(organiser=facilitator, title="Still running", starts_in=timedelta(minutes=-30))
    make_event(organiser=someone_else, title="Not mine", starts_in=timedelta(days=-3))
    cancelled = make_event(organiser=facilitator, title="Called off",
                           starts_in=timedelta(days=-4))
    services.cancel_event(facilitator, cancelled)
    _signed_in(browser_like, facilitator)
    index = _text(browser_like.get("/events/"))
    assert "Registers to complete" in index and "1 to do" in index
    page = _text(browser_like.get("/events/registers"))
    assert "Autumn workshop" in page
    for other in ("Summer workshop", "Still running", "Not mine", "Called off"):
        assert other not in page
    assert f"/events/{waiting.id}/register" in page


def test_finalising_asks_for_confirmation_and_is_not_offered_before_the_event_ends(
        app, browser_like):
    facilitator = make_staff(Role.FACILITATOR)
    came, skipped = make_member(display_name="Ash"), make_member(display_name="Bo")
    running = make_event(organiser=facilitator, starts_in=timedelta(minutes=-30))
    ended = make_event(organiser=facilitator, starts_in=timedelta(days=-1))
    for event in (running, ended):
        _booked_in_the_past(event, came)
        _booked_in_the_past(event, skipped)
    _signed_in(browser_like, facilitator)

    register = _text(browser_like.get(f"/events/{running.id}/register"))
    assert "You can finalise the register once the event has ended" in register
    assert f"/events/{running.id}/register/finalise" not in register
    refused = browser_like.post(f"/events/{running.id}/register/finalise",
                                form_url=f"/events/{running.id}/register")
    assert refused.status_code == 302
    assert db.session.get(Register, running.id) is None

    browser_like.post(f"/events/{ended.id}/register",
                      {f"status-{came.id}": "attended", f"status-{skipped.id}": "did_not_attend"})
    confirm = browser_like.get(f"/events/{ended.id}/register/finalise")
    assert confirm.status_code == 200
    text = _text(confirm)
    assert "Finalise the register?" in text and "Yes, finalise the register" in text
    assert "1 person" in text  # one attended, one did not attend
    db.session.expire_all()
    assert db.session.get(Register, ended.id).finalised_at is None  # asking changes nothing
    done = browser_like.post(f"/events/{ended.id}/register/finalise", follow_redirects=True)
    assert "The register is finalised" in _text(done)
    db.session.expire_all()
    assert db.session.get(Register, ended.id).finalised_at is not None


def test_organiser_cancels_one_booking_kindly_and_the_place_goes_to_the_waiting_list(
        app, browser_like):
    facilitator = make_staff(Role.FACILITATOR)
    event = make_event(organiser=facilitator, capacity=1, title="Art session")
    first, waiting = make_member(display_name="Cal"), make_member(display_name="Dee")
    booking = book(first, event)
    book(waiting, event)
    _signed_in(browser_like, facilitator)
    bookings = _text(browser_like.get(f"/events/{event.id}/bookings"))
    assert f"/events/{event.id}/bookings/{booking.id}/cancel" in bookings
    ask = _text(browser_like.get(f"/events/{event.id}/bookings/{booking.id}/cancel"))
    assert "Cancel Cal's booking?" in ask
    too_long = browser_like.post(f"/events/{event.id}/bookings/{booking.id}/cancel",
                                 {"message": "x" * 1001})
    assert too_long.status_code == 200 and "x" * 1001 in _text(too_long)  # nothing lost
    done = browser_like.post(f"/events/{event.id}/bookings/{booking.id}/cancel",
                             {"message": "The room is smaller than we thought."},
                             follow_redirects=True)
    assert "Cal&#39;s booking is cancelled and they have been told." in _text(done)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).ended_reason == "organiser_cancelled"
    told = db.session.scalar(select(Notification).where(Notification.user_id == first.id))
    assert "We are sorry" in told.body and "The room is smaller than we thought." in told.body
    offered = db.session.scalar(select(Booking).where(Booking.user_id == waiting.id))
    assert offered.status == BookingStatus.OFFERED


def test_cancelling_one_booking_is_refused_once_the_event_has_started(app):
    facilitator = make_staff(Role.FACILITATOR)
    event = make_event(organiser=facilitator, starts_in=timedelta(minutes=-5))
    person = make_member()
    _booked_in_the_past(event, person)
    booking = db.session.scalar(select(Booking))
    try:
        services.cancel_place(facilitator, booking)
    except services.InvalidState as error:
        assert "mark them on the register" in error.message
    else:
        raise AssertionError("an organiser cancelled a place after the start")


def test_organiser_adds_someone_who_came_without_booking_to_the_register(app, browser_like):
    facilitator = make_staff(Role.FACILITATOR)
    booked, walk_in = make_member(display_name="Eli"), make_member(display_name="Fen Walker")
    outsider = make_member(display_name="Fen Outsider")
    panel = make_panel(facilitators=[facilitator], members=[booked, walk_in])
    event = make_event(panel=panel, organiser=facilitator, starts_in=timedelta(days=-1))
    _booked_in_the_past(event, booked)
    _signed_in(browser_like, facilitator)
    search = _text(browser_like.get(f"/events/{event.id}/register/walk-in?q=fen"))
    assert "Add Fen Walker to the register" in search
    assert "Fen Outsider" not in search  # not a member of the panel
    assert "Add Eli" not in search  # already on the register
    assert browser_like.get(f"/events/{event.id}/register/walk-in/{outsider.id}"
                            ).status_code == 404
    done = browser_like.post(f"/events/{event.id}/register/walk-in/{walk_in.id}",
                             {"status": "attended"}, follow_redirects=True)
    assert "Fen Walker is on the register." in _text(done)
    assert "Came without booking" in _text(done)
    records = {r.user_id: r for r in db.session.scalars(select(AttendanceRecord))}
    assert records[walk_in.id].walked_in and records[walk_in.id].status == "attended"
    assert records[walk_in.id].minutes_attended == event.duration_minutes
    assert not records[booked.id].walked_in


def test_a_walk_in_added_after_finalising_is_a_correction_that_equality_monitoring_counts(app):
    facilitator = make_staff(Role.FACILITATOR)
    person = make_member()
    event = make_event(organiser=facilitator, starts_in=timedelta(days=-2))
    services.finalise_register(facilitator, event)
    try:
        services.add_walk_in(facilitator, event, person, services.Mark("attended"))
    except services.ValidationFailed as error:
        assert "say why" in error.message
    else:
        raise AssertionError("a finalised register took a walk-in without a reason")
    assert _event_snapshots() == 0
    services.add_walk_in(facilitator, event, person, services.Mark("attended_part", 30),
                         "Came without booking")
    correction = db.session.scalar(select(AttendanceCorrection))
    assert correction.old_status == "did_not_attend"
    assert correction.new_status == "attended_part" and correction.new_minutes == 30
    # The correction reaches equality monitoring (through events' attendance_corrected signal)
    # as any correction to taking part does: the person who came is counted once.
    assert _event_snapshots() == 1


def _event_snapshots() -> int:
    return db.session.scalar(select(func.count()).select_from(EqualitySnapshot)
                             .where(EqualitySnapshot.context_kind == "event",
                                    EqualitySnapshot.context_id.is_not(None))) or 0


def test_co_organiser_is_told_and_can_then_run_the_event(app, browser_like):
    facilitator = make_staff(Role.FACILITATOR, display_name="Gus")
    colleague = make_staff(Role.FACILITATOR, display_name="Hana")
    make_staff(Role.FINANCE, display_name="Ines")  # does not run events: not offered
    event = make_event(organiser=facilitator, title="Open forum")
    assert not services.can_manage_event(colleague, event)
    _signed_in(browser_like, facilitator)
    page = _text(browser_like.get(f"/events/{event.id}/organisers"))
    assert "Hana" in page and "Ines" not in page
    done = browser_like.post(f"/events/{event.id}/organisers", {"user_id": colleague.id},
                             follow_redirects=True)
    assert "Hana is now an organiser of this event" in _text(done)
    db.session.expire_all()
    assert services.can_manage_event(colleague, event)
    told = db.session.scalar(select(Notification).where(Notification.user_id == colleague.id))
    assert "Gus added you as an organiser of Open forum" in told.body
    assert services.is_organiser(colleague, event)  # sees access and support needs


def test_the_last_organiser_cannot_be_removed(app):
    facilitator = make_staff(Role.FACILITATOR)
    colleague = make_staff(Role.PROGRAMME_LEAD)
    event = make_event(organiser=facilitator)
    try:
        services.remove_organiser(facilitator, event, facilitator.id)
    except services.InvalidState as error:
        assert "at least one organiser" in error.message
    else:
        raise AssertionError("removed the only organiser")
    services.add_organiser(facilitator, event, colleague.id)
    services.remove_organiser(facilitator, event, facilitator.id)
    assert [o.user_id for o in event.organisers] == [colleague.id]
