"""Real parallel transactions on PostgreSQL: a claim moves and is paid exactly once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engage.core.permissions import Role
from engage.extensions import db as _db
from engage.payments import payouts, services
from engage.payments.models import Claim, ClaimState, LedgerEntry, Payout
from tests.conftest import POSTGRES_URL
from tests.factories import make_member, make_staff
from tests.factories_payments import approved_claim, connect_bank, make_claim, seed

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)"),
]
THREADS = 20


def _in_parallel(app, work) -> list[str]:
    """Run work(index) in THREADS threads, each in its own app context and transaction."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = [""] * THREADS

    def run(index: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                work(index)
                _db.session.commit()
                outcomes[index] = "ok"
            except Exception as error:
                _db.session.rollback()
                outcomes[index] = type(error).__name__
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def _count(model, *where) -> int:
    return _db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture(autouse=True)
def _seeded(app):
    seed()
    _db.session.commit()


def test_twenty_simultaneous_finance_approvals_make_one_payable_entry(app, db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    officers = [make_staff(Role.FINANCE) for _ in range(THREADS)]
    claim = make_claim(member, lead)
    services.submit_claim(member, claim)
    services.lead_approve(lead, claim)
    db.session.commit()
    ids = [o.id for o in officers]
    claim_id = claim.id

    def approve(index: int) -> None:
        from engage.accounts.models import User

        officer = _db.session.get(User, ids[index])
        services.finance_approve(officer, _db.session.get(Claim, claim_id))

    outcomes = _in_parallel(app, approve)
    assert outcomes.count("ok") == 1
    db.session.expire_all()
    assert db.session.get(Claim, claim_id).state == ClaimState.APPROVED
    assert _count(LedgerEntry, LedgerEntry.claim_id == claim_id) == 1


def test_twenty_simultaneous_payouts_make_one_transfer_and_one_ledger_entry(app, db,
                                                                            stripe_server):
    member = make_member()
    connect_bank(member, stripe_server.add_account())
    claim = approved_claim(member)
    officers = [make_staff(Role.FINANCE) for _ in range(THREADS)]
    db.session.commit()
    ids = [o.id for o in officers]
    claim_id = claim.id

    def pay(index: int) -> None:
        from engage.accounts.models import User

        payouts.start_batch(_db.session.get(User, ids[index]), [claim_id])
        _db.session.commit()
        payouts.process_batches()

    _in_parallel(app, pay)
    db.session.expire_all()
    assert _count(Payout, Payout.claim_id == claim_id) == 1
    assert len(stripe_server.transfers_for()) == 1
    assert _count(LedgerEntry, LedgerEntry.claim_id == claim_id,
                  LedgerEntry.entry_type == "payment") == 1
