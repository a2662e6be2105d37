"""Every events route for every role: expected status codes (server-side authorisation)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engage.core import clock
from engage.core.permissions import Role
from engage.events import services
from engage.events.models import Booking, BookingStatus
from engage.extensions import db
from tests.conftest import FormClient
from tests.factories import make_member, make_staff, sign_in
from tests.factories_events import make_event, make_panel

ROLES = ["anonymous", "member", "other_member", "facilitator", "programme_lead", "finance",
         "safeguarding_lead", "admin"]


def _expect(anonymous, member, other_member, facilitator, programme_lead, finance,
            safeguarding_lead, admin):
    return dict(zip(ROLES, [anonymous, member, other_member, facilitator, programme_lead,
                            finance, safeguarding_lead, admin], strict=True))


SIGNED_IN = _expect(302, 200, 200, 200, 200, 200, 200, 200)
PANEL_EVENT = _expect(302, 200, 404, 200, 200, 404, 404, 404)
BOOK = _expect(302, 200, 404, 403, 403, 404, 404, 404)
OWN_BOOKING = _expect(302, 200, 404, 404, 404, 404, 404, 404)
ORGANISE = _expect(302, 403, 404, 200, 200, 404, 404, 404)
CREATE = _expect(302, 403, 403, 200, 200, 403, 403, 403)

EXPECTED = {
    "events.index": ("/events/", SIGNED_IN),
    "events.month": ("/events/calendar?month=2027-03", SIGNED_IN),
    "events.mine": ("/events/mine", SIGNED_IN),
    "events.new": ("/events/new", CREATE),
    "events.detail": ("/events/{upcoming}", PANEL_EVENT),
    "events.ics": ("/events/{upcoming}.ics", PANEL_EVENT),
    "events.book": ("/events/{upcoming}/book", BOOK),
    "events.cancel_booking": ("/events/{upcoming}/booking/cancel", OWN_BOOKING),
    "events.edit": ("/events/{upcoming}/edit", ORGANISE),
    "events.cancel_event": ("/events/{upcoming}/cancel", ORGANISE),
    "events.bookings": ("/events/{upcoming}/bookings", ORGANISE),
    "events.register": ("/events/{held}/register", ORGANISE),
    "events.correct": ("/events/{held}/register/{record}/correct", ORGANISE),
    "events.registers": ("/events/registers", CREATE),
    "events.finalise": ("/events/{unfinalised}/register/finalise", ORGANISE),
    "events.walk_in_search": ("/events/{held}/register/walk-in?q=a", ORGANISE),
    "events.walk_in": ("/events/{held}/register/walk-in/{spare}", ORGANISE),
    "events.cancel_place": ("/events/{upcoming}/bookings/{booking}/cancel", ORGANISE),
    "events.organisers": ("/events/{upcoming}/organisers", ORGANISE),
    "events.feed": ("/events/feed/not-a-real-token.ics", dict.fromkeys(ROLES, 404)),
}
POST_ONLY = {
    "events.accept_offer": "/events/{upcoming}/offer/accept",
    "events.decline_offer": "/events/{upcoming}/offer/decline",
    "events.feed_renew": "/events/feed",
    "events.feed_revoke": "/events/feed/revoke",
    "events.remove_organiser": "/events/{upcoming}/organisers/{spare}/remove",
}


def test_every_events_endpoint_has_an_expectation(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                 if rule.endpoint.startswith("events.")}
    assert endpoints == set(EXPECTED) | set(POST_ONLY)


@pytest.fixture
def world(app):
    member, other, spare = make_member(), make_member(), make_member()
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator], members=[member, spare])
    upcoming = make_event(panel=panel, organiser=facilitator)
    booking = services.book_event(member, upcoming, services.BookingDetails())
    unfinalised = make_event(panel=panel, organiser=facilitator, starts_in=timedelta(days=-5))
    held = make_event(panel=panel, organiser=facilitator, starts_in=timedelta(days=-2))
    db.session.add(Booking(event_id=held.id, user_id=member.id, status=BookingStatus.CONFIRMED,
                           confirmed_at=clock.now() - timedelta(days=3)))
    held.confirmed_count = 1
    db.session.flush()
    [record] = services.finalise_register(facilitator, held)
    people = {
        "member": member, "other_member": other, "facilitator": facilitator,
        "programme_lead": make_staff(Role.PROGRAMME_LEAD), "finance": make_staff(Role.FINANCE),
        "safeguarding_lead": make_staff(Role.SAFEGUARDING_LEAD), "admin": make_staff(Role.ADMIN),
    }
    db.session.commit()
    return people, {"upcoming": upcoming.id, "held": held.id, "record": record.id,
                    "unfinalised": unfinalised.id, "booking": booking.id, "spare": spare.id}


@pytest.mark.parametrize("role", ROLES)
def test_route_access_for_each_role(app, world, role):
    people, ids = world
    visitor = FormClient(app.test_client())
    if role != "anonymous":
        assert sign_in(visitor, people[role]).status_code == 302
    problems = []
    for endpoint, (url, expected) in EXPECTED.items():
        status = visitor.get(url.format(**ids)).status_code
        if status != expected[role]:
            problems.append(f"{endpoint}: {status}, expected {expected[role]}")
    assert not problems


@pytest.mark.parametrize("endpoint", sorted(POST_ONLY))
def test_post_only_routes_refuse_get_and_send_anonymous_to_sign_in(app, world, endpoint):
    _, ids = world
    client = app.test_client()
    url = POST_ONLY[endpoint].format(**ids)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code in (302, 400)
