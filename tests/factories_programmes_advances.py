"""Factories for programmes, advances and booked tickets."""

from __future__ import annotations

import itertools
import secrets
from datetime import timedelta

from sqlalchemy import select

from engage.core import clock
from engage.core.permissions import Role
from engage.events.models import Booking
from engage.extensions import db
from engage.panels.models import Panel, Programme
from engage.payments import advances
from engage.payments.models import ActivitySupport
from tests.factories import make_staff
from tests.factories_events import confirmed_booking, make_event

_names = itertools.count(1)


def make_programme(name: str | None = None, *, active: bool = True) -> Programme:
    programme = Programme(name=name or f"Programme {next(_names)}", description="",
                          is_active=active)
    db.session.add(programme)
    db.session.flush()
    return programme


def put_in_programme(panel: Panel, programme: Programme | None) -> Panel:
    panel.programme_id = programme.id if programme else None
    db.session.flush()
    return panel


def booked_event(member, *, panel=None, starts_in=timedelta(days=7), **booking):
    """An upcoming event the member has a confirmed place on."""
    event = make_event(panel=panel, starts_in=starts_in)
    confirmed_booking(member, event)
    if booking:
        row = db.session.scalar(select(Booking).where(Booking.event_id == event.id,
                                                      Booking.user_id == member.id))
        for key, value in booking.items():
            setattr(row, key, value)
        db.session.flush()
    return event


def record_advance(member, event, pence: int = 2000, *, finance=None, token: str | None = None,
                   **kwargs) -> ActivitySupport:
    return advances.record_support(
        finance or make_staff(Role.FINANCE), event, user_id=member.id, kind="advance",
        amount_pence=pence, paid_on=kwargs.pop("paid_on", clock.today_london()),
        token=token or secrets.token_hex(8), route=kwargs.pop("route", "voucher"),
        reference=kwargs.pop("reference", "ADV-1"), **kwargs)


def record_ticket(member, event, pence: int = 3450, *, finance=None,
                  description: str = "Train ticket") -> ActivitySupport:
    return advances.record_support(
        finance or make_staff(Role.FINANCE), event, user_id=member.id, kind="ticket",
        amount_pence=pence, paid_on=clock.today_london(), token=secrets.token_hex(8),
        description=description)
