"""Sending payouts through the real Stripe SDK against the local Stripe-compatible server:
batches, retries and idempotency keys, payouts that do not move, other ways of paying."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engage.core import clock
from engage.core.permissions import Role
from engage.errors import InvalidState, ValidationFailed
from engage.payments import gateway, ledger, payouts, services
from engage.payments.models import (
    ClaimState,
    LedgerEntry,
    Payout,
    PayoutBatch,
    PayoutState,
)
from tests.conftest import FormClient
from tests.factories import make_member, make_staff, sign_in
from tests.factories_payments import approved_claim, connect_bank, make_claim, seed
from tests.payments.payout_helpers import (
    account_of,
    count,
    entries,
    flags,
    pay,
    payout_of,
    ready_claim,
    user_of,
)
from tests.stripe_server import DAY, error_body


@pytest.fixture(autouse=True)
def _policies(app):
    seed()


def _finance(app, db, finance=None) -> FormClient:
    finance = finance or make_staff(Role.FINANCE)
    visitor = FormClient(app.test_client())
    db.session.commit()
    assert sign_in(visitor, finance).status_code == 302
    return visitor


def _start(*claims, finance=None) -> PayoutBatch:
    batch, problems = payouts.start_batch(finance or make_staff(Role.FINANCE),
                                          [c.id for c in claims])
    assert problems == []
    return batch


# --- sending --------------------------------------------------------------------------------


def test_a_batch_sends_each_claim_once(db, stripe_server):
    claims = [ready_claim(stripe_server) for _ in range(3)]
    batch = _start(*claims)
    from engage.extensions import db as _db

    _db.session.commit()
    assert payouts.process_batches() == 3
    assert payouts.process_batches() == 0
    assert len(stripe_server.transfers_for()) == 3
    assert payouts.batch_progress(batch) | {"percent": 0} == {
        "total": 3, "done": 3, "failed": 0, "cancelled": 0, "waiting": 0, "percent": 0,
        "finished": True}
    for claim in claims:
        db.session.refresh(claim)
        assert claim.state == ClaimState.TRANSFERRED
        assert entries(claim, "payment") == [-claim.total_pence]


def test_double_click_and_two_officers_make_one_payout(db, stripe_server):
    claim = ready_claim(stripe_server)
    first, second = make_staff(Role.FINANCE), make_staff(Role.FINANCE)
    payouts.start_batch(first, [claim.id])
    with pytest.raises(ValidationFailed, match="already being paid"):
        payouts.start_batch(second, [claim.id])
    db.session.commit()
    payouts.process_batches()
    payouts.process_batches()
    assert len(stripe_server.transfers_for()) == 1
    assert count(Payout) == 1
    assert count(PayoutBatch) == 1


def test_stripe_refusal_returns_the_claim_to_finance_and_a_retry_uses_a_new_key(
        db, stripe_server):
    claim = ready_claim(stripe_server)
    _start(claim)
    db.session.commit()
    stripe_server.fail_next("/v1/transfers", 400, error_body(
        "invalid_request_error", "You have insufficient available funds in your Stripe account.",
        "balance_insufficient"))
    payouts.process_batches()
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAYMENT_FAILED
    payout = payout_of(claim)
    assert "insufficient" in payout.failure_reason
    old_key = payout.idempotency_key
    pay(claim)
    payout = payout_of(claim)
    assert payout.idempotency_key != old_key
    assert payout.attempt == 2
    assert len(stripe_server.transfers_for()) == 1
    assert claim.state == ClaimState.TRANSFERRED


def test_worker_killed_after_saving_the_key_resumes_with_it(db, stripe_server):
    claim = ready_claim(stripe_server)
    _start(claim)
    db.session.commit()
    payout = payout_of(claim)
    # Killed after Stripe made the transfer but before the answer was saved.
    payout.state, payout.key_used_since = PayoutState.SENDING, clock.now()
    db.session.commit()
    gateway.create_transfer(amount_pence=payout.amount_pence, destination=payout.destination,
                            idempotency_key=payout.idempotency_key, claim_id=claim.id,
                            payout_id=payout.id)
    assert payouts.process_batches() == 1
    assert len(stripe_server.transfers_for()) == 1
    assert entries(claim, "payment") == [-claim.total_pence]


def test_same_key_with_other_parameters_is_an_idempotency_error(app, stripe_server):
    account = stripe_server.add_account()
    gateway.create_transfer(amount_pence=100, destination=account, idempotency_key="k1",
                            claim_id=1, payout_id=1)
    with pytest.raises(gateway.GatewayError) as raised:
        gateway.create_transfer(amount_pence=200, destination=account, idempotency_key="k1",
                                claim_id=1, payout_id=1)
    assert raised.value.code == "idempotency_error"
    assert len(stripe_server.transfers_for()) == 1


def test_member_without_a_bank_account_cannot_be_paid_by_transfer(db, stripe_server):
    claim = approved_claim()
    with pytest.raises(InvalidState, match="bank account"):
        payouts.start_payout(make_staff(Role.FINANCE), claim, None)


def test_finance_sees_the_stripe_balance_fall_by_what_was_paid(app, db, stripe_server):
    before = gateway.available_balance_pence()
    claim = ready_claim(stripe_server)
    pay(claim)
    assert gateway.available_balance_pence() == before - claim.total_pence


# --- idempotency keys and Stripe's 24 hours ------------------------------------------------


def _stalled_first_call(db, stripe_server, claim) -> Payout:
    """Stripe makes the transfer, but its answer never arrives: the payout stays "sending"."""
    _start(claim)
    db.session.commit()
    stripe_server.stall_next("/v1/transfers", seconds=3)
    assert payouts.process_batches() == 0
    payout = payout_of(claim)
    assert payout.state == PayoutState.SENDING
    assert len(stripe_server.transfers_for()) == 1
    return payout


def test_idempotency_keys_are_reused_for_a_retry_within_stripes_24_hours(db, stripe_server):
    claim = ready_claim(stripe_server)
    payout = _stalled_first_call(db, stripe_server, claim)
    key = payout.idempotency_key
    with clock.frozen(clock.now() + timedelta(hours=22)):
        stripe_server.advance(22 * 60 * 60)
        assert payouts.process_batches() == 1  # the same key: Stripe answers with its transfer
    payout = payout_of(claim)
    assert payout.idempotency_key == key
    assert payout.state == PayoutState.SENT
    assert len(stripe_server.transfers_for()) == 1
    assert payout.stripe_transfer_id == stripe_server.transfers_for()[0]["id"]
    assert entries(claim, "payment") == [-claim.total_pence]


def test_idempotency_keys_after_24_hours_a_late_retry_checks_stripe_and_never_pays_twice(
        db, stripe_server):
    claim = ready_claim(stripe_server)
    payout = _stalled_first_call(db, stripe_server, claim)
    old_key = payout.idempotency_key
    with clock.frozen(clock.now() + timedelta(hours=25)):
        stripe_server.advance(25 * 60 * 60)
        assert payouts.process_batches() == 1
    payout = payout_of(claim)
    assert payout.state == PayoutState.SENT
    assert len(stripe_server.transfers_for()) == 1
    assert payout.stripe_transfer_id == stripe_server.transfers_for()[0]["id"]
    assert entries(claim, "payment") == [-claim.total_pence]
    asked = [p for m, p in stripe_server.state.requests if m == "GET"]
    assert any(p.startswith("/v1/transfers?") and "transfer_group=claim-" in p for p in asked)
    # Without that look-up the retry would have paid twice: Stripe has forgotten the key.
    gateway.create_transfer(amount_pence=payout.amount_pence, destination=payout.destination,
                            idempotency_key=old_key, claim_id=claim.id, payout_id=payout.id)
    assert len(stripe_server.transfers_for()) == 2


def test_idempotency_keys_after_24_hours_with_nothing_at_stripe_a_new_key_is_used(
        db, stripe_server):
    claim = ready_claim(stripe_server)
    _start(claim)
    db.session.commit()
    stripe_server.fail_next("/v1/transfers", 503, error_body("api_error", "Try again"))
    assert payouts.process_batches() == 0
    payout = payout_of(claim)
    old_key = payout.idempotency_key
    assert payout.state == PayoutState.SENDING and not stripe_server.transfers_for()
    with clock.frozen(clock.now() + timedelta(hours=30)):
        stripe_server.advance(30 * 60 * 60)
        assert payouts.process_batches() == 1
    payout = payout_of(claim)
    assert payout.idempotency_key != old_key
    assert len(stripe_server.transfers_for()) == 1
    assert stripe_server.transfers_for()[0]["metadata"]["engage_payout"] == str(payout.id)


# --- a batch can never sit "waiting" forever ------------------------------------------------


def test_pay_by_bank_transfer_is_not_offered_when_stripe_is_not_configured(app, db):
    member = make_member()
    claim = approved_claim(member)
    visitor = _finance(app, db)
    page = visitor.get("/payments/finance/payouts").get_data(as_text=True)
    assert "Bank transfers are not set up on this site, so they are not offered" in page
    assert "Pay ticked claims by bank transfer" not in page
    assert 'name="claim_ids"' not in page
    claim_page = visitor.get(f"/payments/claims/{claim.id}").get_data(as_text=True)
    assert "by bank transfer" not in claim_page
    assert "Record as paid" in claim_page
    response = visitor.post("/payments/finance/pay", {"claim_ids": [claim.id]},
                            form_url="/payments/finance/payouts", follow_redirects=True)
    assert "Bank transfers are not set up" in response.get_data(as_text=True)
    assert count(PayoutBatch) == 0
    db.session.refresh(claim)
    assert claim.state == ClaimState.APPROVED


def test_an_empty_batch_is_never_created(app, db, stripe_server):
    voucher_member = make_member()
    services.update_preferences(voucher_member, choice="accept", cap_pence=None,
                                route="voucher", capacity="self", payroll_number=None,
                                access_needs_taxi=False)
    voucher_claim = approved_claim(voucher_member)
    with pytest.raises(ValidationFailed, match="asked to be paid through payroll or by voucher"):
        payouts.start_batch(make_staff(Role.FINANCE), [voucher_claim.id, 999_999])
    visitor = _finance(app, db)
    response = visitor.post("/payments/finance/pay", {"claim_ids": [voucher_claim.id]},
                            form_url="/payments/finance/payouts", follow_redirects=True)
    assert "Nothing was paid" in response.get_data(as_text=True)
    assert count(PayoutBatch) == 0
    db.session.refresh(voucher_claim)
    assert voucher_claim.state == ClaimState.APPROVED


def test_a_payout_that_has_not_progressed_is_flagged_on_the_finance_page_and_by_reconciliation(
        app, db, stripe_server):
    waiting, transferred = ready_claim(stripe_server), ready_claim(stripe_server)
    finance = make_staff(Role.FINANCE)
    pay(transferred)
    _start(waiting)
    db.session.commit()
    app.config["STRIPE_SECRET_KEY"] = ""  # then Stripe is switched off: nothing can be sent
    assert payouts.process_batches() == 0
    page = _finance(app, db, finance).get("/payments/finance/payouts").get_data(as_text=True)
    assert 'id="stuck-payouts"' not in page
    assert payouts.reconcile() == 0
    with clock.frozen(clock.now() + timedelta(hours=25)):
        visitor = _finance(app, db, finance)
        page = visitor.get("/payments/finance/payouts").get_data(as_text=True)
        stuck = page.split('id="stuck-payouts"')[1].split("</table>")[0]
        assert f"claim {waiting.id}" in stuck and "Waiting to be sent" in stuck
        assert f"claim {transferred.id}" not in stuck  # 25 hours is not long for a bank
        queue = visitor.get("/payments/finance").get_data(as_text=True)
        assert "1 payment has not moved in the set time" in queue
        assert payouts.reconcile() == 1
        assert any(f"claim {waiting.id} has not been sent" in f for f in flags())
        assert payouts.reconcile() == 1 and len(flags()) == 1  # flagged once
    with clock.frozen(clock.now() + timedelta(days=11)):
        assert payouts.reconcile() == 2
        assert any(f"claim {transferred.id} was transferred but Stripe has not said it "
                   "reached the bank" in f for f in flags())


def test_reconciliation_also_looks_at_payouts_still_sending(db, stripe_server):
    claim = ready_claim(stripe_server)
    _stalled_first_call(db, stripe_server, claim)
    with clock.frozen(clock.now() + timedelta(minutes=11)):
        payouts.reconcile()
    payout = payout_of(claim)
    assert payout.state == PayoutState.SENT
    assert payout.stripe_transfer_id == stripe_server.transfers_for()[0]["id"]
    db.session.refresh(claim)
    assert claim.state == ClaimState.TRANSFERRED
    assert entries(claim, "payment") == [-claim.total_pence]


def test_finance_cancels_an_unsent_payout_and_can_pay_it_later(app, db, stripe_server):
    claim = ready_claim(stripe_server)
    batch = _start(claim)
    db.session.commit()
    visitor = _finance(app, db)
    url = f"/payments/claims/{claim.id}"
    assert "Cancel this bank transfer" in visitor.get(url).get_data(as_text=True)
    response = visitor.post(f"{url}/cancel-payout", {}, form_url=url, follow_redirects=True)
    assert "Cancelled. Nothing was sent" in response.get_data(as_text=True)
    db.session.refresh(claim)
    assert claim.state == ClaimState.APPROVED
    assert payout_of(claim).state == PayoutState.CANCELLED
    db.session.refresh(batch)
    assert batch.state == "done"
    assert payouts.process_batches() == 0
    assert not stripe_server.transfers_for()
    pay(claim)
    assert claim.state == ClaimState.TRANSFERRED
    assert len(stripe_server.transfers_for()) == 1


def test_a_payout_sending_is_cancelled_only_when_stripe_confirms_it_has_no_transfer(
        db, stripe_server):
    finance = make_staff(Role.FINANCE)
    made = ready_claim(stripe_server)
    _stalled_first_call(db, stripe_server, made)
    with pytest.raises(InvalidState, match="being sent to Stripe right now"):
        payouts.cancel_payout(finance, made)
    with clock.frozen(clock.now() + timedelta(minutes=30)):
        assert "reached Stripe after all" in payouts.cancel_payout(finance, made)
    assert payout_of(made).state == PayoutState.SENT
    never = ready_claim(stripe_server)
    _start(never)
    db.session.commit()
    stripe_server.fail_next("/v1/transfers", 503, error_body("api_error", "Try again"))
    payouts.process_batches()
    with clock.frozen(clock.now() + timedelta(minutes=30)):
        assert payouts.cancel_payout(finance, never).startswith("Cancelled")
    assert payout_of(never).state == PayoutState.CANCELLED
    assert len(stripe_server.transfers_for()) == 1


@pytest.mark.parametrize(("method", "label"), [("voucher", "Voucher"), ("cash", "Cash"),
                                               ("payroll", "Payroll")])
def test_finance_records_a_payment_made_another_way_with_its_reference(app, db, method, label):
    claim = approved_claim()
    visitor = _finance(app, db)
    url = f"/payments/claims/{claim.id}"
    missing = visitor.post(f"{url}/manual-payment", {"method": method}, form_url=url)
    assert missing.status_code == 400
    assert "Enter the voucher number or payment reference." in missing.get_data(as_text=True)
    assert f'value="{method}" checked' in missing.get_data(as_text=True)
    response = visitor.post(f"{url}/manual-payment", {"method": method, "reference": "REF-42"},
                            form_url=url)
    assert response.status_code == 302
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAID
    assert claim.payment_reference == "REF-42"
    assert ledger.balance(claim.id) == 0
    page = visitor.get(url).get_data(as_text=True)
    paid_by = page.split("Paid by</dt>")[1].split("</dd>")[0]
    assert label in paid_by and "REF-42" in paid_by and "Bank transfer" not in paid_by
    member = FormClient(app.test_client())
    sign_in(member, user_of(claim))
    assert "Bank transfer" not in member.get(url).get_data(as_text=True)


def test_paying_another_way_after_a_failed_bank_payout_takes_the_money_back_first(
        db, client, stripe_server):
    claim = ready_claim(stripe_server)
    pay(claim)
    stripe_server.pay_out(account_of(claim), fail="account_frozen")
    stripe_server.deliver_pending(client=client)
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAYMENT_FAILED
    payouts.record_manual_payment(make_staff(Role.FINANCE), claim, "CASH-1", "cash")
    db.session.commit()
    transfer = stripe_server.transfers_for()[0]
    assert transfer["reversed"] and transfer["amount_reversed"] == claim.total_pence
    assert stripe_server.account_balance(account_of(claim)) == 0
    assert claim.state == ClaimState.PAID
    assert entries(claim, "reversal") == [claim.total_pence]
    assert entries(claim, "payment") == [-claim.total_pence, -claim.total_pence]
    assert ledger.balance(claim.id) == 0 and ledger.paid_total(claim.id) == claim.total_pence
    stripe_server.deliver_pending(client=client)  # Stripe's own word on the reversal
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAID and ledger.balance(claim.id) == 0
    assert payouts.reconcile() == 0


def test_a_ledger_correction_stops_an_unpaid_payout_from_paying_the_old_amount(
        app, db, stripe_server):
    claim = ready_claim(stripe_server)
    finance = make_staff(Role.FINANCE)
    _start(claim, finance=finance)
    db.session.commit()
    payable = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.claim_id == claim.id, LedgerEntry.entry_type == "payable"))
    ledger.reverse(finance, payable.id, "Approved twice by mistake")
    db.session.commit()
    payouts.process_batches()
    assert not stripe_server.transfers_for()
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAYMENT_FAILED
    assert "changed from £75.00 to £0.00" in payout_of(claim).failure_reason
    with pytest.raises(ValidationFailed, match="Nothing is owed"):
        payouts.start_batch(finance, [claim.id])


def test_after_a_correction_the_payout_sends_the_new_amount(db, stripe_server):
    member = make_member()
    connect_bank(member, stripe_server.add_account())
    lead, finance = make_staff(Role.FACILITATOR), make_staff(Role.FINANCE)
    claim = make_claim(member, lead)
    services.add_expense(member, claim, category="car", expense_date=claim.activity_date,
                         amount_pence=None, miles=10, description="", preapproved=False,
                         receipt_file=None)
    services.submit_claim(member, claim)
    services.lead_approve(lead, claim)
    services.finance_approve(finance, claim)
    db.session.commit()
    _start(claim, finance=finance)
    db.session.commit()
    car = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.claim_id == claim.id, LedgerEntry.category == "car"))
    ledger.reverse(finance, car.id, "The journey was by train, already paid")
    db.session.commit()
    payouts.process_batches()
    pay(claim, finance=finance)
    assert [t["amount"] for t in stripe_server.transfers_for()] == [7500]
    assert ledger.balance(claim.id) == 0
    assert db.session.scalar(select(func.count()).select_from(Payout)) == 1


def test_reconciliation_flags_a_transfer_changed_behind_engages_back(db, client, stripe_server):
    claim = ready_claim(stripe_server)
    pay(claim)
    assert payouts.reconcile() == 0
    transfer = stripe_server.transfers_for()[0]
    transfer["amount_reversed"] = 100  # taken back without any webhook reaching Engage
    assert payouts.reconcile() == 1
    assert payouts.reconcile() == 1
    assert len(flags()) == 1


def test_the_worker_sends_in_chunks_and_a_crash_mid_chunk_loses_and_repeats_nothing(
        db, stripe_server, monkeypatch):
    claims = [ready_claim(stripe_server) for _ in range(5)]
    _start(*claims)
    db.session.commit()
    monkeypatch.setattr(payouts, "SEND_CHUNK", 2)
    real, calls = payouts._record_transfer, {"n": 0}

    def killed_after_the_third_transfer(*args):
        calls["n"] += 1
        if calls["n"] == 3:  # Stripe made the third transfer; its answer is never saved
            raise RuntimeError("worker killed")
        return real(*args)

    monkeypatch.setattr(payouts, "_record_transfer", killed_after_the_third_transfer)
    with pytest.raises(RuntimeError):
        payouts.process_batches()
    db.session.rollback()
    assert len(stripe_server.transfers_for()) == 3
    states = sorted(p.state for p in db.session.scalars(select(Payout)))
    assert states == ["pending", "sending", "sending", "sent", "sent"]
    monkeypatch.setattr(payouts, "_record_transfer", real)
    assert payouts.process_batches() == 3
    assert len(stripe_server.transfers_for()) == 5
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.entry_type == "payment")) == 5


def test_stripe_keys_expire_on_the_test_server_after_a_day(app, stripe_server):
    """The test server forgets idempotency keys after 24 hours, as Stripe does."""
    account = stripe_server.add_account()
    first = gateway.create_transfer(amount_pence=100, destination=account,
                                    idempotency_key="day-key", claim_id=1, payout_id=1)
    again = {"amount_pence": 100, "destination": account, "idempotency_key": "day-key",
             "claim_id": 1, "payout_id": 1}
    stripe_server.advance(DAY - 3600)
    assert gateway.create_transfer(**again).id == first.id
    stripe_server.advance(7200)
    assert gateway.create_transfer(**again).id != first.id
