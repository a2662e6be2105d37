"""Status means what it says: a Stripe claim is "Paid" only once the money is in the bank.

Everything runs through the official `stripe` SDK against the Stripe-compatible server, and
every Stripe event reaches Engage as a signed webhook through the real endpoint.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engage.core.permissions import Role
from engage.payments import gateway, ledger, payouts, services
from engage.payments.models import (
    ClaimState,
    PayoutState,
    StripeWebhookEvent,
)
from tests.conftest import FormClient
from tests.factories import make_member, make_staff, sign_in
from tests.factories_payments import connect_bank, seed
from tests.payments.payout_helpers import (
    account_of,
    entries,
    flags,
    messages_to,
    pay,
    payout_of,
    ready_claim,
    user_of,
)
from tests.stripe_server import sign


@pytest.fixture(autouse=True)
def _policies(app):
    seed()


def _signed_in(app, db, user) -> FormClient:
    visitor = FormClient(app.test_client())
    db.session.commit()
    assert sign_in(visitor, user).status_code == 302
    return visitor


def _state_shown(visitor, claim) -> str:
    page = visitor.get(f"/payments/claims/{claim.id}").get_data(as_text=True)
    return page.split('id="claim-state">')[1].split("<")[0]


def test_a_stripe_claim_is_paid_only_when_the_money_has_reached_the_bank(app, db, client,
                                                                          stripe_server):
    claim = ready_claim(stripe_server)
    member, finance = user_of(claim), make_staff(Role.FINANCE)
    as_member, as_finance = _signed_in(app, db, member), _signed_in(app, db, finance)
    pay(claim)
    assert claim.state == ClaimState.TRANSFERRED
    assert _state_shown(as_member, claim) == "Sent to your Stripe account"
    assert _state_shown(as_finance, claim) == "Transferred"
    # transfer.created is not a payment into the bank: it changes nothing.
    assert stripe_server.deliver_pending(client=client) == [200]
    db.session.refresh(claim)
    assert claim.state == ClaimState.TRANSFERRED
    stripe_server.pay_out(account_of(claim))
    assert stripe_server.deliver_pending(client=client) == [200, 200]  # created, paid
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAID
    assert _state_shown(as_member, claim) == "Paid"
    assert _state_shown(as_finance, claim) == "Paid"
    assert payout_of(claim).bank_payout_id.startswith("po_")
    assert ledger.balance(claim.id) == 0
    assert entries(claim, "payment") == [-claim.total_pence]


def test_one_bank_payout_carrying_several_transfers_marks_each_of_them_paid(db, client,
                                                                           stripe_server):
    first = ready_claim(stripe_server)
    member = user_of(first)
    more = [ready_claim(stripe_server, member, ref_id=ref) for ref in (11, 12)]
    other = ready_claim(stripe_server)
    pay(first, *more, other)
    stripe_server.pay_out(account_of(first))
    stripe_server.deliver_pending(client=client)
    for claim in (first, *more):
        db.session.refresh(claim)
        assert claim.state == ClaimState.PAID
    db.session.refresh(other)
    assert other.state == ClaimState.TRANSFERRED  # its own bank payout has not happened


def test_a_bank_payout_is_read_on_the_connected_account_across_every_page(app, stripe_server):
    account = stripe_server.add_account()
    made = {gateway.create_transfer(amount_pence=100 + n, destination=account,
                                    idempotency_key=f"k{n}", claim_id=n, payout_id=n).id
            for n in range(105)}
    bank_payout = stripe_server.pay_out(account)
    lines = gateway.bank_payout_lines(account, bank_payout["id"])
    assert {line.transfer_id for line in lines if line.type == "payment"} == made
    assert len(lines) == 106  # the 105 payments and the payout itself


def test_payout_paid_before_stripe_has_reconciled_it_waits_for_reconciliation(db, client,
                                                                             stripe_server):
    claim = ready_claim(stripe_server)
    pay(claim)
    bank_payout = stripe_server.pay_out(account_of(claim), reconciled=False)
    stripe_server.deliver_pending(client=client)
    db.session.refresh(claim)
    assert claim.state == ClaimState.TRANSFERRED
    stripe_server.complete_reconciliation(account_of(claim), bank_payout["id"])
    stripe_server.deliver_pending(client=client)
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAID


def test_a_failed_bank_payout_returns_the_claim_to_finance_and_tells_the_member_kindly(
        app, db, client, stripe_server):
    claim = ready_claim(stripe_server)
    member = user_of(claim)
    finance = make_staff(Role.FINANCE)
    pay(claim)
    stripe_server.pay_out(account_of(claim), fail="account_closed")
    stripe_server.deliver_pending(client=client)
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAYMENT_FAILED
    payout = payout_of(claim)
    assert "The bank account has been closed." in payout.failure_reason
    assert "The bank account has been closed." in claim.history[-1].reason
    told = messages_to(member.id)[-1]
    assert "your bank did not accept it" in told and "Your money is safe" in told
    assert "check" in told.lower()
    as_member = _signed_in(app, db, member)
    page = as_member.get(f"/payments/claims/{claim.id}").get_data(as_text=True)
    assert "Check your bank details" in page
    assert any("could not be paid" in m for m in messages_to(finance.id))
    # The money stays in the member's Stripe account: nothing is owed, nothing sent again.
    assert ledger.balance(claim.id) == 0
    assert stripe_server.account_balance(account_of(claim)) == claim.total_pence
    # The member fixes their bank details; finance tries again: no second transfer.
    pay(claim, finance=finance)
    assert claim.state == ClaimState.TRANSFERRED
    assert len(stripe_server.transfers_for()) == 1
    stripe_server.pay_out(account_of(claim))  # carries the money the failed payout returned
    stripe_server.deliver_pending(client=client)
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAID
    assert stripe_server.account_balance(account_of(claim)) == 0


def test_a_bank_payout_that_fails_after_it_was_paid_returns_the_claim(db, client,
                                                                     stripe_server):
    claim = ready_claim(stripe_server)
    pay(claim)
    bank_payout = stripe_server.pay_out(account_of(claim))
    stripe_server.deliver_pending(client=client)
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAID
    stripe_server.settle_payout(account_of(claim), bank_payout["id"], fail="no_account")
    stripe_server.deliver_pending(client=client)
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAYMENT_FAILED
    assert claim.paid_at is None


def test_a_partial_reversal_is_recorded_in_the_ledger_and_the_claim_shows_it(app, db, client,
                                                                            stripe_server):
    claim = ready_claim(stripe_server)
    pay(claim)
    transfer = stripe_server.transfers_for()[0]
    stripe_server.reverse(transfer["id"], 2000)
    stripe_server.deliver_pending(client=client)
    db.session.refresh(claim)
    assert claim.state == ClaimState.TRANSFERRED  # the rest of the money still stands
    assert entries(claim, "reversal") == [2000]
    assert payout_of(claim).amount_reversed_pence == 2000
    assert payouts.amount_owed(claim) == 2000
    page = _signed_in(app, db, user_of(claim)).get(f"/payments/claims/{claim.id}")
    assert "£20.00 of this payment was taken back by Stripe" in page.get_data(as_text=True)
    assert any("took back £20.00" in f for f in flags())
    # A second partial reversal lands once, however often Stripe sends its event.
    stripe_server.reverse(transfer["id"], 500)
    event = stripe_server.pending_events()[-1]
    assert stripe_server.deliver(event, client=client) == 200
    assert stripe_server.deliver(event, client=client) == 200
    assert entries(claim, "reversal") == [2000, 500]


def test_a_full_reversal_returns_the_claim_to_finance_and_a_retry_pays_it_once(
        db, client, stripe_server):
    claim = ready_claim(stripe_server)
    pay(claim)
    stripe_server.reverse(stripe_server.transfers_for()[0]["id"])
    stripe_server.deliver_pending(client=client)
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAYMENT_FAILED
    assert "took the whole transfer back" in claim.history[-1].reason
    assert ledger.balance(claim.id) == claim.total_pence
    pay(claim)
    assert claim.state == ClaimState.TRANSFERRED
    standing = [t["amount"] - t["amount_reversed"] for t in stripe_server.transfers_for()]
    assert sorted(standing) == [0, claim.total_pence]
    assert ledger.balance(claim.id) == 0
    assert payout_of(claim).attempt == 2


def _signed_event(kind: str, obj: dict, account: str | None = None) -> dict:
    event = {"id": f"evt_old_{kind}", "object": "event", "type": kind, "created": 1,
             "livemode": False, "data": {"object": obj}}
    if account:
        event["account"] = account
    return event


@pytest.mark.parametrize("kind", ["transfer.paid", "transfer.failed", "transfer.created"])
def test_old_transfer_events_change_nothing(db, client, stripe_server, kind):
    """transfer.paid / transfer.failed date from before 2017; transfer.created is not the
    bank. None of them moves a claim."""
    claim = ready_claim(stripe_server)
    pay(claim)
    transfer = stripe_server.transfers_for()[0]
    assert stripe_server.deliver(_signed_event(kind, transfer), client=client) == 200
    db.session.refresh(claim)
    assert claim.state == ClaimState.TRANSFERRED
    assert payout_of(claim).state == PayoutState.SENT
    assert db.session.scalar(select(StripeWebhookEvent.outcome).where(
        StripeWebhookEvent.event_type == kind)) == "ignored"


# --- issue 11, item 7 ---------------------------------------------------------------------


def _forged_reversal_of_another_transfer(db, stripe_server, claim):
    """A real transfer Engage did not make, whose metadata names Engage's payout."""
    payout = payout_of(claim)
    other = stripe_server.add_account()
    made = gateway.create_transfer(amount_pence=payout.amount_pence, destination=other,
                                   idempotency_key="someone-else", claim_id=claim.id,
                                   payout_id=payout.id)
    stripe_server.reverse(made.id)
    return stripe_server.pending_events()[-1]


def _reversal_with_another_amount(db, stripe_server, claim):
    stripe_server.reverse(payout_of(claim).stripe_transfer_id)
    event = json.loads(json.dumps(stripe_server.pending_events()[-1]))
    event["data"]["object"]["amount"] += 1
    return event


def _reversal_from_another_account(db, stripe_server, claim):
    stripe_server.reverse(payout_of(claim).stripe_transfer_id)
    event = json.loads(json.dumps(stripe_server.pending_events()[-1]))
    event["account"] = stripe_server.add_account()
    return event


def _bank_payout_claimed_for_another_account(db, stripe_server, claim):
    stripe_server.pay_out(account_of(claim))
    event = json.loads(json.dumps(stripe_server.pending_events()[-1]))
    event["account"] = stripe_server.add_account()
    return event


def _bank_payout_of_another_amount(db, stripe_server, claim):
    """Stripe says the transfer arrived with an amount other than the one Engage sent."""
    stripe_server.pay_out(account_of(claim))
    payout = payout_of(claim)
    payout.amount_pence += 1  # what Engage's record says it sent
    db.session.commit()
    return stripe_server.pending_events()[-1]


@pytest.mark.parametrize("forge", [
    _forged_reversal_of_another_transfer, _reversal_with_another_amount,
    _reversal_from_another_account, _bank_payout_claimed_for_another_account,
    _bank_payout_of_another_amount,
], ids=["transfer-id", "amount", "account", "bank-payout-account", "bank-payout-amount"])
def test_item_7_a_webhook_is_accepted_only_when_account_transfer_and_amount_match(
        db, client, stripe_server, forge):
    claim = ready_claim(stripe_server)
    pay(claim)
    stripe_server.deliver_pending(client=client)
    event = forge(db, stripe_server, claim)
    before = (payout_of(claim).state, payout_of(claim).amount_reversed_pence,
              len(entries(claim, "reversal")))
    assert stripe_server.deliver(event, client=client) == 200
    db.session.expire_all()
    db.session.refresh(claim)
    assert claim.state == ClaimState.TRANSFERRED
    assert (payout_of(claim).state, payout_of(claim).amount_reversed_pence,
            len(entries(claim, "reversal"))) == before
    assert db.session.scalar(select(StripeWebhookEvent.outcome).where(
        StripeWebhookEvent.stripe_event_id == event["id"])) == "mismatch"
    assert any(event["id"] in f and "was not applied" in f for f in flags())


def test_a_webhook_signed_with_another_secret_is_refused(db, client, stripe_server):
    claim = ready_claim(stripe_server)
    pay(claim)
    stripe_server.pay_out(account_of(claim))
    paid = stripe_server.pending_events()[-1]
    assert stripe_server.deliver(paid, client=client, secret="whsec_wrong") == 400
    payload = json.dumps(paid).encode()
    stale = sign(payload, "whsec_test_secret", timestamp=1)  # the right secret, long ago
    response = client.post("/payments/stripe/webhook", data=payload,
                           headers={"Stripe-Signature": stale})
    assert response.status_code == 400
    db.session.refresh(claim)
    assert claim.state == ClaimState.TRANSFERRED


def test_connect_events_are_checked_with_the_connect_endpoints_secret(app, db, client,
                                                                      stripe_server):
    app.config["STRIPE_CONNECT_WEBHOOK_SECRET"] = "whsec_connect"
    stripe_server.connect_webhook_secret = "whsec_connect"
    claim = ready_claim(stripe_server)
    pay(claim)
    stripe_server.pay_out(account_of(claim))
    assert stripe_server.deliver_pending(client=client) == [200, 200, 200]
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAID


def test_a_webhook_that_needs_stripe_while_it_is_down_is_refused_and_kept_for_later(
        db, client, stripe_server):
    claim = ready_claim(stripe_server)
    pay(claim)
    stripe_server.deliver_pending(client=client)
    stripe_server.pay_out(account_of(claim))
    stripe_server.fail_next("/v1/balance_transactions", 503,
                            {"error": {"type": "api_error", "message": "down"}})
    assert stripe_server.deliver_pending(client=client) == [200, 503]
    db.session.refresh(claim)
    assert claim.state == ClaimState.TRANSFERRED
    assert stripe_server.deliver_pending(client=client) == [200]  # Stripe sends it again
    db.session.refresh(claim)
    assert claim.state == ClaimState.PAID


def test_member_list_and_statement_say_paid_only_when_paid(app, db, client, stripe_server):
    member = make_member()
    connect_bank(member, stripe_server.add_account())
    claim = ready_claim(stripe_server, member)
    pay(claim)
    as_member = _signed_in(app, db, member)
    assert "Sent to your Stripe account" in as_member.get("/payments/").get_data(as_text=True)
    stripe_server.pay_out(account_of(claim))
    stripe_server.deliver_pending(client=client)
    listing = as_member.get("/payments/").get_data(as_text=True)
    assert "Sent to your Stripe account" not in listing and ">Paid<" in listing
    assert services.get_claim(claim.id).paid_at is not None
