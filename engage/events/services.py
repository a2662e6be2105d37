"""Event use cases. Services add and flush; the view or task commits once."""

from __future__ import annotations

import calendar as _calendar
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import NamedTuple

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import (
    String,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased, joinedload, lazyload

from engage.accounts.models import User, UserRole
from engage.core import audit, clock, wiring
from engage.core.crypto import keyed_hash
from engage.core.notify import Message, notify
from engage.core.permissions import Permission, Role, can
from engage.core.unit_of_work import atomic
from engage.db import one_of, plain_columns, plain_rows, rows_as_text
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.events.models import (
    ACTIVE_BOOKING,
    MAX_EVENT_DAYS,
    PLACE_HOLDING,
    AttendanceCorrection,
    AttendanceRecord,
    AttendanceStatus,
    Booking,
    BookingStatus,
    CalendarFeed,
    EndedReason,
    Event,
    EventKind,
    EventMode,
    EventOrganiser,
    EventSeries,
    EventStatus,
    Register,
    event_sessions,
    last_day_of,
    runs_each_day,
)
from engage.events.signals import (
    attendance_corrected,
    booking_cancelled,
    event_cancelled,
    register_finalised,
)
from engage.extensions import db
from engage.panels.models import PLACE_HOLDING_STATES, Panel, PanelMembership, PanelStaff

MAX_SERIES_EVENTS = 60
FEED_TOKEN_PURPOSE = "calendar-feed"  # noqa: S105 - a hash purpose, not a secret


def event_path(event_id: int) -> str:
    """The event page's path (also used by the worker, which has no request to build URLs)."""
    return f"/events/{event_id}"


def insert_if_absent(model, **values) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: True when the row was added. Used instead of a
    SAVEPOINT, which on SQLite (pysqlite) can commit on its own when it opens the transaction."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(model.id)
    return db.session.execute(statement).scalar() is not None


# --- who may do what ----------------------------------------------------------------------------


def is_signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def can_create_events(user) -> bool:
    return can(user, Permission.MANAGE_EVENTS)


def can_manage_event(user, event: Event) -> bool:
    """Programme leads run every event; facilitators run events they organise (including those
    of the panels they facilitate)."""
    if not can(user, Permission.MANAGE_EVENTS):
        return False
    return user.has_role(Role.PROGRAMME_LEAD) or user.id in event.organiser_ids()


def is_organiser(user, event: Event) -> bool:
    """Access and support needs are shown to the event's own organisers and nobody else."""
    return can(user, Permission.MANAGE_EVENTS) and user.id in event.organiser_ids()


def can_see_event(user, event: Event) -> bool:
    if not is_signed_in(user):
        return False
    if event.panel is None:
        return True
    return event.panel.is_member(user) or can_manage_event(user, event)


def can_book(user, event: Event) -> bool:
    """Open events: every member. Panel events: the panel's members (a break does not stop it)."""
    if not is_signed_in(user) or not user.has_role(Role.MEMBER):
        return False
    return event.panel is None or event.panel.is_member(user)


def get_event(event_id: int, user) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not can_see_event(user, event):
        raise NotFound()
    return event


def get_managed_event(event_id: int, user) -> Event:
    event = get_event(event_id, user)
    if not can_manage_event(user, event):
        raise NotAllowed()
    return event


def panels_for_events(user) -> list[Panel]:
    """Panels a person may create events for."""
    if not can(user, Permission.MANAGE_EVENTS):
        return []
    query = select(Panel).order_by(Panel.name)
    if not user.has_role(Role.PROGRAMME_LEAD):
        query = query.join(PanelStaff).where(PanelStaff.user_id == user.id)
    return list(db.session.scalars(query))


# The events list's statements, built once per shape and reused with the person's id and the
# time as parameters: building them afresh took as long as running them.
USER_ID = bindparam("user_id")


def _sees_everything(user) -> bool:
    return can(user, Permission.MANAGE_EVENTS) and user.has_role(Role.PROGRAMME_LEAD)


def _holds_place_in(person=USER_ID):
    return select(PanelMembership.panel_id).where(
        PanelMembership.user_id == person, one_of(PanelMembership.state, PLACE_HOLDING_STATES))


def _staffs():
    return select(PanelStaff.panel_id).where(PanelStaff.user_id == USER_ID)


@cache
def _filter_choices_query(everything: bool, manages: bool):
    query = select(Panel.id, Panel.name)
    if everything:
        return query
    clauses = [Panel.id.in_(_holds_place_in())]
    if manages:
        clauses.append(Panel.id.in_(_staffs()))
    return query.where(or_(*clauses))


class PanelChoice(NamedTuple):
    id: int
    name: str


# The panels someone with no staff role may narrow the events list to, read with the person
# (wiring.read_with_person, registered in events/__init__.py) as one text column: each panel as
# "<id>:<length of its name>:<name>", run together, so any name comes back whole.
MEMBER_FILTER_CHOICES = "event_filter_choices"
_NOT_READ = object()


def member_filter_choices_column():
    entry = (cast(Panel.id, String) + ":" + cast(func.length(Panel.name), String) + ":"
             + Panel.name)
    return (select(func.aggregate_strings(entry, literal_column("''")))
            .where(Panel.id.in_(_holds_place_in(User.id)))
            .correlate(User).scalar_subquery())


def _parsed_choices(text: str | None) -> list[tuple[int, str]]:
    found, at = [], 0
    while text and at < len(text):
        id_end = text.index(":", at)
        size_end = text.index(":", id_end + 1)
        start = size_end + 1
        end = start + int(text[id_end + 1:size_end])
        found.append((int(text[at:id_end]), text[start:end]))
        at = end
    return found


def _filter_choices_read(user_id: int, everything: bool, manages: bool) -> tuple:
    """The panels a person can narrow the events list to (id and name): those they may create
    events for and those they hold a place on."""
    return _filter_choices_query(everything, manages), {"user_id": user_id}


def _visible_clause(everything: bool, manages: bool):
    """A WHERE clause for the events a person may see, with their id as `user_id`."""
    if everything:
        return Event.id.is_not(None)
    clauses = [Event.panel_id.is_(None), Event.panel_id.in_(_holds_place_in())]
    if manages:
        clauses.append(Event.panel_id.in_(_staffs()))
        clauses.append(Event.id.in_(select(EventOrganiser.event_id)
                                    .where(EventOrganiser.user_id == USER_ID)))
    return or_(*clauses)


@dataclass
class EventFilters:
    kind: str = ""
    panel_id: int | None = None
    mode: str = ""
    booked_only: bool = False


def _upcoming_where(everything: bool, manages: bool, kind: bool, panel: bool, mode: bool,
                    booked_only: bool) -> list:
    """The events list's WHERE clauses, with the person's id, `now` and the filters as
    parameters."""
    clauses = [_visible_clause(everything, manages), Event.ends_at > bindparam("now")]
    if kind:
        clauses.append(Event.kind == bindparam("kind"))
    if panel:
        clauses.append(Event.panel_id == bindparam("panel_id"))
    if mode:
        clauses.append(Event.mode.in_([bindparam("mode"), EventMode.BOTH]))
    if booked_only:
        clauses.append(Event.id.in_(select(Booking.event_id).where(
            Booking.user_id == USER_ID, one_of(Booking.status, ACTIVE_BOOKING))))
    return clauses


@cache
def _upcoming_query(*shape, limit: int):
    # A list shows each event's panel by name: nothing else is joined or loaded unless
    # something asks for it.
    return (select(Event).where(*_upcoming_where(*shape))
            .options(lazyload("*"), joinedload(Event.panel).lazyload("*"))
            .order_by(Event.starts_at, Event.id).limit(limit))


@cache
def _listed_rows_query(*shape, limit: int):
    """Everything an events list can show, as plain values: every plain column of the event
    (not the encrypted join link), its panel's name and the person's own booking status."""
    own = aliased(Booking)
    return (select(*plain_columns(Event), Panel.name, own.status)
            .outerjoin(Panel, Panel.id == Event.panel_id)
            .outerjoin(own, _own_booking(own))
            .where(*_upcoming_where(*shape)).order_by(Event.starts_at, Event.id).limit(limit))


@cache
def _listed_text_query(*shape, limit: int):
    return rows_as_text(_listed_rows_query(*shape, limit=limit))


def _listed_read(user_id: int, roles_shape: tuple, filters: EventFilters, limit: int) -> tuple:
    """What the events list shows this person, as one text value (engage.db.rows_as_text;
    no objects are built): the list is kept once drawn (events/views.py), and this is its
    key. One row, so it can be read within the person's own query."""
    return (_listed_text_query(*roles_shape, *_filters_shape(filters), limit=limit),
            _params(user_id, filters))


LISTED = 100  # events on the list


MEMBER_SHAPE = (False, False)  # holds no staff role: most people


def listing_reads(user_id: int, wanted: EventFilters, roles_shape: tuple = MEMBER_SHAPE,
                  limit: int = LISTED) -> list[tuple]:
    """The events list's own read (what it shows, as text: _listed_read), by default for
    someone who holds no staff role. The list's page has it read within the person's own query
    (views.index_reads), with their panel choices (MEMBER_FILTER_CHOICES); for staff both are
    read again with their roles (events_listing)."""
    return [_listed_read(user_id, roles_shape, wanted, limit)]


def events_listing(user, wanted: EventFilters, limit: int = LISTED) -> EventsListing:
    """The events list's panel choices, the filters that apply (a panel that is not among the
    choices is left out) and what the list shows, as text: what was read with the person when
    it is the same (wiring.read_with_the_person, wiring.rows_sent_with_person), otherwise read
    together now."""
    shape = _roles_shape(user)
    reads = listing_reads(user.id, wanted, shape, limit)
    read_early = (wiring.read_with_the_person(MEMBER_FILTER_CHOICES, lambda: _NOT_READ)
                  if shape == MEMBER_SHAPE else _NOT_READ)
    if read_early is _NOT_READ:
        choices, [(shown,)] = wiring.rows_sent_with_person(
            db.session, _filter_choices_read(user.id, *shape), *reads)
    else:
        choices, [[(shown,)]] = _parsed_choices(read_early), wiring.rows_sent_with_person(
            db.session, *reads)
    choices = sorted((PanelChoice(*row) for row in choices), key=lambda panel: panel.name)
    if wanted.panel_id is None or wanted.panel_id in {panel.id for panel in choices}:
        return EventsListing(choices, wanted, shown)
    applied = replace(wanted, panel_id=None)
    [[(shown,)]] = plain_rows(db.session, _listed_read(user.id, shape, applied, limit))
    return EventsListing(choices, applied, shown)


@dataclass(frozen=True)
class EventsListing:
    panel_choices: list[PanelChoice]  # by name
    filters: EventFilters
    shown: str | None  # every event listed, as text: the key of the kept list (_listed_read)


def upcoming_events(user, filters: EventFilters | None = None, limit: int = 100) -> list[Event]:
    filters = filters or EventFilters()
    return list(db.session.scalars(_upcoming_for(user, filters, limit),
                                   _upcoming_params(user, filters)))


def _shape(user, filters: EventFilters) -> tuple:
    return (*_roles_shape(user), *_filters_shape(filters))


def _roles_shape(user) -> tuple[bool, bool]:
    return _sees_everything(user), can(user, Permission.MANAGE_EVENTS)


def _filters_shape(filters: EventFilters) -> tuple:
    return bool(filters.kind), bool(filters.panel_id), bool(filters.mode), filters.booked_only


def _upcoming_for(user, filters: EventFilters, limit: int):
    return _upcoming_query(*_shape(user, filters), limit=limit)


def _upcoming_params(user, filters: EventFilters) -> dict:
    return _params(user.id, filters)


def _params(user_id: int, filters: EventFilters) -> dict:
    # `now` to the second, so reads sent with the person (views.index_reads) match the page's.
    return {"user_id": user_id, "now": clock.now().replace(microsecond=0), "kind": filters.kind,
            "panel_id": filters.panel_id, "mode": filters.mode}


def _own_booking(own):
    """The join to the person's current booking of each event (`own`, an alias of Booking)."""
    return ((own.event_id == Event.id) & (own.user_id == USER_ID)
            & one_of(own.status, ACTIVE_BOOKING))


@cache
def _with_own_booking(query):
    """The same list with the person's current booking of each event beside it (or None)."""
    own = aliased(Booking)
    return (query.add_columns(own).outerjoin(own, _own_booking(own))
            .options(lazyload(own.event), lazyload(own.user)))


def upcoming_with_bookings(user, filters: EventFilters,
                           limit: int = 100) -> tuple[list[Event], dict[int, Booking]]:
    """The events list and the person's current bookings of those events, in one query."""
    rows = db.session.execute(_with_own_booking(_upcoming_for(user, filters, limit)),
                              _upcoming_params(user, filters)).all()
    return ([event for event, _ in rows],
            {event.id: booking for event, booking in rows if booking is not None})


def events_between(user, start: datetime, end: datetime) -> list[Event]:
    return list(db.session.scalars(
        select(Event).where(_visible_clause(*_roles_shape(user)), Event.starts_at < end,
                            Event.ends_at > start)
        .order_by(Event.starts_at, Event.id), {"user_id": user.id}))


def month_grid(year: int, month: int) -> list[list[date | None]]:
    """Weeks of the month, Monday first; days outside the month are None."""
    return [[d if d.month == month else None for d in week]
            for week in _calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)]


def bookings_of(user) -> list[Booking]:
    return list(db.session.scalars(
        select(Booking).join(Event).where(Booking.user_id == user.id,
                                          Booking.status.in_(ACTIVE_BOOKING),
                                          Event.ends_at > clock.now())
        .order_by(Event.starts_at)
    ))


def booking_of(user, event: Event) -> Booking | None:
    if not is_signed_in(user):
        return None
    return db.session.scalar(select(Booking).where(Booking.event_id == event.id,
                                                   Booking.user_id == user.id))


def event_bookings(actor, event: Event) -> list[Booking]:
    if not can_manage_event(actor, event):
        raise NotAllowed()
    return list(db.session.scalars(
        select(Booking).join(User, Booking.user_id == User.id)
        .where(Booking.event_id == event.id)
        .order_by(Booking.status, Booking.requested_at, Booking.id)
    ))


def join_link_for(user, event: Event) -> str | None:
    """The join link goes only to people with a confirmed place, and only from a set time before
    the start until the end; organisers always see it."""
    if not event.join_link or not event.is_online or event.is_cancelled:
        return None
    if can_manage_event(user, event):
        return event.join_link
    booking = booking_of(user, event)
    if booking is None or booking.status != BookingStatus.CONFIRMED:
        return None
    now = clock.now()
    opens = event.starts_at - timedelta(minutes=event.join_opens_minutes)
    return event.join_link if opens <= now < event.ends_at else None


def join_link_opens_at(event: Event) -> datetime:
    return event.starts_at - timedelta(minutes=event.join_opens_minutes)


def _managed_filter(user):
    """A WHERE clause for the events this person runs (programme leads run every event)."""
    if user.has_role(Role.PROGRAMME_LEAD):
        return Event.id.is_not(None)
    return or_(Event.panel_id.in_(select(PanelStaff.panel_id)
                                  .where(PanelStaff.user_id == user.id)),
               Event.id.in_(select(EventOrganiser.event_id)
                            .where(EventOrganiser.user_id == user.id)))


def _registers_to_complete_query(user):
    finalised = select(Register.event_id).where(Register.finalised_at.is_not(None))
    return select(Event).where(_managed_filter(user), Event.ends_at <= clock.now(),
                               Event.status == EventStatus.SCHEDULED,
                               Event.id.not_in(finalised))


def registers_to_complete(user) -> list[Event]:
    """Events that have ended whose register is not finalised yet, oldest first."""
    if not can(user, Permission.MANAGE_EVENTS):
        return []
    return list(db.session.scalars(
        _registers_to_complete_query(user).order_by(Event.starts_at, Event.id)))


def count_registers_to_complete(user) -> int:
    """One query, for the events list."""
    if not can(user, Permission.MANAGE_EVENTS):
        return 0
    return db.session.scalar(select(func.count()).select_from(
        _registers_to_complete_query(user).subquery())) or 0


# --- creating and changing events ---------------------------------------------------------------


@dataclass
class EventDetails:
    title: str
    kind: str
    panel_id: int | None
    starts_at: datetime
    ends_at: datetime
    mode: str = EventMode.IN_PERSON
    description: str = ""
    content_note: str = ""
    venue: str = ""
    venue_accessibility: str = ""
    join_link: str = ""
    join_opens_minutes: int = 30
    capacity: int = 12
    offer_hours: int = 24
    involvement_level: int | None = None
    prep_paid: bool = False
    prep_minutes: int = 0
    repeat: str = ""
    repeat_until: date | None = None
    runs_daily: bool = True
    errors: dict[str, str] = field(default_factory=dict)


def london_moment(day: date, at: time) -> datetime:
    """A date and wall-clock time typed by a person in London, as UTC. A time that does not exist
    (the hour skipped when the clocks go forward) is refused rather than silently moved."""
    naive = datetime.combine(day, at)
    moment = clock.from_london(naive)
    if clock.to_london(moment).replace(tzinfo=None) != naive:
        raise ValidationFailed(
            "That time does not exist on that day because the clocks go forward. "
            "Choose a time before 1am or from 2am."
        )
    return moment


def _check_days(details: EventDetails) -> None:
    """An event over several days: a sensible number of days, and for one that runs each day,
    a day that ends after it starts (every day's times must exist in London)."""
    first = clock.to_london(details.starts_at).date()
    last = last_day_of(details.starts_at, details.ends_at)
    if last == first:
        return
    if (last - first).days + 1 > MAX_EVENT_DAYS:
        raise ValidationFailed(f"An event can run over {MAX_EVENT_DAYS} days at most. For "
                               "something longer, set up a repeating event instead.")
    if not details.runs_daily:
        return
    start_time = clock.to_london(details.starts_at).time().replace(tzinfo=None)
    end_time = clock.to_london(details.ends_at).time().replace(tzinfo=None)
    if end_time <= start_time and details.ends_at - details.starts_at < timedelta(days=1):
        return  # an evening that goes past midnight: one sitting
    if end_time <= start_time:
        raise ValidationFailed(
            "An event that runs each day must end each day after it starts: check the start "
            "and end times, or choose that it runs without a break.")
    for session in event_sessions(details.starts_at, details.ends_at, True):
        london_moment(session.day, start_time)
        london_moment(session.day, end_time)


def _check_details(actor, details: EventDetails, *, event: Event | None = None) -> Panel | None:
    if details.ends_at <= details.starts_at:
        raise ValidationFailed("The end time must be after the start time. Check the dates "
                               "and times.")
    if details.starts_at <= clock.now() and (event is None
                                             or details.starts_at != event.starts_at):
        raise ValidationFailed("The event must start in the future. Check the date and time.")
    _check_days(details)
    if details.mode in (EventMode.IN_PERSON, EventMode.BOTH) and not details.venue.strip():
        raise ValidationFailed("Enter where the event is, or choose online.")
    if details.mode in (EventMode.ONLINE, EventMode.BOTH) and not details.join_link.strip():
        raise ValidationFailed("Enter the join link for the online event, or choose in person.")
    if details.capacity < 1:
        raise ValidationFailed("Enter how many places there are, 1 or more.")
    if details.prep_paid and details.prep_minutes <= 0:
        raise ValidationFailed("Enter how many minutes of preparation are paid, or untick it.")
    panel = None
    if details.panel_id is not None:
        panel = db.session.get(Panel, details.panel_id)
        if panel is None or panel not in panels_for_events(actor):
            raise ValidationFailed("Choose a panel you run, or open the event to all members.")
    return panel


def _apply(event: Event, details: EventDetails, panel: Panel | None) -> None:
    event.title = details.title.strip()
    event.kind = EventKind(details.kind)
    event.panel_id = panel.id if panel else None
    event.description = details.description.strip()
    event.content_note = details.content_note.strip()
    event.starts_at = details.starts_at
    event.ends_at = details.ends_at
    event.runs_daily = details.runs_daily
    event.mode = EventMode(details.mode)
    event.venue = details.venue.strip() if details.mode != EventMode.ONLINE else ""
    event.venue_accessibility = details.venue_accessibility.strip()
    event.join_link = details.join_link.strip() or None
    event.join_opens_minutes = details.join_opens_minutes
    event.offer_hours = details.offer_hours
    level = details.involvement_level or (panel.involvement_level if panel else 2)
    event.involvement_level = level
    event.prep_paid = details.prep_paid
    event.prep_minutes = details.prep_minutes if details.prep_paid else 0


def _occurrences(details: EventDetails) -> list[tuple[datetime, datetime]]:
    """Start and end of each event in a series, keeping the London wall-clock time across clock
    changes (a 6pm meeting stays at 6pm in summer and winter)."""
    if not details.repeat:
        return [(details.starts_at, details.ends_at)]
    if details.repeat not in ("weekly", "fortnightly", "monthly"):
        raise ValidationFailed("Choose how often the event repeats.")
    first_start = clock.to_london(details.starts_at)
    first_end = clock.to_london(details.ends_at)
    until = details.repeat_until
    if until is None or until <= first_start.date():
        raise ValidationFailed("Enter the date the series ends, after the first event.")
    length = first_end.replace(tzinfo=None) - first_start.replace(tzinfo=None)
    start_time = first_start.time().replace(tzinfo=None)
    result = []
    n = 0
    while True:
        if details.repeat == "monthly":
            month_index = first_start.month - 1 + n
            year, month = first_start.year + month_index // 12, month_index % 12 + 1
            last_day = _calendar.monthrange(year, month)[1]
            day = date(year, month, min(first_start.day, last_day))
        else:
            step = 7 if details.repeat == "weekly" else 14
            day = first_start.date() + timedelta(days=step * n)
        if day > until:
            break
        local_start = datetime.combine(day, start_time)
        start = clock.from_london(local_start)
        end = clock.from_london(local_start + length)
        result.append((start, end))
        n += 1
        if len(result) > MAX_SERIES_EVENTS:
            raise ValidationFailed(f"A series can have up to {MAX_SERIES_EVENTS} events. "
                                   "Choose an earlier end date.")
    return result


@atomic
def create_event(actor, details: EventDetails) -> list[Event]:
    """Create one event, or every event of a repeating series. Returns them in date order."""
    if not can_create_events(actor):
        raise NotAllowed()
    panel = _check_details(actor, details)
    occurrences = _occurrences(details)
    series = None
    if len(occurrences) > 1 or details.repeat:
        series = EventSeries(frequency=details.repeat,
                             repeat_until=clock.from_london(datetime.combine(
                                 details.repeat_until, time(23, 59))),
                             created_by_id=actor.id)
        db.session.add(series)
        db.session.flush()
    events = []
    for start, end in occurrences:
        event = Event(created_by_id=actor.id, capacity=details.capacity,
                      series_id=series.id if series else None)
        _apply(event, details, panel)
        event.starts_at, event.ends_at = start, end
        event.organisers.append(EventOrganiser(user_id=actor.id))
        db.session.add(event)
        events.append(event)
    db.session.flush()
    for event in events:
        audit.record("event.created", actor_id=actor.id, subject_type="event",
                     subject_id=event.id, series_id=series.id if series else None)
    return events


@atomic
def update_event(actor, event: Event, details: EventDetails) -> list[str]:
    """Change one event. Returns what changed that people booked need to know about."""
    if not can_manage_event(actor, event):
        raise NotAllowed()
    if event.is_cancelled:
        raise InvalidState("This event has been cancelled, so it cannot be changed.")
    if event.has_ended:
        raise InvalidState("This event has already happened, so it cannot be changed.")
    panel = _check_details(actor, details, event=event)
    if details.capacity < event.confirmed_count:
        raise ValidationFailed(
            f"{event.confirmed_count} people already have a place, so the capacity cannot be "
            f"lower than {event.confirmed_count}. Cancel bookings first if you need to.")
    before = (event.starts_at, event.ends_at, event.mode, event.venue, event.join_link,
              event.runs_daily)
    _set_capacity(event, details.capacity)
    _apply(event, details, panel)
    changes = []
    if (before[0], before[1]) != (event.starts_at, event.ends_at) or (
            event.is_multi_day and before[5] != event.runs_daily):
        changes.append("time")
    if (before[2], before[3]) != (event.mode, event.venue):
        changes.append("place")
    if before[4] != event.join_link:
        changes.append("join link")
    event.sequence += 1
    if changes:
        event.last_change = " and ".join(changes)
        event.last_changed_at = clock.now()
    db.session.flush()
    audit.record("event.updated", actor_id=actor.id, subject_type="event", subject_id=event.id,
                 changed=changes)
    if changes:
        _tell_booked(event, "changed", changes)
    offer_free_places(event)
    return changes


def _set_capacity(event: Event, capacity: int) -> None:
    result = db.session.execute(
        update(Event).where(Event.id == event.id, Event.confirmed_count <= capacity)
        .values(capacity=capacity).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ValidationFailed("More people have a place than that capacity allows.")
    db.session.refresh(event, ["capacity", "confirmed_count"])


def cancel_event(actor, event: Event, reason: str = "", *,
                 cancellation_payable: bool = False) -> None:
    """Cancel the event and tell everyone booked. `cancellation_payable`: the organiser says
    people with a place are paid as if it had gone ahead (listeners decide what that means)."""
    if not can_manage_event(actor, event):
        raise NotAllowed()
    result = db.session.execute(
        update(Event).where(Event.id == event.id, Event.status == EventStatus.SCHEDULED)
        .values(status=EventStatus.CANCELLED, cancel_reason=reason.strip(),
                sequence=Event.sequence + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InvalidState("This event is already cancelled.")
    db.session.refresh(event)
    audit.record("event.cancelled", actor_id=actor.id, subject_type="event",
                 subject_id=event.id, payable=cancellation_payable)
    _tell_booked(event, "cancelled", [])
    booked = list(db.session.scalars(select(Booking.user_id).where(
        Booking.event_id == event.id, Booking.status == BookingStatus.CONFIRMED)))
    event_cancelled.send(event, booked_user_ids=booked,
                         cancellation_payable=cancellation_payable, actor=actor)


def _tell_booked(event: Event, what: str, changes: list[str]) -> None:
    people = db.session.scalars(select(Booking).where(Booking.event_id == event.id,
                                                      Booking.status.in_(ACTIVE_BOOKING)))
    link = event_path(event.id)
    when = _when(event)
    if what == "cancelled":
        title = f"Cancelled: {event.title}"
        body = (f"{event.title} on {when} has been cancelled. We are sorry for any "
                "inconvenience. You do not need to do anything.")
        if event.cancel_reason:
            body += f" The organisers said: {event.cancel_reason}"
    else:
        title = f"Changed: {event.title}"
        body = (f"The {' and '.join(changes)} of {event.title} changed. It is now on {when}"
                + (f" at {event.venue}" if event.venue else "") + ". Please check the details. "
                "If you can no longer come, you can cancel your place on the event page.")
    for booking in people:
        notify(booking.user, Message(title, body, link),
               dedupe_key=f"event:{event.id}:{what}:{event.sequence}:{booking.user_id}")


def _when(event: Event) -> str:
    return when_text(event.starts_at, event.ends_at, event.runs_daily)


def when_text(starts_at: datetime, ends_at: datetime, runs_daily: bool = True) -> str:
    """When an event is, in London time, for messages: one day, several days each at the
    same times, or several days without a break."""
    start = clock.to_london(starts_at)
    end = clock.to_london(ends_at)
    last = last_day_of(starts_at, ends_at)
    if last == start.date():
        return f"{start:%A %-d %B %Y}, {start:%H:%M} to {end:%H:%M}"
    if runs_each_day(starts_at, ends_at, runs_daily):
        return (f"{start:%A %-d %B %Y} to {last:%A %-d %B %Y}, {start:%H:%M} to {end:%H:%M} "
                "each day")
    return f"{start:%H:%M} on {start:%A %-d %B %Y} to {end:%H:%M} on {end:%A %-d %B %Y}"


# --- booking, cancelling and the waiting list ---------------------------------------------------


@dataclass
class BookingDetails:
    join_mode: str = EventMode.IN_PERSON
    access_needs: str = ""
    support_needs: str = ""
    needs_travel_booked: bool = False
    needs_advance: bool = False
    declines_payment: bool = False


def _take_place(event_id: int, booking_id: int) -> bool:
    """Claim one place if there is one and nobody else is waiting for it. The WHERE clause is
    checked by the database against the row as it is now, so simultaneous bookings cannot
    overfill."""
    nobody_waiting = ~exists().where(Booking.event_id == event_id, Booking.id != booking_id,
                                     Booking.status.in_((BookingStatus.WAITING,
                                                         BookingStatus.OFFERED)))
    result = db.session.execute(
        update(Event)
        .where(Event.id == event_id, Event.status == EventStatus.SCHEDULED,
               Event.confirmed_count < Event.capacity, nobody_waiting)
        .values(confirmed_count=Event.confirmed_count + 1)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def give_back_place(event_id: int) -> None:
    db.session.execute(
        update(Event).where(Event.id == event_id, Event.confirmed_count > 0)
        .values(confirmed_count=Event.confirmed_count - 1)
        .execution_options(synchronize_session=False))


def _check_bookable(user, event: Event) -> None:
    if not can_book(user, event):
        raise NotAllowed()
    if event.is_cancelled:
        raise InvalidState("This event has been cancelled, so it cannot be booked.")
    if event.has_started:
        raise InvalidState("This event has already started, so it cannot be booked.")


def _clean_details(event: Event, details: BookingDetails) -> str:
    if event.mode == EventMode.BOTH:
        if details.join_mode not in (EventMode.IN_PERSON, EventMode.ONLINE):
            raise ValidationFailed("Choose whether you will join in person or online.")
        return details.join_mode
    return EventMode(event.mode)


@atomic
def book_event(user, event: Event, details: BookingDetails) -> Booking:
    """Book a place, or a place on the waiting list when the event is full. Booking twice (a
    double click, a second tab) finds the same booking and changes nothing."""
    _check_bookable(user, event)
    join_mode = _clean_details(event, details)
    booking = booking_of(user, event)
    if booking is not None and booking.is_active:
        return booking
    now = clock.now()
    if booking is None:
        created = insert_if_absent(Booking, event_id=event.id, user_id=user.id,
                                   status=BookingStatus.WAITING, requested_at=now,
                                   created_at=now, join_mode=join_mode, sequence=0,
                                   needs_travel_booked=False, needs_advance=False,
                                   declines_payment=False)
        booking = booking_of(user, event)
        if not created and booking.is_active:
            return booking  # a double click or a second tab got there first
    if booking.status == BookingStatus.CANCELLED:
        result = db.session.execute(
            update(Booking).where(Booking.id == booking.id,
                                  Booking.status == BookingStatus.CANCELLED)
            .values(status=BookingStatus.WAITING, requested_at=now, cancelled_at=None,
                    ended_reason=None, offered_at=None, offer_expires_at=None)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            db.session.refresh(booking)
            return booking
        db.session.refresh(booking)
    confirmed = _take_place(event.id, booking.id)
    booking.status = BookingStatus.CONFIRMED if confirmed else BookingStatus.WAITING
    booking.confirmed_at = now if confirmed else None
    booking.join_mode = join_mode
    booking.access_needs = details.access_needs.strip() or None
    booking.support_needs = details.support_needs.strip() or None
    booking.needs_travel_booked = details.needs_travel_booked
    booking.needs_advance = details.needs_advance
    booking.declines_payment = details.declines_payment
    booking.sequence += 1
    db.session.flush()
    db.session.refresh(event, ["confirmed_count"])
    audit.record("booking.created", actor_id=user.id, subject_type="event", subject_id=event.id,
                 status=booking.status)
    return booking


@atomic
def update_booking_needs(user, booking: Booking, details: BookingDetails) -> None:
    if booking.user_id != user.id or not booking.is_active:
        raise NotFound()
    booking.join_mode = _clean_details(booking.event, details)
    booking.access_needs = details.access_needs.strip() or None
    booking.support_needs = details.support_needs.strip() or None
    booking.needs_travel_booked = details.needs_travel_booked
    booking.needs_advance = details.needs_advance
    booking.declines_payment = details.declines_payment
    db.session.flush()
    audit.record("booking.needs_updated", actor_id=user.id, subject_type="event",
                 subject_id=booking.event_id)


def _end_booking(booking: Booking, from_statuses: Iterable[str], reason: EndedReason,
                 message: str) -> str:
    previous = booking.status
    result = db.session.execute(
        update(Booking).where(Booking.id == booking.id,
                              Booking.status.in_(list(from_statuses)))
        .values(status=BookingStatus.CANCELLED, cancelled_at=clock.now(),
                ended_reason=reason, offer_expires_at=None, sequence=Booking.sequence + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InvalidState(message)
    if previous in PLACE_HOLDING:
        give_back_place(booking.event_id)
    db.session.refresh(booking)
    return previous


def cancel_booking(user, booking: Booking) -> None:
    if booking.user_id != user.id:
        raise NotFound()
    if booking.event.has_started:
        raise InvalidState("This event has already started. If you could not come, that is "
                           "okay: the organisers will note it on the register.")
    _end_booking(booking, ACTIVE_BOOKING, EndedReason.MEMBER_CANCELLED,
                 "This booking was already cancelled.")
    audit.record("booking.cancelled", actor_id=user.id, subject_type="event",
                 subject_id=booking.event_id)
    booking_cancelled.send(booking.event, booking=booking, actor=user, by_organiser=False)
    offer_free_places(booking.event)


def get_booking(actor, event: Event, booking_id: int) -> Booking:
    """One booking of an event, for its organisers."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.event_id != event.id or not can_manage_event(actor, event):
        raise NotFound()
    return booking


@atomic
def cancel_place(actor, booking: Booking, message: str = "") -> None:
    """An organiser cancels one person's booking (or waiting-list place). The person is told
    kindly, and a place that frees up goes to the waiting list as usual."""
    event = booking.event
    if not can_manage_event(actor, event):
        raise NotAllowed()
    if event.is_cancelled:
        raise InvalidState("This event has been cancelled, so its bookings are already "
                           "cancelled.")
    if event.has_started:
        raise InvalidState("This event has started. If someone did not come, mark them on "
                           "the register instead.")
    message = message.strip()
    if len(message) > 1000:
        raise ValidationFailed("Keep the message to 1,000 characters or fewer.")
    _end_booking(booking, ACTIVE_BOOKING, EndedReason.ORGANISER_CANCELLED,
                 "This booking was already cancelled.")
    body = (f"We are sorry, but your place at {event.title} on {_when(event)} has been "
            "cancelled by the organisers.")
    if message:
        body += f" They said: {message}"
    body += (" If you have any questions, or you have already spent money to come, please "
             "get in touch with them. Thank you for your understanding.")
    notify(booking.user, Message(f"Your booking: {event.title}", body, event_path(event.id)),
           dedupe_key=f"organiser-cancelled:{booking.id}:{booking.sequence}")
    audit.record("booking.cancelled_by_organiser", actor_id=actor.id, subject_type="event",
                 subject_id=event.id)
    booking_cancelled.send(event, booking=booking, actor=actor, by_organiser=True)
    offer_free_places(event)


def offer_free_places(event: Event) -> int:
    """Offer each free place to the next person waiting, with a deadline to accept. The place is
    held for them (counted as taken) until they accept, decline or the offer expires."""
    if event.is_cancelled or event.has_started:
        return 0
    offered = 0
    while True:
        next_up = db.session.scalar(
            select(Booking).where(Booking.event_id == event.id,
                                  Booking.status == BookingStatus.WAITING)
            .order_by(Booking.requested_at, Booking.id).limit(1))
        if next_up is None:
            break
        result = db.session.execute(
            update(Event).where(Event.id == event.id, Event.confirmed_count < Event.capacity)
            .values(confirmed_count=Event.confirmed_count + 1)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            break
        now = clock.now()
        deadline = min(now + timedelta(hours=event.offer_hours), event.starts_at)
        moved = db.session.execute(
            update(Booking).where(Booking.id == next_up.id,
                                  Booking.status == BookingStatus.WAITING)
            .values(status=BookingStatus.OFFERED, offered_at=now, offer_expires_at=deadline,
                    sequence=Booking.sequence + 1)
            .execution_options(synchronize_session=False))
        if moved.rowcount != 1:
            give_back_place(event.id)
            continue
        db.session.refresh(next_up)
        offered += 1
        deadline_text = f"{clock.to_london(deadline):%H:%M on %A %-d %B}"
        notify(next_up.user, Message(
            f"A place is free: {event.title}",
            f"A place has come free at {event.title} on {_when(event)}, and we are holding it "
            f"for you until {deadline_text}. If you would like it, please accept it before "
            "then. If you cannot come, you can say no and it will go to the next person.",
            event_path(event.id)),
            dedupe_key=f"offer:{next_up.id}:{next_up.sequence}")
        audit.record("booking.offered", subject_type="event", subject_id=event.id)
    db.session.refresh(event, ["confirmed_count"])
    return offered


def accept_offer(user, booking: Booking) -> None:
    if booking.user_id != user.id:
        raise NotFound()
    result = db.session.execute(
        update(Booking).where(Booking.id == booking.id, Booking.status == BookingStatus.OFFERED,
                              Booking.offer_expires_at > clock.now())
        .values(status=BookingStatus.CONFIRMED, confirmed_at=clock.now(),
                offer_expires_at=None, sequence=Booking.sequence + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(booking)
        raise InvalidState(
            "Sorry, this offer has ended, so the place has gone to the next person. You can "
            "join the waiting list again from the event page.")
    db.session.refresh(booking)
    audit.record("booking.offer_accepted", actor_id=user.id, subject_type="event",
                 subject_id=booking.event_id)


def decline_offer(user, booking: Booking) -> None:
    if booking.user_id != user.id:
        raise NotFound()
    _end_booking(booking, [BookingStatus.OFFERED], EndedReason.OFFER_DECLINED,
                 "This offer has already ended.")
    audit.record("booking.offer_declined", actor_id=user.id, subject_type="event",
                 subject_id=booking.event_id)
    offer_free_places(booking.event)


def expire_offers() -> int:
    """Offers not taken up in time pass on to the next person."""
    expired = 0
    for booking in db.session.scalars(
        select(Booking).where(Booking.status == BookingStatus.OFFERED,
                              Booking.offer_expires_at <= clock.now()).limit(500)
    ).all():
        try:
            _end_booking(booking, [BookingStatus.OFFERED], EndedReason.OFFER_EXPIRED, "")
        except InvalidState:
            continue
        expired += 1
        notify(booking.user, Message(
            f"Offer ended: {booking.event.title}",
            "The place we were holding for you has now passed to the next person. We hope "
            "to see you at another event. You can join the waiting list again at any time.",
            event_path(booking.event_id)),
            dedupe_key=f"offer-ended:{booking.id}:{booking.sequence}")
        audit.record("booking.offer_expired", subject_type="event", subject_id=booking.event_id)
        offer_free_places(booking.event)
    return expired


def events_with_free_places() -> list[Event]:
    waiting = select(Booking.event_id).where(Booking.status == BookingStatus.WAITING)
    return list(db.session.scalars(
        select(Event).where(Event.status == EventStatus.SCHEDULED,
                            Event.starts_at > clock.now(),
                            Event.confirmed_count < Event.capacity,
                            Event.id.in_(waiting)).limit(200)))


def waiting_position(booking: Booking) -> int | None:
    if booking.status != BookingStatus.WAITING:
        return None
    ahead = db.session.scalar(
        select(func.count()).select_from(Booking).where(
            Booking.event_id == booking.event_id, Booking.status == BookingStatus.WAITING,
            or_(Booking.requested_at < booking.requested_at,
                (Booking.requested_at == booking.requested_at) & (Booking.id < booking.id))))
    return (ahead or 0) + 1


# --- calendar feeds -----------------------------------------------------------------------------


def feed_of(user) -> CalendarFeed | None:
    return db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))


def renew_feed(user) -> str:
    """A new private feed address; any old one stops working. Returns the token (shown once)."""
    token = secrets.token_urlsafe(32)
    feed = feed_of(user)
    if feed is None:
        feed = CalendarFeed(user_id=user.id)
        db.session.add(feed)
    feed.token_hash = keyed_hash(FEED_TOKEN_PURPOSE, token)
    feed.created_at = clock.now()
    feed.last_used_at = None
    db.session.flush()
    audit.record("calendar_feed.renewed", actor_id=user.id, subject_type="user",
                 subject_id=user.id)
    return token


def revoke_feed(user) -> None:
    feed = feed_of(user)
    if feed is None:
        raise InvalidState("You do not have a calendar feed to turn off.")
    db.session.delete(feed)
    db.session.flush()
    audit.record("calendar_feed.revoked", actor_id=user.id, subject_type="user",
                 subject_id=user.id)


def feed_owner(token: str) -> User:
    if not token or len(token) > 100:
        raise NotFound()
    feed = db.session.scalar(select(CalendarFeed).where(
        CalendarFeed.token_hash == keyed_hash(FEED_TOKEN_PURPOSE, token)))
    if feed is None:
        raise NotFound()
    user = db.session.get(User, feed.user_id)
    if user is None or user.is_disabled:
        raise NotFound()
    feed.last_used_at = clock.now().replace(minute=0, second=0, microsecond=0)
    return user


def feed_bookings(user) -> list[Booking]:
    """Booked events for the feed: current places, plus places the person had and gave up (so
    their calendar app marks them cancelled instead of keeping a stale entry)."""
    since = clock.now() - timedelta(days=90)
    return list(db.session.scalars(
        select(Booking).join(Event).where(
            Booking.user_id == user.id, Event.ends_at > since,
            or_(Booking.status == BookingStatus.CONFIRMED,
                (Booking.status == BookingStatus.CANCELLED)
                & Booking.confirmed_at.is_not(None)))
        .order_by(Event.starts_at)))


# --- co-organisers -------------------------------------------------------------------------------


def organisers_of(event: Event) -> list[User]:
    ids = [o.user_id for o in event.organisers]
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids))
                                   .order_by(User.display_name, User.id)))


def organiser_choices(actor, event: Event) -> list[User]:
    """Staff who can run events and are not yet listed as this event's organisers."""
    from engage.panels.services import staff_choices

    if not can_manage_event(actor, event):
        raise NotAllowed()
    listed = {o.user_id for o in event.organisers}
    return [person for person in staff_choices() if person.id not in listed]


@atomic
def add_organiser(actor, event: Event, user_id: int) -> User:
    """Add a co-organiser: a facilitator or programme lead who can then run the event."""
    if not can_manage_event(actor, event):
        raise NotAllowed()
    if event.is_cancelled:
        raise InvalidState("This event has been cancelled, so it needs no more organisers.")
    person = next((p for p in organiser_choices(actor, event) if p.id == user_id), None)
    if person is None:
        raise ValidationFailed("Choose a member of staff who runs events and is not already an "
                               "organiser.")
    listing = EventOrganiser(user_id=person.id)
    event.organisers.append(listing)
    db.session.flush()
    notify(person, Message(
        f"You are an organiser of {event.title}",
        f"{actor.display_name} added you as an organiser of {event.title} on {_when(event)}. "
        "You can now see its bookings, change it and complete its register.",
        event_path(event.id)), dedupe_key=f"organiser-added:{listing.id}")
    audit.record("event.organiser_added", actor_id=actor.id, subject_type="event",
                 subject_id=event.id, organiser_id=person.id)
    return person


@atomic
def remove_organiser(actor, event: Event, user_id: int) -> None:
    if not can_manage_event(actor, event):
        raise NotAllowed()
    listed = next((o for o in event.organisers if o.user_id == user_id), None)
    if listed is None:
        raise NotFound()
    if len(event.organisers) == 1:
        raise InvalidState("An event needs at least one organiser. Add someone else before "
                           "removing this person.")
    event.organisers.remove(listed)
    db.session.flush()
    audit.record("event.organiser_removed", actor_id=actor.id, subject_type="event",
                 subject_id=event.id, organiser_id=user_id)


# --- attendance registers -----------------------------------------------------------------------


def register_of(event: Event) -> Register | None:
    return db.session.get(Register, event.id)


def _check_register(actor, event: Event) -> None:
    if not can_manage_event(actor, event):
        raise NotAllowed()
    if event.is_cancelled:
        raise InvalidState("This event was cancelled, so it has no register.")
    if not event.has_started:
        raise InvalidState("The register opens when the event starts.")


def _records_of(event: Event) -> dict[int, AttendanceRecord]:
    return {r.user_id: r for r in db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.event_id == event.id))}


def _prefilled(event: Event, records: dict[int, AttendanceRecord]) -> list[AttendanceRecord]:
    """New records, not yet saved, for people booked who have none: people with a place are
    marked as attended and people who cancelled a place as cancelled in advance."""
    register = register_of(event)
    if register is not None and register.is_final:
        return []
    new = []
    for booking in db.session.scalars(select(Booking).where(
            Booking.event_id == event.id,
            or_(Booking.status == BookingStatus.CONFIRMED,
                (Booking.status == BookingStatus.CANCELLED)
                & (Booking.ended_reason == EndedReason.MEMBER_CANCELLED)
                & Booking.confirmed_at.is_not(None)))):
        if booking.user_id in records:
            continue
        attended = booking.status == BookingStatus.CONFIRMED
        new.append(AttendanceRecord(
            event_id=event.id, user_id=booking.user_id, booking_id=booking.id,
            user=booking.user,
            status=(AttendanceStatus.ATTENDED if attended
                    else AttendanceStatus.CANCELLED_IN_ADVANCE),
            minutes_attended=event.duration_minutes if attended else None,
            day_minutes=full_day_minutes(event) if attended else None, walked_in=False))
    return new


def _by_name(records) -> list[AttendanceRecord]:
    return sorted(records, key=lambda r: (r.user.display_name.lower(), r.id or 0))


def register_rows(actor, event: Event) -> list[AttendanceRecord]:
    """The register, prefilled from bookings and saved the first time, for the organiser to
    check."""
    _check_register(actor, event)
    records = _records_of(event)
    for record in _prefilled(event, records):
        db.session.add(record)
        records[record.user_id] = record
    db.session.flush()
    return _by_name(records.values())


def register_preview(actor, event: Event) -> list[AttendanceRecord]:
    """The register as `register_rows` fills it, without saving anything: showing the register
    never changes it (the prefilled rows are saved only by "Save")."""
    _check_register(actor, event)
    records = _records_of(event)
    return _by_name([*records.values(), *_prefilled(event, records)])


def register_counts(records: Iterable[AttendanceRecord]) -> dict[str, int]:
    """How many people have each attendance status, for the finalising page."""
    counts = dict.fromkeys(AttendanceStatus, 0)
    for record in records:
        counts[AttendanceStatus(record.status)] += 1
    return counts


def can_finalise(event: Event) -> bool:
    return not event.is_cancelled and event.has_ended


@dataclass
class Mark:
    status: str
    minutes: int | None = None
    # For an event over several days, minutes on each day ({"2027-05-03": 90}) when the
    # person attended part of it; a day left out counts as not there.
    day_minutes: dict[str, int | None] | None = None


@dataclass(frozen=True)
class CleanMark:
    status: str
    minutes: int | None
    day_minutes: dict[str, int] | None

    def apply_to(self, record: AttendanceRecord) -> None:
        record.status = self.status
        record.minutes_attended = self.minutes
        record.day_minutes = self.day_minutes

    def same_as(self, record: AttendanceRecord) -> bool:
        return (self.status, self.minutes, self.day_minutes or None) == (
            record.status, record.minutes_attended, record.day_minutes or None)


def full_day_minutes(event: Event) -> dict[str, int] | None:
    """Every day in full, for someone who attended all of an event over several days."""
    if not event.is_multi_day:
        return None
    return {session.day.isoformat(): session.minutes for session in event.sessions}


def _clean_part_days(event: Event, mark: Mark) -> dict[str, int]:
    given = mark.day_minutes or {}
    days = {}
    for session in event.sessions:
        minutes = given.get(session.day.isoformat()) or 0
        if minutes < 0 or minutes > session.minutes:
            raise ValidationFailed(
                f"On {session.day:%A %-d %B} the event ran for {session.minutes} minutes: "
                f"enter from 0 to {session.minutes}, or leave it empty if they did not come "
                "that day.")
        days[session.day.isoformat()] = minutes
    if not any(days.values()):
        raise ValidationFailed("For someone who attended part, enter the minutes they took "
                               "part on each day they came.")
    return days


def _clean_mark(event: Event, mark: Mark) -> CleanMark:
    try:
        status = AttendanceStatus(mark.status)
    except ValueError:
        raise ValidationFailed("Choose attended, attended part, did not attend or cancelled "
                               "in advance for each person.") from None
    if status == AttendanceStatus.ATTENDED:
        return CleanMark(status, event.duration_minutes, full_day_minutes(event))
    if status == AttendanceStatus.ATTENDED_PART:
        if event.is_multi_day:
            days = _clean_part_days(event, mark)
            return CleanMark(status, sum(days.values()), days)
        if not mark.minutes or mark.minutes < 1 or mark.minutes > event.duration_minutes:
            raise ValidationFailed(
                f"For someone who attended part, enter the minutes they took part, from 1 to "
                f"{event.duration_minutes}.")
        return CleanMark(status, mark.minutes, None)
    return CleanMark(status, None, None)


@atomic
def save_register(actor, event: Event, marks: dict[int, Mark]) -> None:
    """Save the register so far, keyed by each person's user id. It can be saved many times
    before it is finalised. Everything is checked before anything is written."""
    _check_register(actor, event)
    register = register_of(event)
    if register is not None and register.is_final:
        raise InvalidState("This register is finalised. Use a correction to change a record.")
    on_register = {r.user_id for r in register_preview(actor, event)}
    cleaned = {}
    for user_id, mark in marks.items():
        if user_id not in on_register:
            raise NotFound()
        cleaned[user_id] = _clean_mark(event, mark)
    records = {r.user_id: r for r in register_rows(actor, event)}
    for user_id, clean in cleaned.items():
        clean.apply_to(records[user_id])
    if register is None:
        register = Register(event_id=event.id)
        db.session.add(register)
    register.saved_at = clock.now()
    register.saved_by_id = actor.id
    db.session.flush()
    audit.record("register.saved", actor_id=actor.id, subject_type="event", subject_id=event.id)


def finalise_register(actor, event: Event) -> list[AttendanceRecord]:
    """Finalise the register, once. Sends `register_finalised` in this transaction so other
    domains (payments) can add their rows to it."""
    _check_register(actor, event)
    if not event.has_ended:
        raise InvalidState(
            "The register can be finalised once the event has ended, from "
            f"{clock.to_london(event.ends_at):%H:%M on %A %-d %B}. You can save it until then.")
    records = register_rows(actor, event)
    if register_of(event) is None:
        db.session.add(Register(event_id=event.id))
        db.session.flush()
    result = db.session.execute(
        update(Register).where(Register.event_id == event.id, Register.finalised_at.is_(None))
        .values(finalised_at=clock.now(), finalised_by_id=actor.id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InvalidState("This register has already been finalised. Use a correction to "
                           "change a record.")
    db.session.refresh(register_of(event))
    audit.record("register.finalised", actor_id=actor.id, subject_type="event",
                 subject_id=event.id, records=len(records))
    register_finalised.send(event, records=records, actor=actor)
    return records


@atomic
def correct_attendance(actor, record: AttendanceRecord, mark: Mark,
                       reason: str) -> AttendanceCorrection:
    event = record.event
    if not can_manage_event(actor, event):
        raise NotAllowed()
    register = register_of(event)
    if register is None or not register.is_final:
        raise InvalidState("This register is not finalised yet: change it on the register.")
    if not reason.strip():
        raise ValidationFailed("Say why the record is being corrected.")
    clean = _clean_mark(event, mark)
    if clean.same_as(record):
        raise ValidationFailed("That is the same as the record already says. Change the "
                               "attendance or the minutes.")
    correction = AttendanceCorrection(
        record_id=record.id, corrected_by_id=actor.id, reason=reason.strip(),
        old_status=record.status, old_minutes=record.minutes_attended,
        old_day_minutes=record.day_minutes, new_status=clean.status,
        new_minutes=clean.minutes, new_day_minutes=clean.day_minutes)
    clean.apply_to(record)
    db.session.add(correction)
    db.session.flush()
    audit.record("register.corrected", actor_id=actor.id, subject_type="event",
                 subject_id=event.id, record_id=record.id)
    attendance_corrected.send(event, record=record, correction=correction, actor=actor)
    return correction


# --- walk-ins: people who came without a place booked ---


def _walk_in_query(event: Event, on_register: set[int]):
    query = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(UserRole.role == Role.MEMBER, User.is_disabled.is_(False)))
    if on_register:
        query = query.where(User.id.not_in(on_register))
    if event.panel_id is not None:
        query = query.where(User.id.in_(select(PanelMembership.user_id).where(
            PanelMembership.panel_id == event.panel_id,
            PanelMembership.state.in_(PLACE_HOLDING_STATES))))
    return query


def walk_in_matches(actor, event: Event, search: str, limit: int = 25) -> list[User]:
    """Members who could be added to the register: for a panel event its members, for an open
    event any member whose name or username matches what was typed."""
    on_register = {r.user_id for r in register_preview(actor, event)}
    query = _walk_in_query(event, on_register)
    words = " ".join(search.split())[:80]
    if words:
        pattern = f"%{words.lower()}%"
        query = query.where(or_(func.lower(User.display_name).like(pattern),
                                User.username_key.like(pattern)))
    elif event.panel_id is None:
        return []
    return list(db.session.scalars(query.order_by(User.display_name, User.id)
                                   .distinct().limit(limit)))


def walk_in_person(actor, event: Event, user_id: int) -> User:
    """The person to add, if they could come to this event and are not on the register."""
    on_register = {r.user_id for r in register_preview(actor, event)}
    person = db.session.scalar(_walk_in_query(event, on_register).where(User.id == user_id)
                               .limit(1))
    if person is None:
        raise NotFound()
    return person


@atomic
def add_walk_in(actor, event: Event, person: User, mark: Mark,
                reason: str = "") -> AttendanceRecord:
    """Add someone who came without booking. Before the register is finalised they join it
    like anyone else; afterwards this is a correction (from "did not attend"), with a reason,
    so payments and equality monitoring pick it up as they do any correction."""
    _check_register(actor, event)
    walk_in_person(actor, event, person.id)
    clean = _clean_mark(event, mark)
    if clean.status not in (AttendanceStatus.ATTENDED, AttendanceStatus.ATTENDED_PART):
        raise ValidationFailed("Choose whether they attended all of it or part of it.")
    register = register_of(event)
    final = register is not None and register.is_final
    if final and not reason.strip():
        raise ValidationFailed("The register is finalised, so say why this person is being "
                               "added (for example, they came without booking).")
    register_rows(actor, event)
    booking = booking_of(person, event)
    record = AttendanceRecord(event_id=event.id, user_id=person.id,
                              booking_id=booking.id if booking else None, walked_in=True)
    clean.apply_to(record)
    db.session.add(record)
    db.session.flush()
    audit.record("register.walk_in_added", actor_id=actor.id, subject_type="event",
                 subject_id=event.id, record_id=record.id)
    if final:
        correction = AttendanceCorrection(
            record_id=record.id, corrected_by_id=actor.id, reason=reason.strip(),
            old_status=AttendanceStatus.DID_NOT_ATTEND, old_minutes=None,
            new_status=clean.status, new_minutes=clean.minutes,
            new_day_minutes=clean.day_minutes)
        db.session.add(correction)
        db.session.flush()
        attendance_corrected.send(event, record=record, correction=correction, actor=actor)
    return record


def get_record(actor, event: Event, record_id: int) -> AttendanceRecord:
    record = db.session.get(AttendanceRecord, record_id)
    if record is None or record.event_id != event.id or not can_manage_event(actor, event):
        raise NotFound()
    return record


def corrections_for(event: Event) -> list[AttendanceCorrection]:
    return list(db.session.scalars(
        select(AttendanceCorrection).join(AttendanceRecord)
        .where(AttendanceRecord.event_id == event.id).order_by(AttendanceCorrection.id)))


# --- the events section of a panel page ----------------------------------------------------


def panel_section(panel: Panel, user) -> dict | None:
    """Upcoming events of the panel, for the members' area of the panel page (added to
    panels' PANEL_PAGE_SECTIONS)."""
    events = upcoming_events(user, EventFilters(panel_id=panel.id), limit=10)
    items = [{
        "label": event.title,
        "detail": (_("cancelled") if event.is_cancelled else
                   clock.to_london(event.starts_at).strftime("%-d %B %Y at %H:%M")),
        "url": url_for("events.detail", event_id=event.id),
    } for event in events]
    return {"title": _("Upcoming events"), "items": items,
            "empty": _("There are no upcoming events for this panel at the moment.")}
