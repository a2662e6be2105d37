"""What staff see on a claim: who it is from, its receipts, and one id per box."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from engage.core.permissions import Role
from engage.extensions import db as _db
from engage.payments import services
from engage.payments.models import Receipt
from tests.conftest import FormClient, csrf_from
from tests.factories import make_member, make_staff, sign_in
from tests.factories_payments import make_claim, seed
from tests.html_checks import duplicate_ids

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _setup(app, tmp_path):
    app.config["UPLOADS_DIR"] = str(tmp_path / "receipts")
    seed()


def _signed_in(app, user) -> FormClient:
    visitor = FormClient(app.test_client())
    _db.session.commit()
    assert sign_in(visitor, user).status_code == 302
    return visitor


def _submitted_claim_with_receipt(app, member, lead):
    claim = make_claim(member, lead)
    owner = _signed_in(app, member)
    page = owner.get(f"/payments/claims/{claim.id}")
    owner.client.post(f"/payments/claims/{claim.id}/expenses", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "category": "parking",
        "expense_date": "2026-11-01", "amount": "6.50", "description": "Car park",
        "receipt": (io.BytesIO(PNG), "parking.png")}, content_type="multipart/form-data")
    services.submit_claim(member, claim)
    _db.session.commit()
    return claim


def test_the_claims_lead_sees_who_claimed_and_opens_the_receipt(app, db):
    member = make_member(display_name="Robin Ash")
    lead = make_staff(Role.FACILITATOR)
    claim = _submitted_claim_with_receipt(app, member, lead)
    receipt = db.session.scalar(select(Receipt))
    visitor = _signed_in(app, lead)

    page = visitor.get(f"/payments/claims/{claim.id}").get_data(as_text=True)
    assert 'id="claimant">Robin Ash<' in page
    assert f"/payments/receipts/{receipt.id}" in page
    download = visitor.get(f"/payments/receipts/{receipt.id}")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.get_data() == PNG
    # Another facilitator, not this claim's lead, cannot.
    other = _signed_in(app, make_staff(Role.FACILITATOR))
    assert other.get(f"/payments/receipts/{receipt.id}").status_code == 404


def test_the_claimant_does_not_see_their_own_name_as_claimant(app, db):
    member = make_member(display_name="Robin Ash")
    claim = make_claim(member)
    page = _signed_in(app, member).get(f"/payments/claims/{claim.id}").get_data(as_text=True)
    assert 'id="claimant"' not in page


def test_the_leads_approve_and_return_boxes_have_their_own_ids_and_labels(app, db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    claim = _submitted_claim_with_receipt(app, member, lead)
    page = _signed_in(app, lead).get(f"/payments/claims/{claim.id}").get_data(as_text=True)
    assert duplicate_ids(page) == []
    assert '<label class="nhsuk-label" for="approve-note">' in page
    assert 'for="return-reason"' in page and "Why you are returning it" in page


def test_a_return_without_a_reason_links_the_error_to_the_return_box(app, db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    claim = _submitted_claim_with_receipt(app, member, lead)
    visitor = _signed_in(app, lead)
    response = visitor.post(f"/payments/claims/{claim.id}/lead-return", {"reason": ""},
                            form_url=f"/payments/claims/{claim.id}")
    assert response.status_code == 400
    assert 'href="#return-reason"' in response.get_data(as_text=True)
