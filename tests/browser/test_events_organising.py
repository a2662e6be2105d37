"""Issue 16, organisers in a real browser: registers to complete, finalising with confirmation,
cancelling one booking, walk-ins and co-organisers; axe on each new page, keyboard only and
without JavaScript."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import inspect, select

from engage.core import clock
from engage.core.models import Notification
from engage.core.permissions import Role
from engage.events import services
from engage.events.models import AttendanceRecord, Booking, BookingStatus, Event, Register
from engage.extensions import db
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.browser.keyboard import activate, tab_to
from tests.factories import make_member, make_staff
from tests.factories_events import make_event, make_panel

pytestmark = pytest.mark.browser


def _world(live_server: LiveServer) -> dict:
    with live_server.app.app_context():
        facilitator = make_staff(Role.FACILITATOR, display_name="Sam")
        colleague = make_staff(Role.FACILITATOR, display_name="Tara")
        booked = make_member(display_name="River")
        walk_in = make_member(display_name="Jordan Walker")
        waiting = make_member(display_name="Kit")
        panel = make_panel(facilitators=[facilitator], members=[booked, walk_in, waiting])
        held = make_event(panel=panel, organiser=facilitator, title="Winter panel meeting",
                          starts_in=timedelta(days=-2))
        db.session.add(Booking(event_id=held.id, user_id=booked.id,
                               status=BookingStatus.CONFIRMED,
                               confirmed_at=held.starts_at - timedelta(days=3)))
        held.confirmed_count = 1
        running = make_event(panel=panel, organiser=facilitator, title="Running now",
                             starts_in=timedelta(minutes=-20))
        first_day = clock.today_london() - timedelta(days=3)
        course = make_event(panel=panel, organiser=facilitator, title="Two-day course",
                            starts_at=services.london_moment(first_day, time(10, 0)),
                            length=timedelta(days=1, hours=6))
        db.session.add(Booking(event_id=course.id, user_id=booked.id,
                               status=BookingStatus.CONFIRMED,
                               confirmed_at=course.starts_at - timedelta(days=3)))
        course.confirmed_count = 1
        upcoming = make_event(panel=panel, organiser=facilitator, title="Spring panel meeting",
                              capacity=1)
        place = services.book_event(booked, upcoming, services.BookingDetails())
        services.book_event(waiting, upcoming, services.BookingDetails())
        db.session.commit()
        return {"facilitator": facilitator, "colleague": colleague, "booked": booked,
                "walk_in": walk_in, "waiting": waiting, "held": held.id,
                "running": running.id, "upcoming": upcoming.id, "place": place.id,
                "course_month": clock.to_london(course.starts_at).strftime("%Y-%m"),
                "walk_in_id": walk_in.id, "colleague_id": colleague.id, "course": course.id,
                "waiting_id": waiting.id}


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def test_organiser_pages_for_registers_bookings_and_organisers_are_accessible(live_server,
                                                                              page):
    w = _world(live_server)
    sign_in_as(page, live_server, w["facilitator"])
    url = live_server.url
    for path, title, name in [
        ("/events/registers", "Registers to complete", "registers to complete"),
        (f"/events/{w['held']}/register/finalise", "Finalise the register?",
         "finalise confirmation"),
        (f"/events/{w['held']}/register/walk-in", "Add someone who came without booking",
         "walk-in search"),
        (f"/events/{w['held']}/register/walk-in?q=jordan",
         "Add someone who came without booking", "walk-in search results"),
        (f"/events/{w['held']}/register/walk-in/{w['walk_in_id']}",
         "Add Jordan Walker to the register", "walk-in form"),
        (f"/events/{w['upcoming']}/bookings/{w['place']}/cancel", "Cancel River's booking?",
         "cancel one booking"),
        (f"/events/{w['upcoming']}/organisers", "Organisers of Spring panel meeting",
         "organisers"),
        (f"/events/{w['running']}/register", "Register for Running now",
         "register of an event still running"),
        (f"/events/{w['course']}", "Two-day course", "event over several days"),
        (f"/events/{w['course']}/register", "Register for Two-day course",
         "register of an event over several days"),
        (f"/events/calendar?month={w['course_month']}", None, "month view over several days"),
    ]:
        page.goto(url + path)
        if title:
            expect(heading(page)).to_have_text(title)
        assert_accessible(page, name)
    page.goto(f"{url}/events/{w['running']}/register")
    expect(page.get_by_text("You can finalise the register once the event has ended")
           ).to_be_visible()
    expect(page.get_by_role("link", name="Finalise the register")).to_have_count(0)

    page.goto(f"{url}/events/{w['course']}/register")
    page.get_by_role("radio", name="Attended part").check()
    page.get_by_role("button", name="Save the register").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page, "register of an event over several days, with an error")

    page.goto(f"{url}/events/{w['held']}/register/walk-in/{w['walk_in_id']}")
    page.get_by_role("radio", name="Attended part").check()
    page.get_by_role("button", name="Add to the register").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page, "walk-in form with an error")


def test_organiser_completes_a_register_with_a_walk_in_using_only_the_keyboard(
        live_server, page_without_js):
    page = page_without_js
    w = _world(live_server)
    sign_in_as(page, live_server, w["facilitator"])
    page.goto(f"{live_server.url}/events/")
    activate(page, "Registers to complete")
    expect(heading(page)).to_have_text("Registers to complete")
    expect(page.get_by_text("Running now")).to_have_count(0)
    activate(page, "Winter panel meeting")
    expect(heading(page)).to_have_text("Register for Winter panel meeting")
    activate(page, "Add someone who came without booking")
    tab_to(page, "Name or username")
    page.keyboard.type("jordan")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    activate(page, "Add Jordan Walker to the register")
    expect(heading(page)).to_have_text("Add Jordan Walker to the register")
    activate(page, "Add to the register")
    expect(page.get_by_text("Jordan Walker is on the register.")).to_be_visible()
    expect(page.locator(".nhsuk-tag", has_text="Came without booking")).to_be_visible()
    activate(page, "Save the register")
    expect(page.get_by_text("The register is saved.")).to_be_visible()
    activate(page, "Finalise the register")
    expect(heading(page)).to_have_text("Finalise the register?")
    with live_server.app.app_context():
        assert db.session.get(Register, w["held"]).finalised_at is None
    activate(page, "Yes, finalise the register")
    expect(page.get_by_text("The register is finalised.")).to_be_visible()
    with live_server.app.app_context():
        assert db.session.get(Register, w["held"]).finalised_at is not None
        records = {r.user_id: r for r in db.session.scalars(select(AttendanceRecord))}
        assert records[w["walk_in_id"]].walked_in
    page.goto(f"{live_server.url}/events/registers")
    expect(page.get_by_text("Two-day course")).to_be_visible()
    expect(page.get_by_text("Winter panel meeting")).to_have_count(0)


def test_organiser_cancels_one_booking_and_adds_a_co_organiser_using_only_the_keyboard(
        live_server, page_without_js):
    page = page_without_js
    w = _world(live_server)
    sign_in_as(page, live_server, w["facilitator"])
    page.goto(f"{live_server.url}/events/{w['upcoming']}")
    activate(page, "Bookings and waiting list")
    activate(page, "Cancel booking for River")
    expect(heading(page)).to_have_text("Cancel River's booking?")
    tab_to(page, "Message to them")
    page.keyboard.type("We need the room for a smaller group, sorry.")
    activate(page, "Cancel their booking")
    expect(page.get_by_text("River's booking is cancelled and they have been told.")
           ).to_be_visible()
    with live_server.app.app_context():
        booked_id = inspect(w["booked"]).identity[0]
        told = db.session.scalar(select(Notification).where(Notification.user_id == booked_id)
                                 .order_by(Notification.id.desc()))
        assert "We need the room for a smaller group, sorry." in told.body
        offered = db.session.scalar(select(Booking).where(
            Booking.user_id == w["waiting_id"], Booking.event_id == w["upcoming"]))
        assert offered.status == BookingStatus.OFFERED

    page.goto(f"{live_server.url}/events/{w['upcoming']}")
    activate(page, "Organisers")
    expect(heading(page)).to_have_text("Organisers of Spring panel meeting")
    tab_to(page, "Member of staff")
    page.keyboard.press("ArrowDown")  # a closed select changes with the arrow keys
    activate(page, "Add as an organiser")
    expect(page.get_by_text("Tara is now an organiser of this event")).to_be_visible()
    with live_server.app.app_context():
        event = services.get_event(w["upcoming"], db.session.get(
            type(w["colleague"]), w["colleague_id"]))
        assert w["colleague_id"] in {o.user_id for o in event.organisers}


def test_event_over_several_days_is_set_up_and_registered_day_by_day(live_server,
                                                                     page_without_js):
    page = page_without_js
    w = _world(live_server)
    sign_in_as(page, live_server, w["facilitator"])
    first = clock.today_london() + timedelta(days=10)
    page.goto(f"{live_server.url}/events/new")
    page.get_by_label("Title").fill("Three-day course")
    page.get_by_label("Date", exact=True).fill(first.isoformat())
    page.get_by_label("Start time", exact=True).fill("10:00")
    page.get_by_label("End time", exact=True).fill("16:00")
    page.get_by_label("Last day (only for an event over more than one day)").fill(
        (first + timedelta(days=2)).isoformat())
    page.get_by_label("Each day, from the start time to the end time").check()
    page.get_by_label("Venue and address (in person)").fill("Room 4")
    page.get_by_role("button", name="Set up the event").click()
    expect(heading(page)).to_have_text("Three-day course")
    expect(page.get_by_text("10:00 to 16:00 each day")).to_be_visible()
    page.goto(f"{live_server.url}/events/calendar?month={first:%Y-%m}")
    expect(page.get_by_text("(day 1 of 3)")).to_be_visible()

    with live_server.app.app_context():
        course = db.session.scalar(select(Event).where(Event.title == "Three-day course"))
        course.starts_at -= timedelta(days=12)
        course.ends_at -= timedelta(days=12)
        db.session.add(Booking(event_id=course.id, user_id=inspect(w["booked"]).identity[0],
                               status=BookingStatus.CONFIRMED,
                               confirmed_at=course.starts_at - timedelta(days=1)))
        course.confirmed_count = 1
        db.session.commit()
        course_id, days = course.id, [s.day for s in course.sessions]
    page.goto(f"{live_server.url}/events/{course_id}/register")
    page.get_by_role("radio", name="Attended part").check()
    page.get_by_label(f"{days[0]:%A %-d %B} (the day was 360 minutes)").fill("360")
    page.get_by_label(f"{days[2]:%A %-d %B} (the day was 360 minutes)").fill("lots")
    page.get_by_role("button", name="Save the register").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    expect(page.get_by_label(f"{days[0]:%A %-d %B} (the day was 360 minutes)")
           ).to_have_value("360")
    page.get_by_label(f"{days[2]:%A %-d %B} (the day was 360 minutes)").fill("90")
    page.get_by_role("button", name="Save the register").click()
    expect(page.get_by_text("The register is saved.")).to_be_visible()
    with live_server.app.app_context():
        record = db.session.scalar(select(AttendanceRecord).where(
            AttendanceRecord.event_id == course_id))
        assert record.minutes_attended == 450
        assert record.day_minutes == {days[0].isoformat(): 360, days[1].isoformat(): 0,
                                      days[2].isoformat(): 90}
