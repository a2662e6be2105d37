"""Events, bookings, waiting lists, reminders, calendar feeds and attendance registers.

An event's `confirmed_count` counts the places taken (confirmed bookings and places held for a
waiting-list offer). It is only changed by conditional UPDATEs in services.py, and a CHECK
constraint makes the database refuse more than `capacity`, so simultaneous bookings can never
overfill an event. One booking row per person per event (a unique constraint): a double click or
a second tab finds the same row, and booking again after cancelling reuses it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.core import clock
from engage.db import Base, EncryptedText, UTCDateTime


class EventKind(enum.StrEnum):
    PANEL_MEETING = "panel_meeting"
    WORKSHOP = "workshop"
    CONSULTATION_EVENT = "consultation_event"
    NETWORK_EVENT = "network_event"
    TRAINING = "training"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    EventKind.PANEL_MEETING: "Panel meeting",
    EventKind.WORKSHOP: "Workshop",
    EventKind.CONSULTATION_EVENT: "Consultation event",
    EventKind.NETWORK_EVENT: "Network event",
    EventKind.TRAINING: "Training",
}


class EventMode(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    BOTH = "both"

    @property
    def label(self) -> str:
        return {"in_person": "In person", "online": "Online",
                "both": "In person or online"}[self.value]


class EventStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITING = "waiting"
    OFFERED = "offered"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"confirmed": "You have a place", "waiting": "On the waiting list",
                "offered": "A place is being held for you",
                "cancelled": "Not booked"}[self.value]


# Bookings that hold one of the event's places (counted in confirmed_count).
PLACE_HOLDING = (BookingStatus.CONFIRMED, BookingStatus.OFFERED)
ACTIVE_BOOKING = (BookingStatus.CONFIRMED, BookingStatus.OFFERED, BookingStatus.WAITING)


class EndedReason(enum.StrEnum):
    MEMBER_CANCELLED = "member_cancelled"
    OFFER_EXPIRED = "offer_expired"
    OFFER_DECLINED = "offer_declined"
    ORGANISER_CANCELLED = "organiser_cancelled"


class AttendanceStatus(enum.StrEnum):
    ATTENDED = "attended"
    ATTENDED_PART = "attended_part"
    DID_NOT_ATTEND = "did_not_attend"
    CANCELLED_IN_ADVANCE = "cancelled_in_advance"

    @property
    def label(self) -> str:
        return ATTENDANCE_LABELS[self]


# Taking part, for claims, snapshots and counts: all of the event or part of it.
TOOK_PART = (AttendanceStatus.ATTENDED, AttendanceStatus.ATTENDED_PART)

ATTENDANCE_LABELS = {
    AttendanceStatus.ATTENDED: "Attended",
    AttendanceStatus.ATTENDED_PART: "Attended part",
    AttendanceStatus.DID_NOT_ATTEND: "Did not attend",
    AttendanceStatus.CANCELLED_IN_ADVANCE: "Cancelled in advance",
}


MAX_EVENT_DAYS = 14


@dataclass(frozen=True)
class Session:
    """The part of an event on one London day."""

    day: date
    starts_at: datetime
    ends_at: datetime

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


def last_day_of(starts_at: datetime, ends_at: datetime) -> date:
    """The London date an event ends on (an end at midnight belongs to the day before)."""
    end = clock.to_london(ends_at)
    if end.time() == time(0, 0) and end.date() > clock.to_london(starts_at).date():
        return end.date() - timedelta(days=1)
    return end.date()


def runs_each_day(starts_at: datetime, ends_at: datetime, runs_daily: bool) -> bool:
    """True for an event over several days that runs each day at the same hours (a day cannot
    end before it starts, so otherwise it runs without a break)."""
    start, end = clock.to_london(starts_at), clock.to_london(ends_at)
    return (runs_daily and last_day_of(starts_at, ends_at) != start.date()
            and end.time() > start.time())


def event_sessions(starts_at: datetime, ends_at: datetime, runs_daily: bool) -> list[Session]:
    """The days of an event. An event over several days either runs each day from its start
    time to its end time (a course), or without a break from the start to the end (a
    residential weekend), split at midnight; one that runs without a break for less than a
    day (an evening that goes past midnight) is one sitting. Worked out in London time, so a
    day when the clocks change is an hour longer or shorter only when the event runs through
    the change."""
    first = clock.to_london(starts_at)
    last_day = last_day_of(starts_at, ends_at)
    if last_day == first.date() or (not runs_each_day(starts_at, ends_at, runs_daily)
                                    and ends_at - starts_at < timedelta(days=1)):
        return [Session(first.date(), starts_at, ends_at)]
    days = [first.date() + timedelta(days=n) for n in range((last_day - first.date()).days + 1)]
    if runs_each_day(starts_at, ends_at, runs_daily):
        start_time = first.time().replace(tzinfo=None)
        end_time = clock.to_london(ends_at).time().replace(tzinfo=None)
        return [Session(day, clock.from_london(datetime.combine(day, start_time)),
                        clock.from_london(datetime.combine(day, end_time))) for day in days]
    sessions = []
    for day in days:
        day_start = max(starts_at, clock.from_london(datetime.combine(day, time())))
        next_midnight = clock.from_london(datetime.combine(day + timedelta(days=1), time()))
        sessions.append(Session(day, day_start, min(ends_at, next_midnight)))
    return sessions


class EventSeries(Base):
    """A repeating series: its events are ordinary events that can change one at a time."""

    __tablename__ = "event_series"
    __table_args__ = (
        CheckConstraint("frequency IN ('weekly', 'fortnightly', 'monthly')",
                        name="frequency_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    frequency: Mapped[str] = mapped_column(String(12))
    repeat_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("involvement_level BETWEEN 1 AND 4", name="involvement_level_range"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("confirmed_count >= 0 AND confirmed_count <= capacity",
                        name="confirmed_within_capacity"),
        CheckConstraint("prep_minutes >= 0", name="prep_minutes_not_negative"),
        CheckConstraint("status IN ('scheduled', 'cancelled')", name="status_known"),
        CheckConstraint("mode IN ('in_person', 'online', 'both')", name="mode_known"),
        Index("ix_events_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int | None] = mapped_column(
        ForeignKey("panels.id", ondelete="CASCADE"), index=True
    )
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_series.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(150))
    kind: Mapped[str] = mapped_column(String(30), default=EventKind.PANEL_MEETING)
    description: Mapped[str] = mapped_column(Text, default="")
    content_note: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # For an event over several days: True when it runs each day from the start time to the
    # end time, False when it runs without a break from start to end.
    runs_daily: Mapped[bool] = mapped_column(Boolean, default=True)
    mode: Mapped[str] = mapped_column(String(12), default=EventMode.IN_PERSON)
    venue: Mapped[str] = mapped_column(Text, default="")
    venue_accessibility: Mapped[str] = mapped_column(Text, default="")
    join_link: Mapped[str | None] = mapped_column(EncryptedText)
    join_opens_minutes: Mapped[int] = mapped_column(default=30)
    capacity: Mapped[int] = mapped_column(default=12)
    confirmed_count: Mapped[int] = mapped_column(default=0)
    offer_hours: Mapped[int] = mapped_column(default=24)
    involvement_level: Mapped[int] = mapped_column(default=2)
    prep_paid: Mapped[bool] = mapped_column(Boolean, default=False)
    prep_minutes: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(12), default=EventStatus.SCHEDULED)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    # What last changed that people booked were told about ("time", "place"), to highlight it.
    last_change: Mapped[str] = mapped_column(String(60), default="")
    last_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # RFC 5545 SEQUENCE: goes up on every change people's calendars should pick up.
    sequence: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)

    panel = relationship("Panel", lazy="joined")
    organisers: Mapped[list[EventOrganiser]] = relationship(
        back_populates="event", cascade="all, delete-orphan", lazy="selectin"
    )

    def organiser_ids(self) -> set[int]:
        """The people who run this event: its listed organisers and the panel's staff."""
        ids = {o.user_id for o in self.organisers}
        if self.panel is not None:
            ids |= {s.user_id for s in self.panel.staff}
        return ids

    @property
    def is_cancelled(self) -> bool:
        return self.status == EventStatus.CANCELLED

    @property
    def has_started(self) -> bool:
        return self.starts_at <= clock.now()

    @property
    def has_ended(self) -> bool:
        return self.ends_at <= clock.now()

    @property
    def is_online(self) -> bool:
        return self.mode in (EventMode.ONLINE, EventMode.BOTH)

    @property
    def is_in_person(self) -> bool:
        return self.mode in (EventMode.IN_PERSON, EventMode.BOTH)

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.confirmed_count, 0)

    @property
    def sessions(self) -> list[Session]:
        return event_sessions(self.starts_at, self.ends_at, self.runs_daily)

    @property
    def is_multi_day(self) -> bool:
        """More than one day to take part in (and to register attendance for)."""
        return len(self.sessions) > 1

    @property
    def spans_dates(self) -> bool:
        return last_day_of(self.starts_at, self.ends_at) != clock.to_london(self.starts_at).date()

    @property
    def runs_each_day(self) -> bool:
        return runs_each_day(self.starts_at, self.ends_at, self.runs_daily)

    @property
    def duration_minutes(self) -> int:
        """The time the event runs: for an event over several days, the sum of its days."""
        return sum(session.minutes for session in self.sessions)

    @property
    def kind_label(self) -> str:
        return EventKind(self.kind).label

    @property
    def mode_label(self) -> str:
        return EventMode(self.mode).label

    def __repr__(self) -> str:
        return f"<Event {self.id}>"


class EventOrganiser(Base):
    __tablename__ = "event_organisers"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    event: Mapped[Event] = relationship(back_populates="organisers")


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        CheckConstraint("status IN ('confirmed', 'waiting', 'offered', 'cancelled')",
                        name="status_known"),
        CheckConstraint("status != 'offered' OR offer_expires_at IS NOT NULL",
                        name="offer_has_deadline"),
        Index("ix_bookings_event_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=BookingStatus.WAITING)
    join_mode: Mapped[str] = mapped_column(String(12), default=EventMode.IN_PERSON)
    # What the person chose to tell the organisers: encrypted, shown only to them.
    access_needs: Mapped[str | None] = mapped_column(EncryptedText)
    support_needs: Mapped[str | None] = mapped_column(EncryptedText)
    needs_travel_booked: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_advance: Mapped[bool] = mapped_column(Boolean, default=False)
    # "I do not want to be paid for taking part in this event" (expenses are still paid): the
    # payments domain starts the person's claim for this event as declined.
    declines_payment: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The waiting-list queue is ordered by when a person (last) asked for a place.
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(20))
    # Goes up on every change of this booking (added to the event's SEQUENCE in feeds).
    sequence: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(lazy="joined")
    user = relationship("User", lazy="joined")

    @property
    def status_label(self) -> str:
        return BookingStatus(self.status).label

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_BOOKING


class ReminderSent(Base):
    """One row per reminder that went out: the unique key is what makes each reminder go once,
    whatever happens to the worker. Written in the same transaction as the notification."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("booking_id", "reminder_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    reminder_kind: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class CalendarFeed(Base):
    """A member's private calendar feed. Only a keyed hash of the token is stored."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Register(Base):
    """The attendance register of one event: saved in stages, then finalised once."""

    __tablename__ = "registers"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                          primary_key=True)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalised_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    @property
    def is_final(self) -> bool:
        return self.finalised_at is not None


class AttendanceRecord(Base):
    __tablename__ = "attendance_records"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        CheckConstraint(
            "status IN ('attended', 'attended_part', 'did_not_attend', 'cancelled_in_advance')",
            name="status_known",
        ),
        CheckConstraint("minutes_attended IS NULL OR minutes_attended >= 0",
                        name="minutes_not_negative"),
        CheckConstraint("status != 'attended_part' OR minutes_attended > 0",
                        name="part_has_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id",
                                                              ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(24))
    minutes_attended: Mapped[int | None]
    # For an event over several days: minutes taken part on each day ({"2027-05-03": 360}).
    day_minutes: Mapped[dict[str, int] | None] = mapped_column(JSON)
    # Added by an organiser for someone who came without a place booked.
    walked_in: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)

    event: Mapped[Event] = relationship()
    user = relationship("User", lazy="joined")

    @property
    def status_label(self) -> str:
        return AttendanceStatus(self.status).label


class AttendanceCorrection(Base):
    """A change to a finalised register: who, when, why, and what it was before."""

    __tablename__ = "attendance_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("attendance_records.id",
                                                      ondelete="CASCADE"), index=True)
    corrected_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    reason: Mapped[str] = mapped_column(Text)
    old_status: Mapped[str] = mapped_column(String(24))
    old_minutes: Mapped[int | None]
    new_status: Mapped[str] = mapped_column(String(24))
    new_minutes: Mapped[int | None]
    old_day_minutes: Mapped[dict[str, int] | None] = mapped_column(JSON)
    new_day_minutes: Mapped[dict[str, int] | None] = mapped_column(JSON)

    record: Mapped[AttendanceRecord] = relationship()
