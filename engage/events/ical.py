"""iCalendar (RFC 5545) output for single events and members' private feeds.

Nothing personal or sensitive goes in: no names, no access needs, no join links. In discreet mode
the title is neutral and the place and description are left out, so a calendar glimpsed by
someone else gives nothing away.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar
from icalendar import Event as VEvent

from engage.core import clock
from engage.events.models import Booking, BookingStatus, Event

DISCREET_SUMMARY = "Appointment"


def event_uid(event: Event) -> str:
    host = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "engage.invalid"
    return f"event-{event.id}@{host}"


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//Engage//Events//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    return cal


def _vevent(event: Event, *, discreet: bool, sequence: int, cancelled: bool) -> VEvent:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    item = VEvent()
    item.add("uid", event_uid(event))
    item.add("dtstamp", clock.now())
    item.add("last-modified", event.updated_at)
    # Wall-clock times in Europe/London (with a VTIMEZONE), so calendar apps keep the meeting at
    # the right local time across clock changes.
    sessions = event.sessions
    if event.runs_each_day:
        # The same hours each day: the first day, repeated daily (a rule in London time keeps
        # 10:00 at 10:00 on both sides of a clock change).
        item.add("dtstart", clock.to_london(sessions[0].starts_at))
        item.add("dtend", clock.to_london(sessions[0].ends_at))
        item.add("rrule", {"freq": "daily", "count": len(sessions)})
    else:
        item.add("dtstart", clock.to_london(event.starts_at))
        item.add("dtend", clock.to_london(event.ends_at))
    item.add("sequence", sequence)
    item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    item.add("transp", "OPAQUE")
    item.add("class", "PRIVATE")
    if discreet:
        item.add("summary", DISCREET_SUMMARY)
        item.add("description", f"Details: {base}/events/{event.id}")
    else:
        item.add("summary", event.title)
        item.add("description", f"{event.kind_label}. Details: {base}/events/{event.id}")
        if event.venue:
            item.add("location", event.venue)
    item.add("url", f"{base}/events/{event.id}")
    return item


def single_event(event: Event, *, discreet: bool) -> bytes:
    cal = _calendar("Event")
    cal.add_component(_vevent(event, discreet=discreet, sequence=event.sequence,
                              cancelled=event.is_cancelled))
    cal.add_missing_timezones()
    return cal.to_ical()


def feed(bookings: Iterable[Booking], *, discreet: bool) -> bytes:
    cal = _calendar("Appointments" if discreet else "My events")
    cal.add("refresh-interval;value=duration", "PT1H")
    for booking in bookings:
        event = booking.event
        cancelled = event.is_cancelled or booking.status == BookingStatus.CANCELLED
        # Both counters only go up, so their sum does too: a calendar app applies every change.
        cal.add_component(_vevent(event, discreet=discreet,
                                  sequence=event.sequence + booking.sequence,
                                  cancelled=cancelled))
    cal.add_missing_timezones()
    return cal.to_ical()
