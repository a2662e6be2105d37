"""Payments in a real browser: axe on every new page type, and a keyboard-only claim."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from engage.core.permissions import Role
from engage.extensions import db
from engage.payments import services
from engage.payments.models import PaymentScheme, PayoutBatch
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.factories import make_member, make_staff
from tests.factories_payments import approved_claim, make_claim, seed

pytestmark = pytest.mark.browser

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def focused(page: Page) -> dict:
    return page.evaluate("""() => {
      const el = document.activeElement;
      return {tag: el.tagName.toLowerCase(), id: el.id, text: (el.innerText || "").trim()};
    }""")


def tab_until(page: Page, check, limit: int = 80) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if check(now):
            return now
    pytest.fail("Tab never reached the expected control")


@pytest.fixture
def people(live_server: LiveServer, tmp_path):
    live_server.app.config["UPLOADS_DIR"] = str(tmp_path / "receipts")
    with live_server.app.app_context():
        seed()
        member, lead = make_member(), make_staff(Role.FACILITATOR)
        finance, admin = make_staff(Role.FINANCE), make_staff(Role.ADMIN)
        claim = make_claim(member, lead)
        services.add_expense(member, claim, category="parking",
                             expense_date=claim.activity_date, amount_pence=650, miles=None,
                             description="Car park", preapproved=False,
                             receipt_file=("parking.png", PNG))
        sent = make_claim(member, lead, ref_id=2)
        services.submit_claim(member, sent)
        ready = approved_claim(make_member(), lead)
        batch = PayoutBatch(total=0, state="done")
        db.session.add(batch)
        db.session.flush()
        ids = {"claim": claim.id, "sent": sent.id, "ready": ready.id, "batch": batch.id,
               "scheme": db.session.query(PaymentScheme.id).first()[0],
               "version": claim.policy_version_id}
        db.session.commit()
    return {"member": member, "lead": lead, "finance": finance, "admin": admin, **ids}


def test_member_payment_pages_are_accessible(live_server, page, people):
    sign_in_as(page, live_server, people["member"])
    for path, name in [("/payments/", "your payments"),
                       ("/payments/preferences", "payment preferences"),
                       ("/payments/claims/new", "new expense claim"),
                       (f"/payments/claims/{people['claim']}", "draft claim"),
                       (f"/payments/claims/{people['sent']}", "sent claim"),
                       ("/payments/statement", "yearly statement"),
                       ("/payments/bank", "connect bank account")]:
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page, name)
    page.goto(f"{live_server.url}/payments/claims/{people['claim']}")
    page.get_by_label("Amount in pounds").fill("lots")
    page.get_by_role("button", name="Add expense").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page, "claim with an expense error")


def test_staff_payment_pages_are_accessible(live_server, page, people):
    sign_in_as(page, live_server, people["lead"])
    for path, name in [("/payments/lead", "lead queue"),
                       (f"/payments/claims/{people['sent']}", "claim for the lead")]:
        page.goto(f"{live_server.url}{path}")
        assert_accessible(page, name)


def test_finance_pages_are_accessible(live_server, page, people):
    sign_in_as(page, live_server, people["finance"])
    for path, name in [("/payments/finance", "finance queue"),
                       ("/payments/finance/payouts", "payouts"),
                       (f"/payments/finance/batches/{people['batch']}", "payout batch"),
                       ("/payments/finance/report", "reports"),
                       (f"/payments/claims/{people['ready']}", "claim for finance")]:
        page.goto(f"{live_server.url}{path}")
        assert_accessible(page, name)


def test_policy_pages_are_accessible(live_server, page, people):
    sign_in_as(page, live_server, people["admin"])
    for path, name in [("/payments/policy", "payment policy"),
                       (f"/payments/policy/versions/{people['version']}", "policy version"),
                       (f"/payments/policy/schemes/{people['scheme']}/versions/new",
                        "new policy version")]:
        page.goto(f"{live_server.url}{path}")
        assert_accessible(page, name)


def test_keyboard_only_claim_with_an_expense(live_server, page, people):
    sign_in_as(page, live_server, people["member"])
    page.goto(f"{live_server.url}/payments/claims/{people['claim']}")
    tab_until(page, lambda f: f["id"] == "category")
    page.keyboard.type("Car")
    assert page.eval_on_selector("#category", "el => el.value") == "car"
    tab_until(page, lambda f: f["id"] == "miles", limit=12)
    page.keyboard.type("12")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Car or van 12 miles at 45p → £5.40")).to_be_visible()
    expect(page.get_by_text("Total £86.90", exact=False)).to_be_visible()
    tab_until(page, lambda f: f["text"] == "Send claim")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Waiting for the lead to check it", exact=True)).to_be_visible()
    assert_accessible(page, "claim after sending")
