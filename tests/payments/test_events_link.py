"""The events wiring, tested with objects shaped like the agreed events interface."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from engage.core.permissions import Role
from engage.payments import events_link
from tests.factories import make_member, make_staff
from tests.factories_payments import seed


@dataclass
class FakeEvent:
    id: int
    title: str
    starts_at: datetime
    involvement_level: int
    panel_id: int | None = None
    kind: str = "meeting"
    prep_paid: bool = True
    prep_minutes: int = 60
    status: str = "scheduled"


@dataclass
class FakeRecord:
    user_id: int
    status: str
    minutes_attended: int


def test_finalised_register_creates_claims_for_people_who_took_part(app, db):
    seed()
    lead = make_staff(Role.FACILITATOR)
    came, part, absent = make_member(), make_member(), make_member()
    event = FakeEvent(7, "Board meeting", datetime(2026, 11, 2, 9, 30, tzinfo=UTC), 4)
    events_link.on_register_finalised(event, records=[
        FakeRecord(came.id, "attended", 210), FakeRecord(part.id, "attended_part", 120),
        FakeRecord(absent.id, "did_not_attend", 0)], actor=lead)
    from sqlalchemy import select

    from engage.payments.models import Claim

    claims = {c.user_id: c for c in db.session.scalars(select(Claim))}
    assert set(claims) == {came.id, part.id}
    # 3 h 30 min + 1 h paid preparation is over 4 hours: a full day.
    assert claims[came.id].involvement_pence == 15000
    assert claims[part.id].involvement_pence == 7500
    assert claims[came.id].lead_ids == [lead.id]


def test_cancelled_event_lets_booked_people_claim_expenses(app, db):
    seed()
    lead = make_staff(Role.FACILITATOR)
    booked, withdrew = make_member(), make_member()
    event = FakeEvent(8, "Workshop", datetime(2026, 11, 3, 9, 30, tzinfo=UTC), 4,
                      status="cancelled")
    records = [FakeRecord(booked.id, "did_not_attend", 0),
               FakeRecord(withdrew.id, "cancelled_in_advance", 0)]
    events_link.on_register_finalised(event, records=records, actor=lead)
    from sqlalchemy import select

    from engage.payments.models import Claim

    claims = db.session.scalars(select(Claim)).all()
    assert [c.user_id for c in claims] == [booked.id]
    assert claims[0].involvement_pence == 0
    assert "cancelled" in claims[0].explanation[0]
    event.id = 9
    events_link.on_register_finalised(event, records=records, actor=lead,
                                      cancellation_payable=True)
    paid = db.session.scalar(select(Claim).where(Claim.activity_ref_id == 9))
    assert paid.involvement_pence == 7500

