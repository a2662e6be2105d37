"""Factories for panels and events used by the events tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from engage.core import clock
from engage.core.permissions import Role
from engage.events import services
from engage.events.models import Booking, BookingStatus, Event, EventOrganiser
from engage.extensions import db
from engage.panels.models import Panel
from tests.factories import make_member, make_staff
from tests.factories_panels import make_membership
from tests.factories_panels import make_panel as make_panel_only

_counter = itertools.count(1)


def make_panel(*, facilitators=(), members=(), involvement_level: int = 3) -> Panel:
    """A panel (tests/factories_panels.py) with active members."""
    panel = make_panel_only(facilitators=facilitators, involvement_level=involvement_level)
    for person in members:
        make_membership(panel, person)
    return panel


def make_event(*, organiser=None, panel: Panel | None = None, starts_in=timedelta(days=7),
               length=timedelta(hours=2), capacity: int = 10, mode: str = "in_person",
               title: str | None = None, starts_at: datetime | None = None,
               join_link: str | None = None, kind: str = "panel_meeting", **fields) -> Event:
    """An event created directly (so past events can be made too)."""
    organiser = organiser or make_staff(Role.FACILITATOR)
    start = starts_at or clock.now() + starts_in
    event = Event(title=title or f"Event {next(_counter)}", kind=kind,
                  panel_id=panel.id if panel else None, starts_at=start, ends_at=start + length,
                  mode=mode, venue="Room 2, Community Centre" if mode != "online" else "",
                  join_link=join_link or ("https://meet.example.org/abc"
                                          if mode != "in_person" else None),
                  capacity=capacity, involvement_level=panel.involvement_level if panel else 2,
                  created_by_id=organiser.id, **fields)
    event.organisers.append(EventOrganiser(user_id=organiser.id))
    db.session.add(event)
    db.session.flush()
    return event


def book(user, event: Event, **details) -> Booking:
    return services.book_event(user, event, services.BookingDetails(**details))


def confirmed_booking(user, event: Event) -> Booking:
    booking = book(user, event)
    assert booking.status == BookingStatus.CONFIRMED
    return booking


def members(n: int, **kwargs) -> list:
    return [make_member(**kwargs) for _ in range(n)]
