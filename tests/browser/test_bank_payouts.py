"""Paid means in the bank, in a real browser: a member connects a bank account through the
Stripe-compatible server's onboarding page, claims, the lead approves, finance pays, and both
sides see "Paid" only once the server's signed payout.paid webhook has arrived."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect

from engage.accounts.models import User
from engage.core.permissions import Role
from engage.extensions import db
from engage.payments import payouts, services
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, new_page, sign_in_as
from tests.factories import make_member, make_staff
from tests.factories_payments import make_claim, seed
from tests.stripe_server import StripeServer

pytestmark = pytest.mark.browser
WEBHOOK_SECRET = "whsec_browser"


@pytest.fixture
def stripe_server(live_server: LiveServer) -> Iterator[StripeServer]:
    server = StripeServer(webhook_secret=WEBHOOK_SECRET,
                          webhook_url=f"{live_server.url}/payments/stripe/webhook").start()
    live_server.app.config.update(STRIPE_SECRET_KEY="sk_test_browser",
                                  STRIPE_API_BASE=server.api_base,
                                  STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                                  STRIPE_TIMEOUT_SECONDS=5)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def another_person(browser: Browser) -> Iterator[Page]:
    yield from new_page(browser)


def _state(page: Page, live_server: LiveServer, claim_id: int):
    page.goto(f"{live_server.url}/payments/claims/{claim_id}")
    return page.locator("#claim-state")


def test_member_connects_a_bank_account_and_sees_paid_only_when_the_bank_has_the_money(
        live_server, page, browser, stripe_server):
    with live_server.app.app_context():
        seed()
        member, lead = make_member(), make_staff(Role.FACILITATOR)
        finance = make_staff(Role.FINANCE)
        claim_id, member_id = make_claim(member, lead).id, member.id
        db.session.commit()

    # The member connects a bank account: the form leads on to Stripe's (the server's) page.
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/payments/")
    page.get_by_role("link", name="Connect your bank account so we can pay you").click()
    expect(page.get_by_role("heading", level=1, name="Bank account")).to_be_visible()
    assert_accessible(page, "bank account, not connected")
    page.get_by_role("button", name="Continue to Stripe").click()
    expect(page.get_by_role("heading", name="Test onboarding")).to_be_visible()
    assert page.url.startswith(f"{stripe_server.api_base}/connect/onboard/acct_")
    page.get_by_role("button", name="Agree and submit").click()
    expect(page.get_by_text("Your bank account is connected.")).to_be_visible()
    assert page.url == f"{live_server.url}/payments/"
    page.goto(f"{live_server.url}/payments/bank")
    assert_accessible(page, "bank account, connected")

    # The member sends the claim; the lead approves it.
    page.goto(f"{live_server.url}/payments/claims/{claim_id}")
    page.get_by_role("button", name="Send claim").click()
    expect(page.locator("#claim-state")).to_have_text("Waiting for the lead to check it")
    with another_person(browser) as lead_page:
        sign_in_as(lead_page, live_server, lead)
        lead_page.goto(f"{live_server.url}/payments/claims/{claim_id}")
        lead_page.get_by_role("button", name="Approve claim").click()
        expect(lead_page.get_by_text("Claim approved. It is now with finance.")).to_be_visible()

    # Finance approves and pays; the worker sends the transfer.
    with another_person(browser) as finance_page:
        sign_in_as(finance_page, live_server, finance)
        finance_page.goto(f"{live_server.url}/payments/claims/{claim_id}")
        finance_page.get_by_role("button", name="Approve for payment").click()
        finance_page.get_by_role("button", name="Pay now by bank transfer").click()
        expect(finance_page.get_by_role("heading", level=1)).to_contain_text("Payout batch")
        with live_server.app.app_context():
            assert payouts.process_batches() == 1
            account = services.preferences_of(db.session.get(User, member_id)).stripe_account_id
            db.session.remove()

        # In the member's Stripe account, not yet in the bank: neither side says "Paid".
        expect(_state(finance_page, live_server, claim_id)).to_have_text("Transferred")
        assert_accessible(finance_page, "claim transferred, for finance")
        expect(_state(page, live_server, claim_id)).to_have_text("Sent to your Stripe account")
        assert_accessible(page, "claim transferred, for the member")
        assert stripe_server.deliver_pending() == [200, 200]  # account.updated, transfer.created
        expect(_state(page, live_server, claim_id)).to_have_text("Sent to your Stripe account")

        # Stripe pays the account out to the bank; its signed payout.paid arrives.
        stripe_server.pay_out(account)
        assert stripe_server.deliver_pending() == [200, 200]  # payout.created, payout.paid
        expect(_state(page, live_server, claim_id)).to_have_text("Paid")
        expect(_state(finance_page, live_server, claim_id)).to_have_text("Paid")
        expect(finance_page.locator("#payout-details")).to_contain_text("po_")


def test_a_failed_bank_payout_is_explained_to_both_sides(live_server, page, browser,
                                                        stripe_server):
    with live_server.app.app_context():
        seed()
        member, finance = make_member(), make_staff(Role.FINANCE)
        from tests.factories_payments import approved_claim, connect_bank

        account = stripe_server.add_account()
        connect_bank(member, account)
        claim_id = approved_claim(member).id
        db.session.commit()
        payouts.start_batch(finance, [claim_id])
        db.session.commit()
        payouts.process_batches()
        db.session.remove()
    stripe_server.pay_out(account, fail="account_closed")
    assert set(stripe_server.deliver_pending()) == {200}
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/payments/claims/{claim_id}")
    expect(page.locator("#payment-progress")).to_contain_text("Your bank did not accept")
    assert_accessible(page, "claim whose bank payout failed, for the member")
    with another_person(browser) as finance_page:
        sign_in_as(finance_page, live_server, finance)
        expect(_state(finance_page, live_server, claim_id)).to_have_text("Payment failed")
        expect(finance_page.locator("#payout-details")).to_contain_text(
            "The bank account has been closed.")
        assert_accessible(finance_page, "claim whose bank payout failed, for finance")
        finance_page.goto(f"{live_server.url}/payments/finance/payouts")
        assert_accessible(finance_page, "payouts with a failed payment")
