"""Payments in a real browser: axe on every new page type, and a keyboard-only claim."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from engage.core import clock
from engage.core.permissions import Role
from engage.extensions import db
from engage.payments import payroll, services
from engage.payments.models import PaymentScheme, PayoutBatch
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.factories import make_member, make_staff
from tests.factories_events import make_panel
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
        payroll_member = make_member()
        services.update_preferences(payroll_member, choice="accept", cap_pence=None,
                                    route="payroll", capacity="self", payroll_number="PR-1",
                                    legal_name="Pat Example", access_needs_taxi=False)
        approved_claim(payroll_member, lead)
        export, _ = payroll.create_payroll_export(finance, clock.today_london())
        make_panel(facilitators=[lead], members=[member])
        ids = {"claim": claim.id, "sent": sent.id, "ready": ready.id, "batch": batch.id,
               "scheme": db.session.query(PaymentScheme.id).first()[0],
               "version": claim.policy_version_id, "export": export.id}
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
                       ("/payments/finance?q=person&state=approved&from=2020-01-01",
                        "finance queue searched and filtered"),
                       ("/payments/finance?from=soon", "finance queue with a date error"),
                       ("/payments/finance/payroll", "payroll exports"),
                       (f"/payments/finance/payroll-exports/{people['export']}",
                        "payroll export to confirm"),
                       (f"/payments/claims/{people['ready']}",
                        "approved claim for finance, with the withdraw form")]:
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


def test_finance_finds_and_pages_claims_without_javascript(live_server, page_without_js,
                                                           people):
    page = page_without_js
    sign_in_as(page, live_server, people["finance"])
    page.goto(f"{live_server.url}/payments/finance?state=approved")
    page.get_by_label("Claim number or claimant's name").fill(str(people["ready"]))
    page.get_by_role("button", name="Find claims").click()
    expect(page.get_by_role("link", name=f"Claim {people['ready']}")).to_be_visible()
    expect(page.get_by_text("1 claim found", exact=False)).to_be_visible()
    # axe runs only with JavaScript on: test_finance_pages_are_accessible checks this page.


def test_lead_rejects_a_claim_with_the_keyboard(live_server, page, people):
    sign_in_as(page, live_server, people["lead"])
    page.goto(f"{live_server.url}/payments/claims/{people['sent']}")
    page.get_by_label("Why should it not be paid?").fill("This meeting was not paid.")
    page.get_by_label("Why should it not be paid?").press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Not approved", exact=True)).to_be_visible()
    assert_accessible(page, "claim after the lead rejected it")


def test_benefits_notice_before_a_paid_role_and_a_payable_cancellation(live_server, page,
                                                                      people):
    from tests.factories_events import make_event

    with live_server.app.app_context():
        member = make_member()
        panel = make_panel(members=[member], involvement_level=4)
        open_panel = make_panel(involvement_level=4)
        lead = db.session.merge(people["lead"])  # made in the fixture's own app context
        event = make_event(organiser=lead, panel=panel)
        ids = {"panel": open_panel.id, "event": event.id}
        db.session.commit()
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/panels/{ids['panel']}/apply")
    expect(page.locator("#benefits-notice")).to_be_visible()
    assert_accessible(page, "panel application with the benefits notice")
    page.goto(f"{live_server.url}/events/{ids['event']}/book")
    expect(page.locator("#benefits-notice")).to_be_visible()
    assert_accessible(page, "event booking with the benefits notice")
    page.get_by_role("button", name="Book my place").click()
    expect(page.get_by_text("Your place is booked.")).to_be_visible()

    lead_page = page.context.browser.new_context(locale="en-GB").new_page()
    sign_in_as(lead_page, live_server, people["lead"])
    lead_page.goto(f"{live_server.url}/events/{ids['event']}/cancel")
    lead_page.get_by_label("People with a place are paid as if it went ahead").check()
    assert_accessible(lead_page, "cancel an event, payable")
    lead_page.get_by_role("button", name="Cancel the event").click()
    lead_page.context.close()
    page.goto(f"{live_server.url}/payments/")
    page.locator("main").get_by_role("link", name=re.compile("Event")).first.click()
    expect(page.get_by_text("cancelled, paid as planned", exact=False)).to_be_visible()
