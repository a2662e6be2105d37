"""Issue 5 (events) in a real browser: every event page type passes axe, and a member books a
place with an access need using only the keyboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import inspect, select

from engage.core import clock
from engage.core.permissions import Role
from engage.events import services
from engage.events.models import Booking
from engage.extensions import db
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.factories import make_member, make_staff
from tests.factories_events import make_event, make_panel

pytestmark = pytest.mark.browser


def _setup(live_server: LiveServer):
    with live_server.app.app_context():
        facilitator = make_staff(Role.FACILITATOR, display_name="Sam")
        member = make_member(display_name="River")
        other = make_member(display_name="Kit")
        panel = make_panel(facilitators=[facilitator], members=[member, other])
        upcoming = make_event(panel=panel, organiser=facilitator, title="Spring panel meeting",
                              mode="both", content_note="We will talk about first contact "
                              "with services.", starts_in=timedelta(days=3))
        services.book_event(other, upcoming, services.BookingDetails(
            join_mode="online", access_needs="Live captions"))
        held = make_event(panel=panel, organiser=facilitator, title="Winter panel meeting",
                          starts_in=timedelta(days=-3))
        db.session.add(Booking(event_id=held.id, user_id=member.id, status="confirmed",
                               confirmed_at=clock.now() - timedelta(days=5)))
        held.confirmed_count = 1
        db.session.commit()
        return facilitator, member, upcoming.id, held.id


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def test_member_event_pages_are_accessible(live_server, page):
    _, member, upcoming, _ = _setup(live_server)
    sign_in_as(page, live_server, member)
    month = clock.to_london(clock.now() + timedelta(days=3)).strftime("%Y-%m")
    for path, name in [
        ("/events/", "events list"),
        ("/events/?kind=panel_meeting&booked=y", "events list filtered"),
        (f"/events/calendar?month={month}", "month view"),
        (f"/events/{upcoming}", "event page with a content note"),
        (f"/events/{upcoming}/book", "booking form"),
        ("/events/mine", "your bookings"),
    ]:
        page.goto(live_server.url + path)
        assert_accessible(page, name)
    page.goto(f"{live_server.url}/events/{upcoming}/book")
    page.get_by_role("button", name="Book my place").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page, "booking form with an error")
    page.get_by_label("In person").check()
    page.get_by_role("button", name="Book my place").click()
    expect(page.get_by_text("Your place is booked.")).to_be_visible()
    page.goto(f"{live_server.url}/events/{upcoming}/booking/cancel")
    expect(heading(page)).to_have_text("Cancel your booking?")
    assert_accessible(page, "cancel booking")
    page.goto(f"{live_server.url}/events/mine")
    page.get_by_role("button", name="Make my calendar feed").click()
    expect(page.get_by_text("Your new feed address")).to_be_visible()
    assert_accessible(page, "new calendar feed address")


def test_organiser_event_pages_are_accessible(live_server, page):
    facilitator, _, upcoming, held = _setup(live_server)
    sign_in_as(page, live_server, facilitator)
    for path, title, name in [
        ("/events/new", "Set up an event", "new event form"),
        (f"/events/{upcoming}/edit", "Change Spring panel meeting", "edit event form"),
        (f"/events/{upcoming}/cancel", "Cancel this event?", "cancel event"),
        (f"/events/{upcoming}/bookings", "Bookings for Spring panel meeting", "bookings"),
        (f"/events/{held}/register", "Register for Winter panel meeting", "register"),
    ]:
        page.goto(live_server.url + path)
        expect(heading(page)).to_have_text(title)
        assert_accessible(page, name)
    expect(page.get_by_text("Live captions")).to_have_count(0)
    page.goto(f"{live_server.url}/events/{upcoming}/bookings")
    expect(page.get_by_text("Live captions")).to_be_visible()
    page.goto(f"{live_server.url}/events/new")
    page.get_by_label("Title").fill("Evening workshop")
    page.get_by_role("button", name="Set up the event").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Evening workshop")
    assert_accessible(page, "new event form with errors")
    page.goto(f"{live_server.url}/events/{held}/register")
    page.get_by_role("link", name="Finalise the register").click()
    expect(heading(page)).to_have_text("Finalise the register?")
    page.get_by_role("button", name="Yes, finalise the register").click()
    expect(page.get_by_text("The register is finalised.")).to_be_visible()
    assert_accessible(page, "finalised register")
    page.get_by_role("link", name="Correct the record for River").click()
    expect(heading(page)).to_have_text("Correct the record for River")
    assert_accessible(page, "correction form")


def test_member_books_with_an_access_need_using_only_the_keyboard(live_server,
                                                                  page_without_js):
    page = page_without_js
    _, member, upcoming, _ = _setup(live_server)
    member_id = inspect(member).identity[0]
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/events/{upcoming}")

    def tab_to(text: str, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            active = page.evaluate(
                "(document.activeElement.innerText || document.activeElement.labels?.[0]"
                "?.innerText || '').trim()")
            if active.startswith(text):
                return
        pytest.fail(f"Tab never reached {text!r}")

    tab_to("Book a place")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("Book Spring panel meeting")
    tab_to("In person")  # a radio group is one Tab stop; arrow keys choose within it
    page.keyboard.press("ArrowDown")
    tab_to("Access needs")
    page.keyboard.type("Step-free access and a seat near the door")
    tab_to("Book my place")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your place is booked.")).to_be_visible()
    with live_server.app.app_context():
        booking = db.session.scalar(select(Booking).where(Booking.event_id == upcoming,
                                                          Booking.user_id == member_id))
        assert booking.status == "confirmed" and booking.join_mode == "online"
        assert booking.access_needs == "Step-free access and a seat near the door"
