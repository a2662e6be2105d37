"""The real worker process pays a batch; killed mid-call, the next worker reuses the key.

The local Stripe-compatible server runs in the test process. The first transfer is made and
then the answer stalls, so the worker is stuck inside the Stripe call after Stripe did the
work. The worker is killed (SIGKILL) there; a second worker takes over once the lease lapses,
retries that payout with the idempotency key saved before the call, gets the same transfer
back, and pays the rest. Each claim ends with exactly one transfer and one ledger entry.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engage.core.permissions import Role
from engage.extensions import db
from engage.payments import payouts
from engage.payments.models import LedgerEntry, Payout, PayoutState
from tests.factories import make_member, make_staff
from tests.factories_payments import approved_claim, connect_bank, seed
from tests.integration.processes import wait_until
from tests.stripe_server import StripeServer

pytestmark = pytest.mark.integration
CLAIMS = 5


def _payouts():
    db.session.rollback()
    rows = db.session.execute(select(Payout.id, Payout.state, Payout.idempotency_key,
                                     Payout.stripe_transfer_id).order_by(Payout.id)).all()
    db.session.rollback()
    return rows


def test_worker_killed_inside_the_stripe_call_then_restarted(shared_database, start_worker):
    server = StripeServer().start()
    settings = {"STRIPE_SECRET_KEY": "sk_test_worker", "STRIPE_API_BASE": server.api_base,
                "STRIPE_TIMEOUT_SECONDS": "120"}
    shared_database.app.config.update(settings)  # finance starts the batch in this process
    try:
        seed()
        finance = make_staff(Role.FINANCE)
        claim_ids = []
        for _ in range(CLAIMS):
            member = make_member()
            connect_bank(member, server.add_account())
            claim_ids.append(approved_claim(member).id)
        payouts.start_batch(finance, claim_ids)
        db.session.commit()
        keys_before = {row.id: row.idempotency_key for row in _payouts()}
        server.stall_next("/v1/transfers", seconds=60)

        first = start_worker(**settings)
        wait_until(lambda: len(server.transfers_for()) == 1
                   and _payouts()[0].state == PayoutState.SENDING,
                   20, "the first transfer to be made while its answer stalls", [first])
        first.kill()

        second = start_worker(**settings)
        wait_until(lambda: all(r.state == PayoutState.SENT for r in _payouts()), 30,
                   "every payout to be sent", [second])
        second.terminate(timeout=60)  # a tick still running finishes first

        rows = _payouts()
        assert {r.id: r.idempotency_key for r in rows} == keys_before
        transfers = server.transfers_for()
        assert len(transfers) == CLAIMS
        assert sorted(t["id"] for t in transfers) == sorted(r.stripe_transfer_id for r in rows)
        posts = [p for m, p in server.state.requests if m == "POST" and p == "/v1/transfers"]
        assert len(posts) == CLAIMS + 1  # the stalled call was repeated once, with its key
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.entry_type == "payment")) == CLAIMS
    finally:
        server.stop()
