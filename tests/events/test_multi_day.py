"""Events over several days, in London time and across clock changes: the form, the lists and
month view, calendar files, reminders, the register and the payments worked out from it.

Sunday 31 October 2027 the clocks go back an hour (02:00 BST becomes 01:00 GMT)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from engage.core import clock
from engage.core.models import Notification
from engage.core.permissions import Role
from engage.errors import ValidationFailed
from engage.events import services, tasks
from engage.events.models import AttendanceRecord, Event
from engage.extensions import db
from engage.payments.models import Claim
from engage.payments.policy import seed_policies
from tests.factories import make_member, make_staff, sign_in
from tests.factories_events import book, make_panel

BEFORE = datetime(2027, 10, 1, 12, tzinfo=UTC)


def _course(organiser, *, first=date(2027, 10, 29), last=date(2027, 11, 1),
            start=time(10, 0), end=time(16, 0), runs_daily=True, panel=None, **fields):
    [event] = services.create_event(organiser, services.EventDetails(
        title=fields.pop("title", "Four-day course"), kind="training",
        panel_id=panel.id if panel else None,
        starts_at=services.london_moment(first, start), ends_at=services.london_moment(last, end),
        venue="Room 1", capacity=10, runs_daily=runs_daily, **fields))
    return event


def test_an_event_over_several_days_keeps_its_hours_each_day_across_the_clock_change(app):
    organiser = make_staff(Role.PROGRAMME_LEAD)
    with clock.frozen(BEFORE):
        event = _course(organiser)
    sessions = event.sessions
    assert [s.day for s in sessions] == [date(2027, 10, 29), date(2027, 10, 30),
                                         date(2027, 10, 31), date(2027, 11, 1)]
    assert [clock.to_london(s.starts_at).hour for s in sessions] == [10, 10, 10, 10]
    assert [s.starts_at.astimezone(UTC).hour for s in sessions] == [9, 9, 10, 10]
    assert [s.minutes for s in sessions] == [360] * 4
    assert event.is_multi_day and event.duration_minutes == 4 * 360
    assert services.when_text(event.starts_at, event.ends_at, True) == (
        "Friday 29 October 2027 to Monday 1 November 2027, 10:00 to 16:00 each day")


def test_an_event_without_a_break_counts_the_extra_hour_when_the_clocks_go_back(app):
    organiser = make_staff(Role.PROGRAMME_LEAD)
    with clock.frozen(BEFORE):
        event = _course(organiser, first=date(2027, 10, 29), last=date(2027, 10, 31),
                        start=time(18, 0), end=time(14, 0), runs_daily=False,
                        title="Residential weekend")
    assert [(s.day, s.minutes) for s in event.sessions] == [
        (date(2027, 10, 29), 6 * 60), (date(2027, 10, 30), 24 * 60),
        (date(2027, 10, 31), 15 * 60)]
    assert event.duration_minutes == 45 * 60
    assert services.when_text(event.starts_at, event.ends_at, False) == (
        "18:00 on Friday 29 October 2027 to 14:00 on Sunday 31 October 2027")


@pytest.mark.parametrize(("changes", "message"), [
    ({"start": time(16, 0), "end": time(10, 0)}, "must end each day after it starts"),
    ({"last": date(2027, 11, 20)}, "14 days at most"),
    ({"first": date(2027, 3, 27), "last": date(2027, 3, 29), "start": time(1, 30),
      "end": time(3, 0)}, "clocks go forward"),
])
def test_bad_days_are_refused_with_what_to_do(app, changes, message):
    organiser = make_staff(Role.PROGRAMME_LEAD)
    with clock.frozen(datetime(2027, 1, 5, tzinfo=UTC)), pytest.raises(ValidationFailed) as error:
        _course(organiser, **changes)
    assert message in error.value.message


def test_setting_up_an_event_over_several_days_through_the_form(app, browser_like):
    lead = make_staff(Role.PROGRAMME_LEAD)
    db.session.commit()
    with clock.frozen(BEFORE):
        assert sign_in(browser_like, lead).status_code == 302
        response = browser_like.post("/events/new", {
            "title": "Facilitation course", "kind": "training", "panel_id": "",
            "day": "2027-10-29", "start_time": "10:00", "end_time": "16:00",
            "last_date": "2027-11-01", "runs": "daily", "mode": "in_person", "venue": "Room 1",
            "join_opens_minutes": "30", "capacity": "8", "offer_hours": "24",
            "involvement_level": "", "repeat": ""}, form_url="/events/new")
        assert response.status_code == 302, response.get_data(as_text=True)
        event = db.session.scalar(select(Event))
        assert event.is_multi_day and event.runs_daily and len(event.sessions) == 4
        page = browser_like.get(f"/events/{event.id}").get_data(as_text=True)
        assert "Friday 29 October 2027 to Monday 1 November 2027, 10:00 to 16:00 each day" in page
        listing = browser_like.get("/events/").get_data(as_text=True)
        assert "10:00 to 16:00 each day" in listing
        month = browser_like.get("/events/calendar?month=2027-10").get_data(as_text=True)
        assert month.count("Facilitation course") == 3  # 29, 30 and 31 October
        assert "day 3 of 4" in month
        november = browser_like.get("/events/calendar?month=2027-11").get_data(as_text=True)
        assert "day 4 of 4" in november
        edit = browser_like.get(f"/events/{event.id}/edit").get_data(as_text=True)
        assert 'value="2027-11-01"' in edit


def test_calendar_file_repeats_the_day_in_london_time(app, browser_like):
    organiser = make_staff(Role.PROGRAMME_LEAD)
    person = make_member(discreet_mode=False)
    with clock.frozen(BEFORE):
        course = _course(organiser)
        weekend = _course(organiser, first=date(2027, 10, 30), last=date(2027, 10, 31),
                          start=time(18, 0), end=time(14, 0), runs_daily=False)
        db.session.commit()
        sign_in(browser_like, person)
        [daily] = Calendar.from_ical(browser_like.get(f"/events/{course.id}.ics").data
                                     ).walk("VEVENT")
        [continuous] = Calendar.from_ical(browser_like.get(f"/events/{weekend.id}.ics").data
                                          ).walk("VEVENT")
    assert daily.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 10, 29, 10)
    assert daily.decoded("DTEND").replace(tzinfo=None) == datetime(2027, 10, 29, 16)
    assert str(daily["DTSTART"].params["TZID"]) == "Europe/London"
    assert daily["RRULE"]["FREQ"] == ["DAILY"] and daily["RRULE"]["COUNT"] == [4]
    assert "RRULE" not in continuous
    assert continuous.decoded("DTEND").astimezone(UTC) == datetime(2027, 10, 31, 14,
                                                                   tzinfo=UTC)


def test_reminders_say_every_day_of_the_event(app):
    organiser = make_staff(Role.PROGRAMME_LEAD)
    person = make_member()
    with clock.frozen(BEFORE):
        event = _course(organiser)
        book(person, event)
        db.session.commit()
    with clock.frozen(event.starts_at - timedelta(hours=40)):
        assert tasks.send_due_reminders("w1") == 1
    reminder = db.session.scalar(select(Notification).where(
        Notification.title.like("Reminder:%")))
    assert "Friday 29 October 2027 to Monday 1 November 2027, 10:00 to 16:00 each day" in (
        reminder.body)


def test_register_and_claims_count_each_day_of_a_course(app, browser_like):
    seed_policies()
    lead = make_staff(Role.FACILITATOR)
    everyday, two_days = make_member(display_name="Ada"), make_member(display_name="Bea")
    panel = make_panel(facilitators=[lead], members=[everyday, two_days], involvement_level=4)
    with clock.frozen(BEFORE):
        event = _course(lead, panel=panel, first=date(2027, 10, 29), last=date(2027, 10, 31))
        book(everyday, event)
        book(two_days, event)
        db.session.commit()
    with clock.frozen(datetime(2027, 11, 2, 9, tzinfo=UTC)):
        assert sign_in(browser_like, lead).status_code == 302
        page = browser_like.get(f"/events/{event.id}/register").get_data(as_text=True)
        assert f'name="minutes-{two_days.id}-2027-10-31"' in page
        bad = browser_like.post(f"/events/{event.id}/register", {
            f"status-{everyday.id}": "attended", f"status-{two_days.id}": "attended_part",
            f"minutes-{two_days.id}-2027-10-29": "400"})
        assert bad.status_code == 400
        assert "ran for 360 minutes" in bad.get_data(as_text=True)
        saved = browser_like.post(f"/events/{event.id}/register", {
            f"status-{everyday.id}": "attended", f"status-{two_days.id}": "attended_part",
            f"minutes-{two_days.id}-2027-10-29": "360",
            f"minutes-{two_days.id}-2027-10-31": "120"})
        assert saved.status_code == 302
        records = {r.user_id: r for r in db.session.scalars(select(AttendanceRecord))}
        assert records[everyday.id].minutes_attended == 3 * 360
        assert records[two_days.id].day_minutes == {"2027-10-29": 360, "2027-10-30": 0,
                                                    "2027-10-31": 120}
        assert records[two_days.id].minutes_attended == 480
        browser_like.post(f"/events/{event.id}/register/finalise",
                          form_url=f"/events/{event.id}/register/finalise")
    claims = {c.user_id: c for c in db.session.scalars(select(Claim))}
    assert claims[everyday.id].day_minutes == [360, 360, 360]
    assert claims[everyday.id].involvement_pence == 3 * 15000  # three full days
    assert claims[two_days.id].involvement_pence == 15000 + 7500  # a full day and a half day
    assert "day 3: 2 h attended → half day £75.00" in " ".join(claims[two_days.id].explanation)


@pytest.mark.parametrize("runs_daily", [False, True])
def test_an_evening_that_goes_past_midnight_is_one_sitting(app, runs_daily):
    organiser = make_staff(Role.PROGRAMME_LEAD)
    with clock.frozen(BEFORE):
        event = _course(organiser, first=date(2027, 10, 29), last=date(2027, 10, 30),
                        start=time(21, 0), end=time(1, 0), runs_daily=runs_daily,
                        title="Late support session")
    assert not event.is_multi_day and event.duration_minutes == 240
    assert [s.day for s in event.sessions] == [date(2027, 10, 29)]
    assert services.when_text(event.starts_at, event.ends_at, False) == (
        "21:00 on Friday 29 October 2027 to 01:00 on Saturday 30 October 2027")
