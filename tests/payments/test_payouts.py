"""Payouts through the real Stripe SDK against the local Stripe-compatible server."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engage.core.permissions import Role
from engage.errors import InvalidState
from engage.payments import gateway, ledger, payouts
from engage.payments.models import (
    ClaimState,
    LedgerEntry,
    Payout,
    PayoutState,
    ReconciliationFlag,
)
from tests.factories import make_member, make_staff
from tests.factories_payments import approved_claim, connect_bank, seed
from tests.stripe_server import error_body


@pytest.fixture(autouse=True)
def _policies(app):
    seed()


def _ready_claim(db, stripe_server, **kwargs):
    member = make_member()
    connect_bank(member, stripe_server.add_account())
    claim = approved_claim(member, **kwargs)
    db.session.commit()
    return claim


def _payment_entries(db, claim_id):
    return db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.claim_id == claim_id, LedgerEntry.entry_type == "payment"))


def test_a_batch_pays_each_claim_once_and_the_webhook_marks_it_paid(db, client,
                                                                    stripe_server):
    finance = make_staff(Role.FINANCE)
    claims = [_ready_claim(db, stripe_server) for _ in range(3)]
    batch, problems = payouts.start_batch(finance, [c.id for c in claims])
    db.session.commit()
    assert problems == []
    assert payouts.process_batches() == 3
    assert len(stripe_server.transfers_for()) == 3
    assert payouts.batch_progress(batch)["done"] == 3
    assert all(c.state == ClaimState.PAYING for c in claims)
    assert stripe_server.deliver_pending(client=client) == [200, 200, 200]
    for claim in claims:
        db.session.refresh(claim)
        assert claim.state == ClaimState.PAID
        assert ledger.balance(claim.id) == 0
        assert _payment_entries(db, claim.id) == 1


def test_double_click_and_two_officers_make_one_payout(db, stripe_server):
    claim = _ready_claim(db, stripe_server)
    first, second = make_staff(Role.FINANCE), make_staff(Role.FINANCE)
    payouts.start_batch(first, [claim.id])
    _, problems = payouts.start_batch(second, [claim.id])
    db.session.commit()
    assert len(problems) == 1
    payouts.process_batches()
    payouts.process_batches()
    assert len(stripe_server.transfers_for()) == 1
    assert db.session.scalar(select(func.count()).select_from(Payout)) == 1


def test_timeout_after_stripe_took_the_request_retries_with_the_same_key(db, stripe_server):
    claim = _ready_claim(db, stripe_server)
    payouts.start_batch(make_staff(Role.FINANCE), [claim.id])
    db.session.commit()
    stripe_server.stall_next("/v1/transfers", seconds=3)
    assert payouts.process_batches() == 0  # timed out; Stripe made the transfer anyway
    payout = db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))
    assert payout.state == PayoutState.SENDING
    key = payout.idempotency_key
    assert len(stripe_server.transfers_for()) == 1
    assert payouts.process_batches() == 1  # the retry gets the same transfer back
    db.session.refresh(payout)
    assert payout.idempotency_key == key
    assert payout.state == PayoutState.SENT
    assert len(stripe_server.transfers_for()) == 1
    assert payout.stripe_transfer_id == stripe_server.transfers_for()[0]["id"]
    assert _payment_entries(db, claim.id) == 1


def test_worker_killed_after_saving_the_key_resumes_with_it(db, stripe_server):
    claim = _ready_claim(db, stripe_server)
    payouts.start_batch(make_staff(Role.FINANCE), [claim.id])
    db.session.commit()
    payout = db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))
    # Killed between "sending" being committed and the call: nothing reached Stripe.
    payout.state = PayoutState.SENDING
    db.session.commit()
    assert payouts.process_batches() == 1
    # Killed after Stripe answered but before the answer was saved: simulate by calling
    # Stripe directly with the saved key, then letting the worker run again.
    claim2 = _ready_claim(db, stripe_server)
    payouts.start_batch(make_staff(Role.FINANCE), [claim2.id])
    db.session.commit()
    payout2 = db.session.scalar(select(Payout).where(Payout.claim_id == claim2.id))
    gateway.create_transfer(amount_pence=payout2.amount_pence, destination=payout2.destination,
                            idempotency_key=payout2.idempotency_key, claim_id=claim2.id,
                            payout_id=payout2.id)
    assert payouts.process_batches() == 1
    assert len(stripe_server.transfers_for()) == 2
    assert _payment_entries(db, claim2.id) == 1


def test_stripe_refusal_returns_the_claim_to_finance_with_the_reason(db, stripe_server):
    claim = _ready_claim(db, stripe_server)
    payouts.start_batch(make_staff(Role.FINANCE), [claim.id])
    db.session.commit()
    stripe_server.fail_next("/v1/transfers", 400, error_body(
        "invalid_request_error", "You have insufficient available funds in your Stripe account.",
        "balance_insufficient"))
    payouts.process_batches()
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAYMENT_FAILED
    payout = db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))
    assert "insufficient" in payout.failure_reason
    # Finance retries: a new attempt with a new key; paid once.
    old_key = payout.idempotency_key
    payouts.start_batch(make_staff(Role.FINANCE), [claim.id])
    db.session.commit()
    payouts.process_batches()
    db.session.refresh(payout)
    assert payout.idempotency_key != old_key
    assert payout.attempt == 2
    assert len(stripe_server.transfers_for()) == 1


def test_same_key_with_other_parameters_is_an_idempotency_error(app, stripe_server):
    account = stripe_server.add_account()
    gateway.create_transfer(amount_pence=100, destination=account, idempotency_key="k1",
                            claim_id=1, payout_id=1)
    with pytest.raises(gateway.GatewayError) as raised:
        gateway.create_transfer(amount_pence=200, destination=account, idempotency_key="k1",
                                claim_id=1, payout_id=1)
    assert raised.value.code == "idempotency_error"
    assert len(stripe_server.transfers_for()) == 1


def test_duplicate_webhook_is_applied_once(db, client, stripe_server):
    claim = _ready_claim(db, stripe_server)
    payouts.start_batch(make_staff(Role.FINANCE), [claim.id])
    db.session.commit()
    payouts.process_batches()
    event = stripe_server.pending_events()[-1]
    assert stripe_server.deliver(event, client=client) == 200
    response = client.post("/payments/stripe/webhook", data=b"", headers={})
    assert response.status_code == 400
    second = stripe_server.deliver(event, client=client)
    assert second == 200
    assert _payment_entries(db, claim.id) == 1


def test_forged_webhook_is_refused(db, client, stripe_server):
    claim = _ready_claim(db, stripe_server)
    payouts.start_batch(make_staff(Role.FINANCE), [claim.id])
    db.session.commit()
    payouts.process_batches()
    event = stripe_server.pending_events()[-1]
    assert stripe_server.deliver(event, client=client, secret="whsec_wrong") == 400
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAYING


def test_reversed_transfer_returns_the_claim_and_reverses_the_ledger(db, client,
                                                                     stripe_server):
    claim = _ready_claim(db, stripe_server)
    payouts.start_batch(make_staff(Role.FINANCE), [claim.id])
    db.session.commit()
    payouts.process_batches()
    stripe_server.deliver_pending(client=client)
    stripe_server.reverse(stripe_server.transfers_for()[0]["id"])
    stripe_server.deliver_pending(client=client)
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAYMENT_FAILED
    assert ledger.balance(claim.id) == claim.total_pence


def test_member_without_a_bank_account_cannot_be_paid_by_transfer(db, stripe_server):
    claim = approved_claim()
    with pytest.raises(InvalidState, match="bank account"):
        payouts.start_payout(make_staff(Role.FINANCE), claim, None)


def test_reconciliation_flags_a_difference(db, client, stripe_server):
    claim = _ready_claim(db, stripe_server)
    payouts.start_batch(make_staff(Role.FINANCE), [claim.id])
    db.session.commit()
    payouts.process_batches()
    stripe_server.deliver_pending(client=client)
    assert payouts.reconcile() == 0
    # Stripe's record changes behind our back (reversed without a webhook reaching us).
    transfer = stripe_server.transfers_for()[0]
    transfer["reversed"] = True
    assert payouts.reconcile() == 1
    assert db.session.scalar(select(func.count()).select_from(ReconciliationFlag)) == 1
    assert payouts.reconcile() == 1  # flagged once, not twice
    assert db.session.scalar(select(func.count()).select_from(ReconciliationFlag)) == 1


def test_manual_voucher_payment(db):
    claim = approved_claim()
    payouts.record_manual_payment(make_staff(Role.FINANCE), claim, "VOUCHER-123")
    assert claim.state == ClaimState.PAID
    assert claim.payment_reference == "VOUCHER-123"
    assert ledger.balance(claim.id) == 0


def test_finance_sees_the_stripe_balance_fall_by_what_was_paid(app, db, stripe_server):
    before = gateway.available_balance_pence()
    claim = _ready_claim(db, stripe_server)
    payouts.start_batch(make_staff(Role.FINANCE), [claim.id])
    db.session.commit()
    payouts.process_batches()
    assert gateway.available_balance_pence() == before - claim.total_pence


def test_member_connects_a_bank_account_through_stripe_onboarding(app, db, stripe_server):
    import urllib.request

    from tests.conftest import FormClient
    from tests.factories import sign_in

    member = make_member()
    db.session.commit()
    visitor = FormClient(app.test_client())
    sign_in(visitor, member)
    response = visitor.post("/payments/bank", {})
    assert response.status_code == 302
    onboarding = response.headers["Location"]
    assert onboarding.startswith(stripe_server.api_base + "/connect/onboard/acct_")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    status, location = 200, ""
    try:
        opener.open(onboarding, timeout=5)
    except urllib.error.HTTPError as back:
        status, location = back.code, back.headers["Location"]
    assert status == 302
    assert location.endswith("/payments/bank/return")
    returned = visitor.get("/payments/bank/return", follow_redirects=True)
    assert "Your bank account is connected" in returned.get_data(as_text=True)
    from engage.payments import services

    db.session.expire_all()
    pref = services.preferences_of(member)
    assert pref.stripe_onboarded and pref.stripe_account_id.startswith("acct_")
    # Asking again reuses the same connected account.
    visitor.post("/payments/bank", {}, form_url="/payments/")
    assert len(stripe_server.state.accounts) == 1
