"""Payments pages through the real forms (CSRF included), uploads, and per-role access."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from engage.core.permissions import Role
from engage.extensions import db as _db
from engage.payments import services
from engage.payments.models import BenefitsNoticeView, Claim, ClaimState, Receipt
from tests.conftest import FormClient, csrf_from
from tests.factories import make_member, make_staff, sign_in
from tests.factories_events import make_event
from tests.factories_payments import approved_claim, make_claim, seed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ROLES = ["anonymous", "member", "other_member", "facilitator", "programme_lead", "finance",
         "safeguarding_lead", "admin"]


@pytest.fixture(autouse=True)
def _setup(app, tmp_path):
    app.config["UPLOADS_DIR"] = str(tmp_path / "receipts")
    seed()


def _signed_in(app, user) -> FormClient:
    visitor = FormClient(app.test_client())
    _db.session.commit()
    assert sign_in(visitor, user).status_code == 302
    return visitor


def _upload(visitor: FormClient, claim_id: int, filename: str, data: bytes, **fields):
    page = visitor.get(f"/payments/claims/{claim_id}")
    payload = {"csrf_token": csrf_from(page.get_data(as_text=True)), "category": "parking",
               "expense_date": "2026-11-01", "amount": "6.50", "description": "Car park",
               "receipt": (io.BytesIO(data), filename), **fields}
    return visitor.client.post(f"/payments/claims/{claim_id}/expenses", data=payload,
                               content_type="multipart/form-data")


def test_member_claims_with_a_car_journey_and_a_parking_receipt(app, db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    claim = make_claim(member, lead)
    visitor = _signed_in(app, member)
    page = visitor.get(f"/payments/claims/{claim.id}").get_data(as_text=True)
    assert "Level 4 meeting, 3 h 30 min attended → half day £75.00" in page
    response = visitor.post(f"/payments/claims/{claim.id}/expenses",
                            {"category": "car", "expense_date": "2026-11-01", "miles": "12"},
                            form_url=f"/payments/claims/{claim.id}")
    assert response.status_code == 302
    assert _upload(visitor, claim.id, "parking.png", PNG).status_code == 302
    page = visitor.get(f"/payments/claims/{claim.id}").get_data(as_text=True)
    assert "Car or van 12 miles at 45p → £5.40" in page
    assert "Total £86.90" in page
    assert "NHS England PPV v3" in page
    response = visitor.post(f"/payments/claims/{claim.id}/submit", {})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == ClaimState.SUBMITTED


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("receipt.pdf", PNG, "does not match"),
    ("receipt.png", b"<script>alert(1)</script>", "must be a PDF, JPEG or PNG"),
    ("receipt.pdf", b"%PDF-1.4\n/OpenAction << /JS (app.alert(1)) >>", "active content"),
    ("receipt.png", b"\x89PNG\r\n\x1a\n<script>x</script>", "active content"),
    ("big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 1024 * 1024), "larger than 10 MB"),
])
def test_bad_uploads_are_refused_and_the_typed_values_kept(app, db, filename, data, message):
    member = make_member()
    claim = make_claim(member)
    visitor = _signed_in(app, member)
    response = _upload(visitor, claim.id, filename, data, description="Kept text")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert message in body
    assert "Kept text" in body
    assert db.session.scalar(select(Receipt.id)) is None


def test_receipts_are_stored_encrypted_outside_the_web_root_and_served_as_attachments(
        app, db, tmp_path):
    member = make_member()
    claim = make_claim(member)
    visitor = _signed_in(app, member)
    _upload(visitor, claim.id, "parking.png", PNG)
    receipt = db.session.scalar(select(Receipt))
    stored = tmp_path / "receipts" / "receipts" / receipt.stored_name
    assert stored.stat().st_mode & 0o777 == 0o600
    assert PNG not in stored.read_bytes() and b"PNG" not in stored.read_bytes()
    assert "." not in receipt.stored_name and len(receipt.stored_name) == 48
    response = visitor.get(f"/payments/receipts/{receipt.id}")
    assert response.status_code == 200
    assert response.data == PNG
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Content-Type"] == "image/png"
    other = _signed_in(app, make_member())
    assert other.get(f"/payments/receipts/{receipt.id}").status_code == 404
    lead = _signed_in(app, make_staff(Role.FACILITATOR))
    assert lead.get(f"/payments/receipts/{receipt.id}").status_code == 404
    finance = _signed_in(app, make_staff(Role.FINANCE))
    assert finance.get(f"/payments/receipts/{receipt.id}").status_code == 200


def test_preferences_page_shows_the_notice_and_records_it(app, db):
    member = make_member()
    visitor = _signed_in(app, member)
    page = visitor.get("/payments/preferences").get_data(as_text=True)
    assert "Citizens Advice" in page
    assert "We never ask whether you receive benefits" in page
    assert db.session.scalar(select(BenefitsNoticeView).where(
        BenefitsNoticeView.user_id == member.id)) is not None
    response = visitor.post("/payments/preferences", {"choice": "cap", "cap": "abc",
                                                      "route": "stripe", "capacity": "self"})
    assert response.status_code == 200
    assert "Enter an amount in pounds and pence" in response.get_data(as_text=True)
    response = visitor.post("/payments/preferences", {"choice": "cap", "cap": "500",
                                                      "route": "voucher", "capacity": "self"})
    assert response.status_code == 302
    assert services.preferences_of(member).cap_pence == 50000


def test_lead_and_finance_approve_through_the_pages_and_the_statement_adds_up(app, db):
    member, lead, finance = make_member(), make_staff(Role.FACILITATOR), make_staff(Role.FINANCE)
    claim = make_claim(member, lead)
    services.submit_claim(member, claim)
    _db.session.commit()
    as_lead = _signed_in(app, lead)
    assert claim.activity_title in as_lead.get("/payments/lead").get_data(as_text=True)
    assert as_lead.post(f"/payments/claims/{claim.id}/lead-approve", {},
                        form_url=f"/payments/claims/{claim.id}").status_code == 302
    as_finance = _signed_in(app, finance)
    queue = as_finance.get("/payments/finance").get_data(as_text=True)
    assert claim.activity_title in queue
    assert as_finance.post("/payments/finance/bulk-approve", {"claim_ids": [claim.id]},
                           form_url="/payments/finance").status_code == 302
    response = as_finance.post(f"/payments/claims/{claim.id}/manual-payment",
                               {"method": "voucher", "reference": "VOUCHER-9"},
                               form_url=f"/payments/claims/{claim.id}")
    assert response.status_code == 302
    as_member = _signed_in(app, member)
    statement = as_member.get("/payments/statement").get_data(as_text=True)
    assert "£75.00" in statement
    csv = as_member.get("/payments/statement.csv")
    assert csv.headers["Content-Disposition"].startswith("attachment")
    assert "75.00" in csv.get_data(as_text=True)
    report = as_finance.get("/payments/finance/report").get_data(as_text=True)
    assert "They match." in report


def test_admin_adds_a_policy_version_and_never_edits_one(app, db):
    admin = make_staff(Role.ADMIN)
    visitor = _signed_in(app, admin)
    page = visitor.get("/payments/policy").get_data(as_text=True)
    assert "NHS England PPV policy" in page and "NICE lay members" in page and "NIHR" in page
    from engage.payments.models import PaymentScheme

    scheme = db.session.scalar(select(PaymentScheme).where(PaymentScheme.code == "nhse-ppv"))
    url = f"/payments/policy/schemes/{scheme.id}/versions/new"
    form = visitor.get(url).get_data(as_text=True)
    assert 'value="75.00"' in form
    data = {"label": "2027 rates", "effective_from": "2027-04-06", "paid_levels": ["3", "4"],
            "payment_mode": "day_rate", "half_day": "80", "full_day": "160", "hourly": "0",
            "threshold_minutes": "240", "threshold_is_half_day": "y",
            "claim_deadline_months": "3", "target_payment_days": "30", "cost_code": "PPV",
            "car_first_rate": "45", "car_band_miles": "10000", "car_after_rate": "25",
            "meals_cap": "15", "accommodation_cap": "120"}
    assert visitor.post(url, data).status_code == 302
    again = visitor.post(url, data)
    assert "already a version starting on that date" in again.get_data(as_text=True)
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("payments.") and "version" in rule.rule:
            assert "edit" not in rule.rule


def test_other_members_claim_is_not_found(app, db):
    claim = make_claim()
    other = _signed_in(app, make_member())
    assert other.get(f"/payments/claims/{claim.id}").status_code == 404
    response = other.post(f"/payments/claims/{claim.id}/submit", {}, form_url="/payments/")
    assert response.status_code == 404


def test_webhook_needs_no_csrf_but_a_signature(app, db, client):
    response = client.post("/payments/stripe/webhook", data=b'{"id": "evt_1"}',
                           headers={"Stripe-Signature": "t=1,v1=00"})
    assert response.status_code == 400


# --- every route, every role ------------------------------------------------------------------

SIGNED_IN = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 200)}
FINANCE_ONLY = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "finance": 200}
ADMIN_ONLY = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "admin": 200}
LEADS = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "facilitator": 200,
         "programme_lead": 200}
# The claim belongs to "member"; its lead is "facilitator". Others get 404, finance sees it.
CLAIM = {"anonymous": 302, "member": 200, "other_member": 404, "facilitator": 200,
         "programme_lead": 404, "finance": 200, "safeguarding_lead": 404, "admin": 404}
RECEIPT = CLAIM  # the claimant, the claim's lead and finance

GET_ROUTES = {
    "payments.index": ("/payments/", SIGNED_IN),
    "payments.preferences": ("/payments/preferences", SIGNED_IN),
    "payments.statement": ("/payments/statement", SIGNED_IN),
    "payments.statement_csv": ("/payments/statement.csv", SIGNED_IN),
    "payments.new_claim": ("/payments/claims/new", SIGNED_IN),
    "payments.connect_bank": ("/payments/bank", SIGNED_IN),
    "payments.bank_return": ("/payments/bank/return", {**SIGNED_IN,
                                                       **dict.fromkeys(ROLES[1:], 302)}),
    "payments.claim": ("/payments/claims/{claim}", CLAIM),
    "payments.receipt": ("/payments/receipts/{receipt}", RECEIPT),
    "payments.lead_queue": ("/payments/lead", LEADS),
    "payments.finance_queue": ("/payments/finance", FINANCE_ONLY),
    "payments.payouts": ("/payments/finance/payouts", FINANCE_ONLY),
    "payments.batch": ("/payments/finance/batches/{batch}", FINANCE_ONLY),
    "payments.download_payroll_export": ("/payments/finance/payroll-exports/{export}.csv",
                                         FINANCE_ONLY),
    "payments.payroll_exports": ("/payments/finance/payroll", FINANCE_ONLY),
    "payments.payroll_export": ("/payments/finance/payroll-exports/{export}", FINANCE_ONLY),
    "payments.report": ("/payments/finance/report", FINANCE_ONLY),
    "payments.advances_overview": ("/payments/finance/advances", FINANCE_ONLY),
    "payments.event_support": ("/payments/finance/advances/events/{event}", FINANCE_ONLY),
    "payments.policy_index": ("/payments/policy", ADMIN_ONLY),
    "payments.policy_version": ("/payments/policy/versions/{version}", ADMIN_ONLY),
    "payments.new_version": ("/payments/policy/schemes/{scheme}/versions/new", ADMIN_ONLY),
}
POST_ONLY = {
    "payments.add_expense", "payments.remove_expense", "payments.submit_claim",
    "payments.lead_approve", "payments.lead_return", "payments.lead_reject",
    "payments.finance_approve", "payments.finance_reject", "payments.finance_return",
    "payments.withdraw_approval", "payments.late_override",
    "payments.bulk_approve", "payments.pay_claims", "payments.record_manual",
    "payments.confirm_payroll_export",
    "payments.resolve_flag", "payments.stripe_webhook", "payments.reverse_entry",
    "payments.withdraw_support", "payments.cancel_payout", "payments.bank_details",
}


def test_every_payments_route_has_an_expectation(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()
                 if r.endpoint.startswith("payments.")}
    assert endpoints == set(GET_ROUTES) | POST_ONLY


@pytest.mark.parametrize("role", ROLES)
def test_role_gets_expected_status_on_every_payments_route(app, db, role):
    from engage.core import clock
    from engage.payments import payroll
    from engage.payments.models import PaymentScheme, PayoutBatch

    member, facilitator = make_member(), make_staff(Role.FACILITATOR)
    claim = make_claim(member, facilitator)
    services.add_expense(member, claim, category="parking", expense_date=claim.activity_date,
                         amount_pence=500, miles=None, description="", preapproved=False,
                         receipt_file=("r.png", PNG))
    batch = PayoutBatch(total=0, state="done")
    db.session.add(batch)
    payroll_member = make_member()
    services.update_preferences(payroll_member, choice="accept", cap_pence=None,
                                route="payroll", capacity="self", payroll_number="P1",
                                legal_name="Pat Payroll", access_needs_taxi=False)
    approved_claim(payroll_member)
    export, _problems = payroll.create_payroll_export(make_staff(Role.FINANCE),
                                                      clock.today_london())
    db.session.flush()
    ids = {"claim": claim.id, "receipt": db.session.scalar(select(Receipt.id)),
           "batch": batch.id, "export": export.id,
           "scheme": db.session.scalar(select(PaymentScheme.id)),
           "version": claim.policy_version_id, "event": make_event().id}
    if role == "anonymous":
        visitor = FormClient(app.test_client())
    elif role == "member":
        visitor = _signed_in(app, member)
    elif role == "other_member":
        visitor = _signed_in(app, make_member())
    elif role == "facilitator":
        visitor = _signed_in(app, facilitator)
    else:
        visitor = _signed_in(app, make_staff(Role(role)))
    wrong = {}
    for endpoint, (url, expected) in GET_ROUTES.items():
        status = visitor.get(url.format(**ids)).status_code
        if status != expected[role]:
            wrong[endpoint] = (status, expected[role])
    assert not wrong, f"{role}: (got, expected) {wrong}"


def test_post_routes_refuse_the_wrong_people(app, db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    claim = make_claim(member, lead)
    services.submit_claim(member, claim)
    other = _signed_in(app, make_member())
    url = f"/payments/claims/{claim.id}"
    assert other.post(f"{url}/lead-approve", {}, form_url="/payments/").status_code == 403
    assert other.post(f"{url}/finance-approve", {}, form_url="/payments/").status_code == 403
    assert other.post(f"{url}/cancel-payout", {}, form_url="/payments/").status_code == 403
    assert other.post(f"{url}/manual-payment", {"method": "voucher", "reference": "V1"},
                      form_url="/payments/").status_code == 403
    other_lead = _signed_in(app, make_staff(Role.FACILITATOR))
    assert other_lead.post(f"{url}/lead-approve", {}, form_url="/payments/").status_code == 404
    programme_lead = _signed_in(app, make_staff(Role.PROGRAMME_LEAD))
    assert programme_lead.post("/payments/finance/pay", {"claim_ids": [claim.id]},
                               form_url="/payments/").status_code == 403
    anonymous = FormClient(app.test_client())
    assert anonymous.post(f"{url}/submit", {}, form_url="/sign-in").status_code == 302
    assert app.test_client().get(f"{url}/submit").status_code == 405


def test_finance_corrects_the_ledger_with_a_reversing_entry(app, db):
    from engage.payments import ledger
    from engage.payments.models import LedgerEntry

    claim = approved_claim()
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.claim_id == claim.id))
    finance = _signed_in(app, make_staff(Role.FINANCE))
    url = f"/payments/claims/{claim.id}"
    assert "Correct a ledger entry" in finance.get(url).get_data(as_text=True)
    response = finance.post(f"/payments/finance/ledger/{entry.id}/reverse",
                            {"reason": "Approved in error"}, form_url=url)
    assert response.status_code == 302
    assert ledger.balance(claim.id) == 0
    member = _signed_in(app, make_member())
    assert member.post(f"/payments/finance/ledger/{entry.id}/reverse", {"reason": "x"},
                       form_url="/payments/").status_code == 403
