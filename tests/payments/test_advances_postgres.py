"""Real parallel transactions on PostgreSQL: one advance however often the form is sent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engage.core import clock
from engage.core.permissions import Role
from engage.extensions import db as _db
from engage.payments import advances
from engage.payments.models import ActivitySupport, LedgerEntry
from tests.conftest import POSTGRES_URL
from tests.factories import make_member, make_staff
from tests.factories_payments import seed
from tests.factories_programmes_advances import booked_event
from tests.payments.test_concurrency_postgres import THREADS, _in_parallel

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)"),
]


def test_twenty_simultaneous_sends_of_one_advance_form_record_it_once(app, db):
    seed()
    member = make_member()
    event = booked_event(member, needs_advance=True)
    officers = [make_staff(Role.FINANCE) for _ in range(THREADS)]
    db.session.commit()
    ids, event_id, member_id = [o.id for o in officers], event.id, member.id

    def record(index: int) -> None:
        from engage.accounts.models import User
        from engage.events.models import Event

        advances.record_support(
            _db.session.get(User, ids[index]), _db.session.get(Event, event_id),
            user_id=member_id, kind="advance", amount_pence=2000,
            paid_on=clock.today_london(), token="one-form", route="voucher",
            reference="ADV-1")

    outcomes = _in_parallel(app, record)
    assert set(outcomes) == {"ok"}  # every click gets the same answer: recorded
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ActivitySupport)) == 1
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
