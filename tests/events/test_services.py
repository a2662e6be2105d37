"""Event rules, tested through the services."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from engage.accounts.models import User
from engage.core import clock
from engage.core.models import Notification, OutboxMessage
from engage.core.permissions import Role
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.events import services
from engage.events.models import (
    AttendanceCorrection,
    AttendanceStatus,
    Booking,
    BookingStatus,
    Event,
)
from engage.events.signals import register_finalised
from engage.extensions import db
from tests.factories import make_member, make_staff
from tests.factories_events import book, make_event, make_panel


def details(**overrides) -> services.EventDetails:
    start = clock.now().replace(microsecond=0) + timedelta(days=10)
    values = dict(title="Panel meeting", kind="panel_meeting", panel_id=None, starts_at=start,
                  ends_at=start + timedelta(hours=2), venue="Room 1", capacity=5)
    values.update(overrides)
    return services.EventDetails(**values)


def organiser_of(event):
    return db.session.get(User, event.created_by_id)


def notifications_for(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)))


# --- creating and changing ----------------------------------------------------------------------


def test_facilitator_creates_event_for_own_panel_with_panel_level(app):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator], involvement_level=3)
    [event] = services.create_event(facilitator, details(panel_id=panel.id))
    assert event.panel_id == panel.id
    assert event.involvement_level == 3
    assert facilitator.id in event.organiser_ids()


def test_facilitator_cannot_create_event_for_someone_elses_panel(app):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[make_staff(Role.FACILITATOR)])
    with pytest.raises(ValidationFailed, match="panel you run"):
        services.create_event(facilitator, details(panel_id=panel.id))


def test_members_cannot_create_events(app):
    with pytest.raises(NotAllowed):
        services.create_event(make_member(), details())


@pytest.mark.parametrize("overrides, message", [
    ({"ends_at": clock.now() + timedelta(days=9)}, "end time must be after"),
    ({"starts_at": clock.now() - timedelta(days=1),
      "ends_at": clock.now() - timedelta(hours=20)}, "future"),
    ({"capacity": 0}, "places"),
    ({"mode": "online", "venue": ""}, "join link"),
    ({"mode": "in_person", "venue": " "}, "where the event is"),
    ({"prep_paid": True, "prep_minutes": 0}, "preparation"),
])
def test_bad_event_details_are_refused_with_what_to_do(app, overrides, message):
    with pytest.raises(ValidationFailed, match=message):
        services.create_event(make_staff(Role.PROGRAMME_LEAD), details(**overrides))


def test_time_skipped_by_the_clocks_going_forward_is_refused(app):
    with pytest.raises(ValidationFailed, match="clocks go forward"):
        services.london_moment(date(2027, 3, 28), time(1, 30))
    # Times either side of the change are stored as the right UTC instant.
    assert services.london_moment(date(2027, 3, 27), time(18, 0)).hour == 18
    assert services.london_moment(date(2027, 3, 28), time(18, 0)).hour == 17


def test_weekly_series_keeps_the_london_time_across_the_clock_change(app):
    lead = make_staff(Role.PROGRAMME_LEAD)
    with clock.frozen(datetime(2027, 3, 1, 12, tzinfo=clock.LONDON)):
        start = services.london_moment(date(2027, 3, 17), time(18, 0))
        events = services.create_event(lead, details(
            starts_at=start, ends_at=start + timedelta(hours=2), repeat="weekly",
            repeat_until=date(2027, 4, 7)))
    local = [clock.to_london(e.starts_at) for e in events]
    assert [d.date() for d in local] == [date(2027, 3, 17), date(2027, 3, 24),
                                        date(2027, 3, 31), date(2027, 4, 7)]
    assert {d.time() for d in local} == {time(18, 0)}
    assert events[0].starts_at.hour == 18 and events[2].starts_at.hour == 17
    assert len({e.series_id for e in events}) == 1
    # Each event is its own: cancelling one leaves the others.
    services.cancel_event(lead, events[1])
    assert [e.is_cancelled for e in events] == [False, True, False, False]


def test_monthly_series_uses_the_last_day_when_a_month_is_shorter(app):
    lead = make_staff(Role.PROGRAMME_LEAD)
    with clock.frozen(datetime(2027, 1, 1, tzinfo=clock.LONDON)):
        start = services.london_moment(date(2027, 1, 31), time(10, 0))
        events = services.create_event(lead, details(
            starts_at=start, ends_at=start + timedelta(hours=1), repeat="monthly",
            repeat_until=date(2027, 4, 30)))
    assert [clock.to_london(e.starts_at).date() for e in events] == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_series_needs_an_end_date_after_the_first_event(app):
    with pytest.raises(ValidationFailed, match="series ends"):
        services.create_event(make_staff(Role.PROGRAMME_LEAD), details(repeat="weekly"))


def test_capacity_cannot_go_below_places_taken(app):
    event = make_event(capacity=3)
    for person in [make_member(), make_member()]:
        book(person, event)
    change = details(title=event.title, starts_at=event.starts_at, ends_at=event.ends_at,
                     venue=event.venue, capacity=1)
    with pytest.raises(ValidationFailed, match="2 people already have a place"):
        services.update_event(organiser_of(event), event, change)


def test_changing_time_tells_everyone_booked_and_bumps_sequence(app):
    event = make_event()
    organiser = organiser_of(event)
    person = make_member()
    book(person, event)
    before = event.sequence
    new_start = event.starts_at + timedelta(days=1)
    changes = services.update_event(organiser, event, details(
        title=event.title, starts_at=new_start, ends_at=new_start + timedelta(hours=2),
        venue=event.venue, capacity=event.capacity))
    assert changes == ["time"]
    assert event.sequence == before + 1
    assert event.last_change == "time"
    [note] = notifications_for(person)
    assert note.title.startswith("Changed:") and "time" in note.body


def test_cancelling_an_event_tells_people_and_stops_booking(app):
    event = make_event()
    organiser = organiser_of(event)
    person = make_member(email="river@example.org", email_is_safe=True)
    book(person, event)
    services.cancel_event(organiser, event, "The room flooded.")
    assert event.is_cancelled
    # (Payments also tells them they can claim back costs: tests/payments/test_rules.py.)
    [note] = [n for n in notifications_for(person) if n.title.startswith("Cancelled")]
    assert "cancelled" in note.body and "The room flooded." in note.body
    # Discreet by default: the email says nothing about the event.
    email = db.session.scalar(select(OutboxMessage))
    assert email.subject == "You have a new message" and "cancel" not in email.body_text
    with pytest.raises(InvalidState, match="cancelled"):
        book(make_member(), event)
    with pytest.raises(InvalidState, match="already cancelled"):
        services.cancel_event(organiser, event)


# --- booking and the waiting list ---------------------------------------------------------------


def test_booking_twice_makes_one_booking(app):
    event = make_event(capacity=5)
    person = make_member()
    first = book(person, event, access_needs="Step-free access")
    second = book(person, event)
    assert first.id == second.id
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    assert event.confirmed_count == 1
    assert second.access_needs == "Step-free access"


def test_full_event_puts_people_on_the_waiting_list_in_order(app):
    event = make_event(capacity=2)
    people = [make_member() for _ in range(4)]
    bookings = [book(p, event) for p in people]
    assert [b.status for b in bookings] == ["confirmed", "confirmed", "waiting", "waiting"]
    assert [services.waiting_position(b) for b in bookings[2:]] == [1, 2]
    assert event.confirmed_count == 2


def test_access_needs_are_encrypted_at_rest(app):
    event = make_event()
    book(make_member(), event, access_needs="I use a wheelchair")
    raw = db.session.execute(db.text("SELECT access_needs FROM bookings")).scalar()
    assert "wheelchair" not in raw


def test_booking_past_started_or_cancelled_events_is_refused(app):
    event = make_event(starts_in=timedelta(minutes=-10))
    with pytest.raises(InvalidState, match="already started"):
        book(make_member(), event)


def test_panel_events_are_only_for_panel_members(app):
    member = make_member()
    panel = make_panel(members=[member])
    event = make_event(panel=panel)
    outsider = make_member()
    assert services.book_event(member, event, services.BookingDetails()).status == "confirmed"
    with pytest.raises(NotFound):
        services.get_event(event.id, outsider)
    with pytest.raises(NotAllowed):
        book(outsider, event)


def test_both_mode_needs_a_choice_of_how_to_join(app):
    event = make_event(mode="both")
    with pytest.raises(ValidationFailed, match="in person or online"):
        book(make_member(), event, join_mode="")
    assert book(make_member(), event, join_mode="online").join_mode == "online"


def test_freed_place_is_offered_to_the_next_person_who_can_accept(app):
    event = make_event(capacity=1)
    first, second, third = make_member(), make_member(), make_member()
    holder = book(first, event)
    waiting = book(second, event)
    book(third, event)
    services.cancel_booking(first, holder)
    db.session.refresh(waiting)
    assert waiting.status == BookingStatus.OFFERED
    assert waiting.offer_expires_at is not None
    assert "A place is free" in notifications_for(second)[0].title
    # Nobody new can jump the queue while the place is held.
    late = book(make_member(), event)
    assert late.status == BookingStatus.WAITING
    services.accept_offer(second, waiting)
    assert waiting.status == BookingStatus.CONFIRMED
    db.session.refresh(event)
    assert event.confirmed_count == 1


def test_expired_offer_passes_to_the_next_person(app):
    event = make_event(capacity=1, offer_hours=2)
    first, second, third = make_member(), make_member(), make_member()
    holder = book(first, event)
    offered = book(second, event)
    next_one = book(third, event)
    services.cancel_booking(first, holder)
    with clock.frozen(clock.now() + timedelta(hours=3)):
        assert services.expire_offers() == 1
        with pytest.raises(InvalidState, match="offer has ended"):
            services.accept_offer(second, offered)
    db.session.refresh(offered)
    db.session.refresh(next_one)
    assert offered.status == BookingStatus.CANCELLED
    assert offered.ended_reason == "offer_expired"
    assert next_one.status == BookingStatus.OFFERED


def test_declining_an_offer_passes_it_on(app):
    event = make_event(capacity=1)
    first, second, third = make_member(), make_member(), make_member()
    holder = book(first, event)
    offered = book(second, event)
    next_one = book(third, event)
    services.cancel_booking(first, holder)
    services.decline_offer(second, offered)
    db.session.refresh(next_one)
    assert next_one.status == BookingStatus.OFFERED


def test_cancelled_booking_can_be_booked_again(app):
    event = make_event(capacity=2)
    person = make_member()
    booking = book(person, event)
    services.cancel_booking(person, booking)
    db.session.refresh(event)
    assert event.confirmed_count == 0
    again = book(person, event)
    assert again.id == booking.id and again.status == BookingStatus.CONFIRMED


def test_someone_elses_booking_is_not_found(app):
    event = make_event()
    booking = book(make_member(), event)
    with pytest.raises(NotFound):
        services.cancel_booking(make_member(), booking)


def test_join_link_only_for_confirmed_people_from_the_set_time(app):
    event = make_event(mode="online", capacity=1, join_opens_minutes=30)
    confirmed, waiting = make_member(), make_member()
    book(confirmed, event)
    book(waiting, event)
    assert services.join_link_for(confirmed, event) is None  # too early
    with clock.frozen(event.starts_at - timedelta(minutes=29)):
        assert services.join_link_for(confirmed, event) == "https://meet.example.org/abc"
        assert services.join_link_for(waiting, event) is None
        assert services.join_link_for(make_member(), event) is None
    with clock.frozen(event.ends_at):
        assert services.join_link_for(confirmed, event) is None


# --- calendar feeds -----------------------------------------------------------------------------


def test_feed_token_is_stored_only_as_a_hash_and_can_be_renewed_or_revoked(app):
    person = make_member()
    token = services.renew_feed(person)
    feed = services.feed_of(person)
    assert token not in feed.token_hash and len(token) >= 40
    assert services.feed_owner(token).id == person.id
    new_token = services.renew_feed(person)
    with pytest.raises(NotFound):
        services.feed_owner(token)
    assert services.feed_owner(new_token).id == person.id
    services.revoke_feed(person)
    with pytest.raises(NotFound):
        services.feed_owner(new_token)


# --- attendance registers -----------------------------------------------------------------------


def _held_event(n_people=3):
    facilitator = make_staff(Role.FACILITATOR)
    people = [make_member() for _ in range(n_people)]
    panel = make_panel(facilitators=[facilitator], members=people)
    event = make_event(panel=panel, organiser=make_staff(Role.FACILITATOR))
    bookings = [book(p, event) for p in people]
    return facilitator, people, event, bookings


def test_register_is_prefilled_from_bookings(app):
    facilitator, people, event, bookings = _held_event()
    services.cancel_booking(people[2], bookings[2])
    with clock.frozen(event.ends_at + timedelta(hours=1)):
        rows = {r.user_id: r for r in services.register_rows(facilitator, event)}
    assert rows[people[0].id].status == AttendanceStatus.ATTENDED
    assert rows[people[0].id].minutes_attended == 120
    assert rows[people[2].id].status == AttendanceStatus.CANCELLED_IN_ADVANCE


def test_register_opens_only_once_the_event_starts(app):
    facilitator, _, event, _ = _held_event()
    with pytest.raises(InvalidState, match="opens when the event starts"):
        services.register_rows(facilitator, event)


def test_register_saved_in_stages_then_finalised_once_with_signal(app, monkeypatch):
    facilitator, people, event, _ = _held_event()
    received = []

    def listener(sender, records, actor):
        received.append((sender.id, sorted((r.user_id, r.status) for r in records), actor.id))

    # The app's receivers are set when it is built; this one is heard beside them.
    receivers = register_finalised.functions
    monkeypatch.setattr(register_finalised, "functions", lambda: [*receivers(), listener])
    with clock.frozen(event.ends_at + timedelta(hours=1)):
        services.save_register(facilitator, event, {
            people[0].id: services.Mark("attended_part", 45)})
        services.save_register(facilitator, event, {
            people[1].id: services.Mark("did_not_attend")})
        services.finalise_register(facilitator, event)
        with pytest.raises(InvalidState, match="already been finalised"):
            services.finalise_register(facilitator, event)
        with pytest.raises(InvalidState, match="finalised"):
            services.save_register(facilitator, event, {
                people[0].id: services.Mark("attended")})
    assert received == [(event.id, sorted([
        (people[0].id, "attended_part"), (people[1].id, "did_not_attend"),
        (people[2].id, "attended")]), facilitator.id)]


@pytest.mark.parametrize("mark, message", [
    (services.Mark("attended_part", None), "minutes they took part"),
    (services.Mark("attended_part", 500), "from 1 to 120"),
    (services.Mark("maybe"), "Choose attended"),
])
def test_bad_register_marks_are_refused(app, mark, message):
    facilitator, people, event, _ = _held_event(1)
    with clock.frozen(event.ends_at), pytest.raises(ValidationFailed, match=message):
        services.save_register(facilitator, event, {people[0].id: mark})


def test_correction_after_finalising_is_recorded_with_who_when_why(app):
    facilitator, _people, event, _ = _held_event(1)
    with clock.frozen(event.ends_at):
        [record] = services.finalise_register(facilitator, event)
        correction = services.correct_attendance(
            facilitator, record, services.Mark("attended_part", 60), "Left at the break")
    assert record.status == "attended_part" and record.minutes_attended == 60
    stored = db.session.get(AttendanceCorrection, correction.id)
    assert (stored.old_status, stored.new_status) == ("attended", "attended_part")
    assert stored.corrected_by_id == facilitator.id and stored.reason == "Left at the break"
    with pytest.raises(ValidationFailed, match="why"):
        services.correct_attendance(facilitator, record, services.Mark("attended"), " ")


def test_organisers_of_other_events_cannot_touch_the_register(app):
    _, _, event, _ = _held_event(1)
    other = make_staff(Role.FACILITATOR)
    with clock.frozen(event.ends_at), pytest.raises(NotAllowed):
        services.finalise_register(other, event)


def test_event_rows_keep_capacity_at_database_level(app):
    event = make_event(capacity=1)
    db.session.flush()
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(db.update(Event).where(Event.id == event.id)
                           .values(confirmed_count=2))
