"""Records finance can use: the payroll export, the tax-year statement, who acted on a claim,
and the finance queue. Each test is named after the item of issue 12 it checks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from engage.core import clock
from engage.core.permissions import Role
from engage.core.personal_data import close_all
from engage.errors import ValidationFailed
from engage.payments import ledger, payouts, payroll, reports, services
from engage.payments.models import (
    ActivitySupport,
    Claim,
    ClaimState,
    PaymentPreference,
    PayrollLine,
)
from engage.payments.retention import pseudonymise_old_payment_records
from tests.factories import make_member, make_staff
from tests.factories_events import make_panel
from tests.factories_panels import PersonClient
from tests.factories_payments import approved_claim, make_claim, seed
from tests.factories_programmes_advances import make_programme, put_in_programme

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _setup(app, tmp_path):
    app.config["RECEIPTS_DIR"] = str(tmp_path / "receipts")
    seed()
    yield
    clock.set_frozen(None)


def _at(year, month, day, hour=12, minute=0) -> None:
    clock.set_frozen(datetime(year, month, day, hour, minute, tzinfo=UTC))


def _payroll_member(name="Alex Jordan Smith", reference="PR-77"):
    member = make_member()
    services.update_preferences(member, choice="accept", cap_pence=None, route="payroll",
                                capacity="self", payroll_number=reference, legal_name=name,
                                access_needs_taxi=False)
    return member


def _rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode())))


# --- the payroll export ---


def test_payroll_export_has_one_line_per_pay_element_with_legal_name_tax_year_and_pay_date(
        app, db):
    _at(2027, 4, 1)
    member = _payroll_member(reference="=HYPERLINK(1)")
    lead, finance = make_staff(Role.FACILITATOR), make_staff(Role.FINANCE)
    claim = make_claim(member, lead, day=date(2027, 3, 20))
    for category, amount, miles in (("car", None, 12), ("parking", 650, None)):
        services.add_expense(member, claim, category=category, expense_date=claim.activity_date,
                             amount_pence=amount, miles=miles, description="",
                             preapproved=False, receipt_file=("r.png", PNG))
    db.session.add(ActivitySupport(
        user_id=member.id, kind="advance", activity_kind="event",
        activity_ref_id=claim.activity_ref_id, activity_title=claim.activity_title,
        activity_date=claim.activity_date, amount_pence=1000, route="voucher", reference="A-1",
        paid_on=date(2027, 3, 18), idempotency_key="advance-1"))
    services.submit_claim(member, claim)
    services.lead_approve(lead, claim)
    services.finance_approve(finance, claim)
    assert claim.to_pay_pence == 7500 + 540 + 650 - 1000

    export, problems = payroll.create_payroll_export(finance, date(2027, 4, 10))
    assert problems == []
    assert export.content.decode().splitlines()[0] == ",".join(payroll.PAYROLL_HEADER)
    rows = _rows(export.content)
    assert [(r["element"], r["taxable"], r["amount"]) for r in rows] == [
        ("involvement_fee", "yes", "75.00"), ("expense_car", "no", "5.40"),
        ("expense_parking", "no", "6.50"), ("advance_deducted", "no", "-10.00")]
    for row in rows:
        assert row["legal_name"] == "Alex Jordan Smith"
        assert row["payroll_reference"] == "'=HYPERLINK(1)"  # formula injection neutralised
        assert row["pay_date"] == "2027-04-10"
        assert row["tax_year"] == "2027\u201328"  # the pay date's tax year, not the activity's
        assert row["claim"] == str(claim.id)
    assert [r["description"] for r in rows][1] == "Expenses: Car or van"
    assert sum(int(r["amount"].replace(".", "")) for r in rows) == claim.to_pay_pence

    # The same bytes on every download.
    db.session.commit()
    browser = PersonClient(app, finance)
    first = browser.get(f"/payments/finance/payroll-exports/{export.id}.csv").data
    second = browser.get(f"/payments/finance/payroll-exports/{export.id}.csv").data
    assert first == second == export.content
    with pytest.raises(ValidationFailed, match="no approved payroll claims"):
        payroll.create_payroll_export(finance, date(2027, 4, 10))


def test_payroll_details_are_asked_for_only_when_payroll_is_chosen_and_held_encrypted(db):
    member = make_member()
    with pytest.raises(ValidationFailed, match="legal name and your payroll number"):
        services.update_preferences(member, choice="accept", cap_pence=None, route="payroll",
                                    capacity="self", payroll_number="PR-1", legal_name="",
                                    access_needs_taxi=False)
    _payroll_member(name="Sam Q Public", reference="PR-1")
    member = db.session.scalar(select(PaymentPreference).order_by(PaymentPreference.id.desc()))
    raw = db.session.execute(text("SELECT legal_name, payroll_number FROM payment_preferences "
                                  "WHERE id = :id"), {"id": member.id}).one()
    assert "Sam" not in raw[0] and "PR-1" not in raw[1]
    assert member.legal_name == "Sam Q Public"
    owner = db.session.get(type(make_member()), member.user_id)
    services.update_preferences(owner, choice="accept", cap_pence=None, route="stripe",
                                capacity="self", payroll_number="PR-1", legal_name="Sam Q Public",
                                access_needs_taxi=False)
    db.session.refresh(member)
    assert member.legal_name is None and member.payroll_number is None


def test_confirming_an_export_can_mark_single_lines_failed_and_they_go_back_to_finance(app, db):
    finance = make_staff(Role.FINANCE)
    paid_member, failed_member = _payroll_member(), _payroll_member(name="Robin Lee")
    paid, failed = approved_claim(paid_member), approved_claim(failed_member)
    export, _problems = payroll.create_payroll_export(finance, clock.today_london())
    db.session.commit()
    browser = PersonClient(app, finance)
    url = f"/payments/finance/payroll-exports/{export.id}"
    page = browser.get(url).get_data(as_text=True)
    assert f"Payroll did not pay line 2 (claim {failed.id})" in page
    assert f"Claim {failed.id}</a>: {failed_member.display_name}" in page

    # A failed line needs what payroll said; the tick is kept.
    response = browser.post(f"{url}/confirm", {"failed": str(failed.id)}, form_url=url)
    assert response.status_code == 400
    assert f'value="{failed.id}" checked' in response.get_data(as_text=True)
    response = browser.post(f"{url}/confirm", {
        "failed": str(failed.id), f"failed-reason-{failed.id}": "Payroll number not found"},
        form_url=url)
    assert response.status_code == 302
    db.session.expire_all()
    paid, failed = db.session.get(Claim, paid.id), db.session.get(Claim, failed.id)
    assert paid.state == ClaimState.PAID and ledger.balance(paid.id) == 0
    assert failed.state == ClaimState.PAYMENT_FAILED and failed.payroll_export_id is None
    assert ledger.balance(failed.id) == failed.total_pence  # still owed
    line = db.session.scalar(select(PayrollLine).where(PayrollLine.claim_id == failed.id))
    assert (line.state, line.failure_reason) == ("failed", "Payroll number not found")
    assert "Payroll did not pay it" in failed.history[-1].reason
    # Back with finance: in the queue, and in the next export.
    assert f"Claim {failed.id}" in browser.get("/payments/finance").get_data(as_text=True)
    again, _problems = payroll.create_payroll_export(finance, clock.today_london())
    assert {r["claim"] for r in _rows(again.content)} == {str(failed.id)}


# --- the tax-year statement ---


def test_tax_year_statement_counts_money_in_the_tax_year_it_was_paid(app, db):
    _at(2026, 3, 25)
    member, finance = make_member(), make_staff(Role.FINANCE)
    march = approved_claim(member, day=date(2026, 3, 10), ref_id=1)  # 2025-26 activity
    late_on_5_april = approved_claim(member, day=date(2026, 3, 11), ref_id=2)
    _at(2026, 4, 5, 22, 30)  # 23:30 in London on 5 April: still 2025-26
    payouts.record_manual_payment(finance, late_on_5_april, "V-5")
    _at(2026, 4, 7)
    payouts.record_manual_payment(finance, march, "V-7")

    earlier, later = reports.statement(member.id, 2025), reports.statement(member.id, 2026)
    assert [c.id for c in earlier.claims] == [late_on_5_april.id]
    assert [c.id for c in later.claims] == [march.id]
    assert later.involvement_pence == 7500
    people = {p["user_id"]: p for p in reports.per_person_totals(2026)}
    assert people[member.id]["involvement"] == 7500
    db.session.commit()
    page = PersonClient(app, member).get("/payments/statement?year=2026").get_data(as_text=True)
    assert "counted on the day it was paid" in page and "£75.00" in page


# --- who acted on a claim ---


def test_who_approved_overrode_and_paid_stays_on_the_record_after_staff_accounts_close(app, db):
    member = make_member()
    lead = make_staff(Role.FACILITATOR, display_name="Lee Lead")
    approver = make_staff(Role.FINANCE, display_name="Fran Finance")
    payer = make_staff(Role.FINANCE, display_name="Pat Payer")
    _at(2026, 1, 10)
    claim = make_claim(member, lead, day=date(2025, 9, 1))
    services.submit_claim(member, claim)
    assert claim.is_late
    services.lead_approve(lead, claim)
    services.override_late(approver, claim, "Was in hospital")
    services.finance_approve(approver, claim)
    payouts.record_manual_payment(payer, claim, "V-9")
    for person in (lead, approver, payer):
        close_all(person, keep_contributions=False)
    db.session.flush()
    db.session.expire_all()
    claim = db.session.get(Claim, claim.id)
    assert claim.lead_approved_by_id is None and claim.finance_approved_by_id is None
    assert (claim.lead_approved_by_name, claim.late_override_by_name,
            claim.finance_approved_by_name, claim.paid_by_name) == (
        "Lee Lead", "Fran Finance", "Fran Finance", "Pat Payer")
    assert {e.actor_name for e in claim.history} >= {"Lee Lead", "Fran Finance", "Pat Payer"}
    db.session.commit()
    page = PersonClient(app, make_staff(Role.FINANCE)).get(
        f"/payments/claims/{claim.id}").get_data(as_text=True)
    assert "Lead: Lee Lead" in page and "Payment: Pat Payer" in page

    # Kept for the six years payment records are kept, then cleared with the rest.
    pseudonymise_old_payment_records(datetime(2032, 6, 1, tzinfo=UTC), 72)
    claim = db.session.get(Claim, claim.id)
    assert claim.lead_approved_by_name is None and claim.user_id is None
    assert all(e.actor_name is None for e in claim.history)


# --- the finance queue ---


def _queue(browser, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return browser.get(f"/payments/finance?{query}").get_data(as_text=True)


def test_finance_queue_has_a_claimant_column_search_filters_and_human_labels(app, db):
    programme = make_programme("Survivor voice")
    panel = put_in_programme(make_panel(), programme)
    lead = make_staff(Role.FACILITATOR)
    river, sky = make_member(display_name="River Song"), make_member(display_name="Sky Blue")
    first = make_claim(river, lead, ref_id=1, day=clock.today_london() - timedelta(days=20))
    first.panel_id = panel.id
    second = make_claim(sky, lead, ref_id=2, day=clock.today_london() - timedelta(days=3))
    services.add_expense(sky, second, category="public_transport",
                         expense_date=second.activity_date, amount_pence=1240, miles=None,
                         description="", preapproved=False, receipt_file=("r.png", PNG))
    for owner, claim in ((river, first), (sky, second)):
        services.submit_claim(owner, claim)
        services.lead_approve(lead, claim)
    finance = make_staff(Role.FINANCE)
    db.session.commit()
    browser = PersonClient(app, finance)

    page = _queue(browser)
    assert ">Claimant<" in page and "River Song" in page and "Sky Blue" in page
    assert "Waiting for finance to check it" in page and "lead_approved" not in page.split(
        "<tbody")[1]
    assert "River Song" in _queue(browser, q="river") and "Sky Blue" not in _queue(browser,
                                                                                   q="river")
    by_number = _queue(browser, q=f"claim+{second.id}")
    assert "Sky Blue" in by_number and "River Song" not in by_number
    recent = _queue(browser, **{"from": (clock.today_london() - timedelta(days=7)).isoformat()})
    assert "Sky Blue" in recent and "River Song" not in recent
    assert "Enter the first activity date as a date" in _queue(browser, **{"from": "soon"})
    in_programme = _queue(browser, programme=programme.id)
    assert "River Song" in in_programme and "Sky Blue" not in in_programme
    one_activity = _queue(browser, activity=f"event:{second.activity_ref_id}")
    assert "Sky Blue" in one_activity and "River Song" not in one_activity
    assert "No claims match" in _queue(browser, state="paid")
    # Human words, not codes, on the claim page and in the report.
    finance_page = browser.get(f"/payments/claims/{second.id}").get_data(as_text=True)
    assert "Public transport" in finance_page and "public_transport" not in finance_page


def test_finance_queue_is_paginated_without_javascript(app, db):
    lead = make_staff(Role.FACILITATOR)
    for ref in range(55):
        member = make_member(display_name=f"Member {ref:02d}")
        claim = make_claim(member, lead, ref_id=ref + 1)
        services.submit_claim(member, claim)
        services.lead_approve(lead, claim)
    finance = make_staff(Role.FINANCE)
    db.session.commit()
    browser = PersonClient(app, finance)
    first = _queue(browser)
    assert "55 claims found" in first and "Claims, page 1 of 2" in first
    assert 'href="/payments/finance?page=2"' in first
    second = _queue(browser, page=2)
    assert "Claims, page 2 of 2" in second and second.count('name="claim_ids"') == 5
    # Filters are kept from page to page.
    filtered = _queue(browser, q="member", page=1)
    assert 'href="/payments/finance?page=2&amp;q=member"' in filtered
