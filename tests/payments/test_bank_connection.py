"""Members connect a bank account through Stripe's own pages, and find it again later."""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlencode

from engage.payments import services
from tests.conftest import FormClient
from tests.factories import make_member, sign_in
from tests.factories_payments import connect_bank


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _open(url: str, data: dict | None = None) -> tuple[int, str, str]:
    """(status, Location, body) of one request to the Stripe-compatible server's pages."""
    opener = urllib.request.build_opener(_NoRedirect)
    body = urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, data=body, timeout=5) as response:
            return response.status, "", response.read().decode()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers.get("Location", ""), ""


def _member(app, db, member=None) -> tuple[FormClient, object]:
    member = member or make_member()
    db.session.commit()
    visitor = FormClient(app.test_client())
    assert sign_in(visitor, member).status_code == 302
    return visitor, member


def test_member_connects_a_bank_account_through_stripe_onboarding(app, db, stripe_server):
    visitor, member = _member(app, db)
    index = visitor.get("/payments/").get_data(as_text=True)
    assert "Connect your bank account so we can pay you" in index
    assert 'value="stripe"' in visitor.get("/payments/preferences").get_data(as_text=True)
    response = visitor.post("/payments/bank", {})
    assert response.status_code == 302
    onboarding = response.headers["Location"]
    assert onboarding.startswith(stripe_server.api_base + "/connect/onboard/acct_")
    status, _, page = _open(onboarding)
    assert status == 200 and "Agree and submit" in page
    return_url = page.split('name="return_url" value="')[1].split('"')[0]
    status, location, _ = _open(onboarding, {"return_url": return_url})
    assert status == 303 and location.endswith("/payments/bank/return")
    returned = visitor.get("/payments/bank/return", follow_redirects=True)
    assert "Your bank account is connected" in returned.get_data(as_text=True)
    db.session.expire_all()
    pref = services.preferences_of(member)
    assert pref.stripe_onboarded and pref.stripe_account_id.startswith("acct_")
    # Asking again reuses the same connected account.
    visitor.post("/payments/bank", {}, form_url="/payments/")
    assert len(stripe_server.state.accounts) == 1


def test_the_bank_page_allows_exactly_the_stripe_connect_origin_as_a_form_action(
        app, db, stripe_server):
    visitor, _ = _member(app, db)
    bank = visitor.get("/payments/bank").headers["Content-Security-Policy"]
    assert f"form-action 'self' {stripe_server.api_base};" in bank
    other = visitor.get("/payments/").headers["Content-Security-Policy"]
    assert "form-action 'self';" in other
    app.config["STRIPE_CONNECT_ORIGIN"] = "https://connect.stripe.com"
    bank = visitor.get("/payments/bank").headers["Content-Security-Policy"]
    assert "form-action 'self' https://connect.stripe.com;" in bank
    # An onboarding link anywhere but that origin is never followed.
    response = visitor.post("/payments/bank", {}, follow_redirects=True)
    assert "We could not reach our payment provider" in response.get_data(as_text=True)


def test_with_stripe_off_the_members_pages_do_not_invite_them_to_connect_a_bank_account(
        app, db):
    visitor, member = _member(app, db)
    index = visitor.get("/payments/").get_data(as_text=True)
    assert "Connect your bank account" not in index and "/payments/bank" not in index
    preferences = visitor.get("/payments/preferences").get_data(as_text=True)
    assert 'value="stripe"' not in preferences and "Bank transfer" not in preferences
    bank = visitor.get("/payments/bank")
    text = bank.get_data(as_text=True)
    assert "Payments by bank transfer are not available here" in text
    assert "Continue to Stripe" not in text
    assert "form-action 'self';" in bank.headers["Content-Security-Policy"]
    response = visitor.post("/payments/bank", {}, form_url="/payments/", follow_redirects=True)
    assert "Bank transfers are not set up on this site yet" in response.get_data(as_text=True)
    assert services.preferences_of(member).stripe_account_id is None


def test_a_connected_member_checks_their_bank_details_with_stripe(app, db, stripe_server):
    member = make_member()
    account = stripe_server.add_account()
    connect_bank(member, account)
    visitor, _ = _member(app, db, member)
    assert ">Bank account<" in visitor.get("/payments/").get_data(as_text=True)
    page = visitor.get("/payments/bank").get_data(as_text=True)
    assert "Check your bank details with Stripe" in page
    response = visitor.post("/payments/bank/details", {}, form_url="/payments/bank")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{stripe_server.api_base}/connect/express/{account}"
    status, _, dashboard = _open(response.headers["Location"])
    assert status == 200 and "bank account ending 6789" in dashboard
