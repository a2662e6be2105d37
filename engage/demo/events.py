"""Demo events for `make run`: meetings to book, a full event with a waiting list, and a past
meeting whose register the facilitator can finalise. Safe to run twice."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from engage.core import clock
from engage.demo.panels import OPEN_NETWORK, SURVIVOR_PANEL
from engage.events.models import Booking, BookingStatus, Event, EventOrganiser
from engage.extensions import db
from engage.panels.models import Panel

VENUE = "The Meeting Room, Riverside Community Centre, 12 Mill Lane"
ACCESS = ("Step-free entrance and lift. Accessible toilet on the same floor. A quiet room is "
          "available throughout. Hot drinks provided.")


def _panel(name: str) -> Panel | None:
    return db.session.scalar(select(Panel).where(Panel.name == name))


def _at(days: int, hour: int) -> datetime:
    day = clock.today_london() + timedelta(days=days)
    return clock.from_london(datetime.combine(day, time(hour, 0)))


def _event(title: str, organiser, **fields) -> tuple[Event, bool]:
    event = db.session.scalar(select(Event).where(Event.title == title))
    if event is not None:
        return event, False
    event = Event(title=title, created_by_id=organiser.id, **fields)
    event.organisers.append(EventOrganiser(user_id=organiser.id))
    db.session.add(event)
    db.session.flush()
    return event, True


def _confirmed(event: Event, user, **fields) -> None:
    db.session.add(Booking(event_id=event.id, user_id=user.id, status=BookingStatus.CONFIRMED,
                           requested_at=event.created_at, confirmed_at=event.created_at,
                           **fields))
    event.confirmed_count += 1


def seed(people: dict) -> list[str]:
    facilitator = people["demo-facilitator"]
    member = people["demo-member"]
    member2 = people["demo-member2"]
    survivor = _panel(SURVIVOR_PANEL)
    network = _panel(OPEN_NETWORK)
    lines = []

    if survivor is not None:
        event, created = _event(
            "Survivors' Voice Panel: monthly meeting", facilitator, panel_id=survivor.id,
            kind="panel_meeting", starts_at=_at(12, 18), ends_at=_at(12, 20), mode="both",
            venue=VENUE, venue_accessibility=ACCESS,
            join_link="https://meet.example.org/survivors-voice", capacity=12,
            involvement_level=survivor.involvement_level, prep_paid=True, prep_minutes=30,
            description="We will look at the draft plan for the new counselling service and "
                        "what it should feel like to use it.",
            content_note="We will talk about how services respond when people first tell "
                         "someone about sexual violence.")
        if created:
            _confirmed(event, member2, join_mode="online")
            lines.append(f"  Event: {event.title} (survivor panel, in 12 days)")

    if network is not None:
        event, created = _event(
            "Open Voices Network: meet-up", facilitator, panel_id=network.id,
            kind="network_event", starts_at=_at(6, 14), ends_at=_at(6, 16), mode="in_person",
            venue=VENUE, venue_accessibility=ACCESS, capacity=15,
            involvement_level=network.involvement_level,
            description="An informal afternoon to hear what is coming up and share ideas.")
        if created:
            lines.append(f"  Event: {event.title} (in 6 days; demo-member can book it)")

        past, created = _event(
            "Open Voices Network: last month's meet-up", facilitator, panel_id=network.id,
            kind="network_event", starts_at=_at(-3, 14), ends_at=_at(-3, 16),
            mode="in_person", venue=VENUE, capacity=15,
            involvement_level=network.involvement_level)
        if created:
            # demo-member asked for help with costs: finance records it (payments)
            _confirmed(past, member, needs_advance=True, needs_travel_booked=True)
            _confirmed(past, member2)
            lines.append(f"  Event: {past.title} (3 days ago; demo-facilitator can finalise "
                         "the register)")

    full, created = _event(
        "Writing in our own words: creative workshop", facilitator, panel_id=None,
        kind="workshop", starts_at=_at(9, 11), ends_at=_at(9, 13), mode="online",
        join_link="https://meet.example.org/writing-workshop", capacity=1, offer_hours=24,
        involvement_level=2,
        description="A small, gentle workshop. You never have to share what you write.")
    if created:
        _confirmed(full, member2)
        lines.append(f"  Event: {full.title} (full; demo-member joins the waiting list and is "
                     "offered the place when demo-member2 cancels)")
    db.session.flush()
    return lines
