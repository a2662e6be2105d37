"""Event pages as people use them: forms with real CSRF, what each person sees."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from engage.core import clock
from engage.core.models import Notification
from engage.core.permissions import Role
from engage.events import services
from engage.events.models import AttendanceRecord, Booking, Event, Register
from engage.extensions import db
from engage.panels.models import MembershipState
from tests.factories import make_member, make_staff, sign_in
from tests.factories_events import book, make_event, make_panel
from tests.factories_panels import make_membership


def _signed_in(browser_like, user):
    db.session.commit()
    assert sign_in(browser_like, user).status_code == 302
    return browser_like


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_member_books_with_an_access_need_and_a_double_submit_makes_one_booking(
        app, browser_like):
    event = make_event(capacity=3)
    person = make_member()
    _signed_in(browser_like, person)
    page = browser_like.get(f"/events/{event.id}/book")
    assert "Everything on this page is optional" in _text(page)
    form = {"access_needs": "Step-free access please", "support_needs": "A quiet room",
            "needs_travel_booked": "y"}
    first = browser_like.post(f"/events/{event.id}/book", form)
    second = browser_like.post(f"/events/{event.id}/book", form,
                               form_url=f"/events/{event.id}")
    assert first.status_code == second.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    detail = _text(browser_like.get(f"/events/{event.id}"))
    assert "You have a place" in detail
    booking = db.session.scalar(select(Booking))
    assert booking.access_needs == "Step-free access please" and booking.needs_travel_booked


def test_full_event_offers_the_waiting_list(app, browser_like):
    event = make_event(capacity=1)
    book(make_member(), event)
    _signed_in(browser_like, make_member())
    page = _text(browser_like.get(f"/events/{event.id}/book"))
    assert "Join the waiting list" in page
    response = browser_like.post(f"/events/{event.id}/book", {}, follow_redirects=True)
    assert "on the waiting list" in _text(response)
    assert "number 1" in _text(response)


def test_access_needs_shown_only_to_the_events_own_organisers(app, browser_like, client):
    facilitator = make_staff(Role.FACILITATOR)
    event = make_event(organiser=facilitator)
    book(make_member(), event, access_needs="British Sign Language interpreter")
    lead = make_staff(Role.PROGRAMME_LEAD)
    db.session.commit()
    _signed_in(browser_like, facilitator)
    assert "British Sign Language" in _text(browser_like.get(f"/events/{event.id}/bookings"))
    from tests.conftest import FormClient

    other = _signed_in(FormClient(app.test_client()), lead)
    page = _text(other.get(f"/events/{event.id}/bookings"))
    assert "British Sign Language" not in page
    assert "shown only to this event's organisers" in page


def test_event_form_errors_keep_what_was_typed(app, browser_like):
    facilitator = make_staff(Role.FACILITATOR)
    _signed_in(browser_like, facilitator)
    day = (clock.today_london() + timedelta(days=5)).isoformat()
    response = browser_like.post("/events/new", {
        "title": "Planning the spring workshop", "kind": "workshop", "panel_id": "",
        "day": day, "start_time": "18:00", "end_time": "17:00", "mode": "in_person",
        "venue": "Room 4", "join_opens_minutes": "30", "capacity": "8", "offer_hours": "24",
        "involvement_level": "", "prep_minutes": "0", "repeat": ""})
    page = _text(response)
    assert response.status_code == 200
    assert "The end time must be after the start time." in page
    assert 'value="Planning the spring workshop"' in page and 'value="17:00"' in page
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_facilitator_sets_up_a_weekly_series(app, browser_like):
    _signed_in(browser_like, make_staff(Role.FACILITATOR))
    first = clock.today_london() + timedelta(days=3)
    response = browser_like.post("/events/new", {
        "title": "Weekly drop-in", "kind": "network_event", "panel_id": "",
        "day": first.isoformat(), "start_time": "18:00", "end_time": "19:30",
        "mode": "online", "join_link": "https://meet.example.org/drop-in",
        "join_opens_minutes": "15", "capacity": "20", "offer_hours": "12",
        "involvement_level": "1", "prep_minutes": "0", "repeat": "weekly",
        "repeat_until": (first + timedelta(days=21)).isoformat()}, follow_redirects=True)
    assert "4 events are set up" in _text(response)
    events = db.session.scalars(select(Event).order_by(Event.starts_at)).all()
    assert [clock.to_london(e.starts_at).strftime("%H:%M") for e in events] == ["18:00"] * 4


def test_cancel_booking_asks_first_then_frees_the_place(app, browser_like):
    event = make_event(capacity=1)
    person = make_member()
    book(person, event)
    _signed_in(browser_like, person)
    assert "You do not need to give a reason" in _text(
        browser_like.get(f"/events/{event.id}/booking/cancel"))
    browser_like.post(f"/events/{event.id}/booking/cancel", {})
    db.session.expire_all()
    assert db.session.get(Event, event.id).confirmed_count == 0


def test_offer_can_be_accepted_from_the_event_page(app, browser_like):
    event = make_event(capacity=1)
    first, second = make_member(), make_member()
    holder = book(first, event)
    book(second, event)
    services.cancel_booking(first, holder)
    _signed_in(browser_like, second)
    page = _text(browser_like.get(f"/events/{event.id}"))
    assert "A place is being held for you" in page
    response = browser_like.post(f"/events/{event.id}/offer/accept", {},
                                 form_url=f"/events/{event.id}", follow_redirects=True)
    assert "The place is yours" in _text(response)


def test_calendar_feed_address_shown_once_then_works_and_can_be_turned_off(app, browser_like,
                                                                           client):
    person = make_member()
    event = make_event(title="Spring planning")
    book(person, event)
    _signed_in(browser_like, person)
    page = _text(browser_like.post("/events/feed", {}, form_url="/events/mine",
                                   follow_redirects=True))
    url = re.search(r"http://localhost(/events/feed/[^<]+\.ics)", page).group(1)
    assert "cannot show it again" in page
    assert url not in _text(browser_like.get("/events/mine"))
    feed = app.test_client().get(url)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert b"Spring planning" not in feed.data  # discreet mode is on by default
    browser_like.post("/events/feed/revoke", {}, form_url="/events/mine")
    assert app.test_client().get(url).status_code == 404


def test_join_link_on_the_page_only_when_it_opens(app, browser_like):
    event = make_event(mode="online", join_opens_minutes=30)
    person = make_member()
    book(person, event)
    _signed_in(browser_like, person)
    page = _text(browser_like.get(f"/events/{event.id}"))
    assert "meet.example.org" not in page and "will appear here from" in page
    with clock.frozen(event.starts_at - timedelta(minutes=10)):
        assert "https://meet.example.org/abc" in _text(browser_like.get(f"/events/{event.id}"))


def test_month_view_is_a_table_with_day_headers_and_the_event(app, browser_like):
    event = make_event(title="Gardening workshop", starts_in=timedelta(days=1))
    _signed_in(browser_like, make_member())
    month = clock.to_london(event.starts_at).strftime("%Y-%m")
    page = _text(browser_like.get(f"/events/calendar?month={month}"))
    assert '<th scope="col"' in page and 'title="Monday"' in page
    assert "Gardening workshop" in page and "<caption" in page


def test_list_filters_by_type_and_own_bookings(app, browser_like):
    person = make_member()
    booked = make_event(title="Booked training", kind="training")
    make_event(title="Other workshop", kind="workshop")
    book(person, booked)
    _signed_in(browser_like, person)
    page = _text(browser_like.get("/events/?kind=workshop"))
    assert "Other workshop" in page and "Booked training" not in page
    page = _text(browser_like.get("/events/?booked=y"))
    assert "Booked training" in page and "Other workshop" not in page


def test_the_filter_form_shows_the_chosen_filters_even_when_the_list_is_the_same(
        app, browser_like):
    """The kept list is keyed on its filters too: the same events, filtered or not, still
    show which filters the person chose."""
    make_event(title="Only workshop", kind="workshop")
    _signed_in(browser_like, make_member())
    browser_like.get("/events/")
    unfiltered = _text(browser_like.get("/events/"))
    filtered = _text(browser_like.get("/events/?kind=workshop"))
    assert "Only workshop" in unfiltered and "Only workshop" in filtered
    assert 'value="workshop" selected' not in unfiltered
    assert 'value="workshop" selected' in filtered


def test_panel_filter_lists_the_panels_a_member_holds_a_place_on(app, browser_like):
    from engage.panels.models import MembershipState
    from tests.factories_panels import make_membership
    from tests.factories_panels import make_panel as make_named_panel

    person = make_member()
    names = {state: make_named_panel(name=f"Panel where {state}") for state in MembershipState}
    for state, panel in names.items():
        make_membership(panel, person, state=state)
    make_named_panel(name="Panel never joined")
    _signed_in(browser_like, person)
    page = _text(browser_like.get("/events/"))
    options = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', page)
    assert options == ["Panel where active", "Panel where on_break"]


def test_register_saved_then_finalised_then_corrected_through_the_pages(app, browser_like):
    facilitator = make_staff(Role.FACILITATOR)
    people = [make_member(display_name="Ash"), make_member(display_name="Bo")]
    panel = make_panel(facilitators=[facilitator], members=people)
    event = make_event(panel=panel, organiser=facilitator)
    for person in people:
        book(person, event)
    _signed_in(browser_like, facilitator)
    with clock.frozen(event.ends_at + timedelta(minutes=5)):
        page = _text(browser_like.get(f"/events/{event.id}/register"))
        assert "Ash" in page and "Bo" in page
        # Looking at the register does not save anything.
        assert db.session.scalar(select(func.count()).select_from(AttendanceRecord)) == 0
        url = f"/events/{event.id}/register"
        bad = browser_like.post(url, {f"status-{people[0].id}": "attended_part",
                                      f"minutes-{people[0].id}": "lots",
                                      f"status-{people[1].id}": "did_not_attend"})
        assert bad.status_code == 400 and "whole number" in _text(bad)
        assert 'value="lots"' in _text(bad)
        browser_like.post(url, {f"status-{people[0].id}": "attended_part",
                                f"minutes-{people[0].id}": "50",
                                f"status-{people[1].id}": "did_not_attend"})
        browser_like.post(f"{url}/finalise", {}, form_url=url)
        db.session.expire_all()
        assert db.session.get(Register, event.id).finalised_by_id == facilitator.id
        record = db.session.scalar(select(AttendanceRecord).where(
            AttendanceRecord.user_id == people[1].id))
        response = browser_like.post(f"{url}/{record.id}/correct", {
            "status": "attended", "reason": "Joined late but stayed"}, follow_redirects=True)
        assert "Joined late but stayed" in _text(response)
        assert "Did not attend → Attended" in _text(response)


def test_changed_time_is_highlighted_on_the_event_page(app, browser_like):
    facilitator = make_staff(Role.FACILITATOR)
    event = make_event(organiser=facilitator, title="Autumn meeting")
    person = make_member()
    book(person, event)
    _signed_in(browser_like, facilitator)
    new_day = clock.to_london(event.starts_at + timedelta(days=1)).date().isoformat()
    response = browser_like.post(f"/events/{event.id}/edit", {
        "title": "Autumn meeting", "kind": "panel_meeting", "panel_id": "", "day": new_day,
        "start_time": "18:00", "end_time": "20:00", "mode": "in_person",
        "venue": event.venue, "join_opens_minutes": "30", "capacity": "10",
        "offer_hours": "24", "involvement_level": "2", "prep_minutes": "0"},
        follow_redirects=True)
    page = _text(response)
    assert "Everyone booked has been told about the change." in page
    assert "the time of this event changed" in page
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == person.id))
    assert note.title == "Changed: Autumn meeting"


def test_the_events_list_tags_only_the_persons_own_current_places(app, browser_like):
    mine, theirs, given_up = (make_event(title=title, starts_in=timedelta(days=days)) for
                              title, days in (("Mine", 3), ("Theirs", 4), ("Given up", 5)))
    person, other = make_member(), make_member()
    book(person, mine)
    book(other, theirs)
    services.cancel_booking(person, book(person, given_up))
    _signed_in(browser_like, person)
    page = _text(browser_like.get("/events/"))
    rows = {title: page[page.index(f">{title}<"):][:1500].split("nhsuk-card__heading")[0]
            for title in ("Mine", "Theirs", "Given up")}
    assert "You have a place" in rows["Mine"]
    assert "You have a place" not in rows["Theirs"]
    assert "You have a place" not in rows["Given up"]
    assert page.count("You have a place") == 1


def test_the_kept_events_list_shows_every_change_at_once(app, browser_like):
    """The list is kept once drawn (events/views.py), keyed on what it shows: a new title, a
    cancellation, someone else taking the last place and the person's own booking all show on
    the next visit."""
    organiser = make_staff(Role.PROGRAMME_LEAD)
    renamed, cancelled, filling = (make_event(title=title, starts_in=timedelta(days=days),
                                              capacity=1, organiser=organiser)
                                   for title, days in (("Spring meeting", 3),
                                                       ("Walk and talk", 4),
                                                       ("Writing circle", 5)))
    person, other = make_member(), make_member()
    _signed_in(browser_like, person)
    browser_like.get("/events/")
    before = _text(browser_like.get("/events/"))
    assert "Spring meeting" in before and "Cancelled" not in before and "Full" not in before
    renamed.title = "Summer meeting"
    services.cancel_event(organiser, cancelled, "The room is not available.")
    book(other, filling)
    db.session.commit()
    after = _text(browser_like.get("/events/"))
    assert "Summer meeting" in after and "Spring meeting" not in after
    assert "Cancelled" in after
    assert "Full: waiting list open" in after
    book(person, renamed)
    db.session.commit()
    assert "You have a place" in _text(browser_like.get("/events/"))


def test_a_panel_filter_the_person_cannot_use_shows_the_whole_list(app, browser_like):
    """events_listing: a panel that is not among the person's choices (another panel's, or a
    typed number) is left out of the filters, and the list is read again without it."""
    organiser = make_staff(Role.PROGRAMME_LEAD)
    make_event(title="Open drop-in", starts_in=timedelta(days=3), organiser=organiser)
    elsewhere = make_panel()
    make_event(title="Panel only meeting", starts_in=timedelta(days=4), panel=elsewhere,
               organiser=organiser)
    db.session.commit()
    _signed_in(browser_like, make_member())
    browser_like.get("/events/")
    for panel in (elsewhere.id, 987654):
        page = _text(browser_like.get(f"/events/?panel={panel}"))
        assert "Open drop-in" in page and "Panel only meeting" not in page


def test_the_panel_filter_lists_each_of_the_persons_panels_by_its_whole_name(app,
                                                                            browser_like):
    """A member's panel choices are read with them as one text column
    (services.member_filter_choices_column): names with colons, digits and letters beyond
    ASCII come back whole, a panel they left is not offered, and choosing one filters the
    list."""
    organiser = make_staff(Role.PROGRAMME_LEAD)
    person = make_member()
    names = ("Voices: 12:3 group", "Café für Überlebende", "A")
    panels = [make_panel(members=[person]) for _ in names]
    for panel, name in zip(panels, names, strict=True):
        panel.name = name
    left = make_panel()
    left.name = "Panel they left"
    make_membership(left, person, state=MembershipState.LEFT)
    make_event(title="Café meeting", starts_in=timedelta(days=3), panel=panels[1],
               organiser=organiser)
    make_event(title="Voices meeting", starts_in=timedelta(days=4), panel=panels[0],
               organiser=organiser)
    db.session.commit()
    _signed_in(browser_like, person)
    page = browser_like.get("/events/").get_data(as_text=True)
    offered = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page)
    assert offered == sorted(((str(panel.id), name) for panel, name
                              in zip(panels, names, strict=True)), key=lambda pair: pair[1])
    chosen = _text(browser_like.get(f"/events/?panel={panels[1].id}"))
    assert "Café meeting" in chosen and "Voices meeting" not in chosen
