"""iCalendar output, parsed with the icalendar library and checked field by field."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from icalendar import Calendar

from engage.accounts.models import User
from engage.core import clock
from engage.core.permissions import Role
from engage.events import services
from engage.extensions import db
from tests.factories import make_member, make_staff, sign_in
from tests.factories_events import book, make_event


def _events(body: bytes) -> list:
    calendar = Calendar.from_ical(body)
    return [c for c in calendar.walk("VEVENT")]


def _feed(app, token: str) -> tuple[Calendar, list]:
    response = app.test_client().get(f"/events/feed/{token}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data), _events(response.data)


def _change_details(event, start: datetime) -> services.EventDetails:
    return services.EventDetails(
        title=event.title, kind=event.kind, panel_id=event.panel_id, starts_at=start,
        ends_at=start + timedelta(hours=2), venue=event.venue, capacity=event.capacity)


def test_single_event_download_has_stable_uid_london_times_and_no_personal_data(
        app, browser_like):
    person = make_member(discreet_mode=False, display_name="River Private")
    start = services.london_moment(date(2027, 6, 10), time(18, 30))
    event = make_event(title="Summer panel meeting", starts_at=start)
    book(person, event, access_needs="Needs a hearing loop")
    db.session.commit()
    sign_in(browser_like, person)
    response = browser_like.get(f"/events/{event.id}.ics")
    assert "attachment" in response.headers["Content-Disposition"]
    calendar = Calendar.from_ical(response.data)
    [item] = _events(response.data)
    assert str(item["UID"]) == f"event-{event.id}@localhost"
    assert str(item["SUMMARY"]) == "Summer panel meeting"
    assert str(item["STATUS"]) == "CONFIRMED"
    assert int(item["SEQUENCE"]) == 0
    dtstart = item.decoded("DTSTART")
    assert (dtstart.hour, dtstart.minute) == (18, 30)
    assert str(item["DTSTART"].params["TZID"]) == "Europe/London"
    assert dtstart.astimezone(UTC) == start  # 17:30 UTC in summer time
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    text = response.data.decode()
    for private in ("River Private", "hearing loop", "meet.example.org"):
        assert private not in text
    # The same UID every time it is downloaded.
    again = _events(browser_like.get(f"/events/{event.id}.ics").data)[0]
    assert again["UID"] == item["UID"]


def test_discreet_mode_gives_a_neutral_title_and_no_place(app):
    person = make_member()  # discreet by default
    event = make_event(title="Survivors panel meeting")
    book(person, event)
    token = services.renew_feed(person)
    db.session.commit()
    _, [item] = _feed(app, token)
    assert str(item["SUMMARY"]) == "Appointment"
    assert "LOCATION" not in item
    assert "Survivors" not in str(item.get("DESCRIPTION", ""))


def test_change_and_cancellation_across_the_october_clock_change(app):
    """Saturday 30 October 2027 is summer time; Sunday 31 October the clocks go back."""
    person = make_member(discreet_mode=False)
    organiser = make_staff(Role.PROGRAMME_LEAD)
    with clock.frozen(datetime(2027, 10, 1, 12, tzinfo=UTC)):
        start = services.london_moment(date(2027, 10, 30), time(18, 0))
        [event] = services.create_event(organiser, services.EventDetails(
            title="Autumn review", kind="panel_meeting", panel_id=None, starts_at=start,
            ends_at=start + timedelta(hours=2), venue="Room 1", capacity=5))
        book(person, event)
        token = services.renew_feed(person)
        db.session.commit()
        _, [before] = _feed(app, token)
        assert before.decoded("DTSTART").astimezone(UTC) == datetime(2027, 10, 30, 17,
                                                                     tzinfo=UTC)
        first_sequence = int(before["SEQUENCE"])

        moved = services.london_moment(date(2027, 10, 31), time(18, 0))
        services.update_event(db.session.get(User, organiser.id), event,
                              _change_details(event, moved))
        db.session.commit()
        _, [changed] = _feed(app, token)
        assert changed["UID"] == before["UID"]
        assert int(changed["SEQUENCE"]) > first_sequence
        local = changed.decoded("DTSTART")
        assert (local.day, local.hour) == (31, 18)
        assert local.astimezone(UTC) == datetime(2027, 10, 31, 18, tzinfo=UTC)  # GMT now
        assert str(changed["STATUS"]) == "CONFIRMED"

        services.cancel_event(db.session.get(User, organiser.id), event)
        db.session.commit()
        _, [cancelled] = _feed(app, token)
        assert str(cancelled["STATUS"]) == "CANCELLED"
        assert int(cancelled["SEQUENCE"]) > int(changed["SEQUENCE"])
        assert cancelled["UID"] == before["UID"]


def test_change_across_the_march_clock_change_and_member_cancelling(app):
    """Sunday 28 March 2027 the clocks go forward."""
    person = make_member(discreet_mode=False)
    organiser = make_staff(Role.PROGRAMME_LEAD)
    with clock.frozen(datetime(2027, 3, 1, 12, tzinfo=UTC)):
        start = services.london_moment(date(2027, 3, 27), time(10, 0))
        [event] = services.create_event(organiser, services.EventDetails(
            title="Spring review", kind="workshop", panel_id=None, starts_at=start,
            ends_at=start + timedelta(hours=2), venue="Room 1", capacity=5))
        booking = book(person, event)
        token = services.renew_feed(person)
        services.update_event(organiser, event, _change_details(
            event, services.london_moment(date(2027, 3, 28), time(10, 0))))
        db.session.commit()
        _, [changed] = _feed(app, token)
        assert changed.decoded("DTSTART").astimezone(UTC) == datetime(2027, 3, 28, 9,
                                                                      tzinfo=UTC)
        services.cancel_booking(person, booking)
        db.session.commit()
        _, [gone] = _feed(app, token)
        assert str(gone["STATUS"]) == "CANCELLED"
        assert int(gone["SEQUENCE"]) > int(changed["SEQUENCE"])


def test_feed_lists_only_the_members_own_booked_events(app):
    person, other = make_member(), make_member()
    mine = make_event(title="Mine")
    theirs = make_event(title="Theirs")
    waiting_full = make_event(title="Waiting", capacity=1)
    book(person, mine)
    book(other, theirs)
    book(other, waiting_full)
    book(person, waiting_full)  # waiting list only: not in the calendar
    token = services.renew_feed(person)
    db.session.commit()
    _, items = _feed(app, token)
    assert [str(i["UID"]) for i in items] == [f"event-{mine.id}@localhost"]
