"""Walks every foundation route for every role: server-side authorisation on each one.

Feature domains keep their own per-role route tests next to their code; this walk fails when a
foundation endpoint (core, accounts, admin) has no expectation here.
"""

from __future__ import annotations

import pytest

from engage.core.permissions import Role
from tests.conftest import FormClient
from tests.factories import make_member, make_staff, sign_in
from tests.factories_consultations import make_consultation
from tests.factories_panels import make_panel

ROLES = ["anonymous", "member", *[r.value for r in Role if r != Role.MEMBER]]
FOUNDATION_BLUEPRINTS = {"core", "accounts", "admin"}

OK_ALL = dict.fromkeys(ROLES, 200)
SIGNED_IN = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 200)}
TRIAGE_FEEDBACK = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "facilitator": 200,
                   "programme_lead": 200}
ADMIN_ONLY = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "admin": 200}
ANON_ONLY = {"anonymous": 200, **dict.fromkeys(ROLES[1:], 302)}
STAFF_TWO_FACTOR_DONE = {"anonymous": 302, "member": 200, **dict.fromkeys(ROLES[2:], 302)}
MEMBER_ONLY_CLOSE = {"anonymous": 302, "member": 200, **dict.fromkeys(ROLES[2:], 302)}

# endpoint -> (url, expected status per role)
EXPECTED = {
    "core.home": ("/", OK_ALL),
    "core.healthz": ("/healthz", OK_ALL),
    "core.readyz": ("/readyz", OK_ALL),
    "core.leave": ("/leave", dict.fromkeys(ROLES, 302)),
    "core.leaving_quickly": ("/leaving-quickly", OK_ALL),
    "core.support": ("/support", OK_ALL),
    "core.accessibility": ("/accessibility", OK_ALL),
    "core.cookies": ("/cookies", OK_ALL),
    "core.vendor_asset": ("/assets/nhsuk-frontend.min.css", OK_ALL),
    "accounts.register": ("/register", ANON_ONLY),
    "accounts.sign_in": ("/sign-in", ANON_ONLY),
    "accounts.two_factor": ("/sign-in/two-factor", dict.fromkeys(ROLES, 302)),
    "accounts.recover": ("/account/recover", OK_ALL),
    "accounts.forgot": ("/account/forgot", OK_ALL),
    "accounts.reset": ("/account/reset/not-a-token", dict.fromkeys(ROLES, 409)),
    "accounts.account": ("/account", SIGNED_IN),
    "accounts.contact": ("/account/contact", SIGNED_IN),
    "accounts.change_password": ("/account/password", SIGNED_IN),
    "accounts.recovery_codes": ("/account/recovery-codes", SIGNED_IN),
    "accounts.two_factor_setup": ("/account/two-factor/setup", STAFF_TWO_FACTOR_DONE),
    "accounts.export": ("/account/export", SIGNED_IN),
    "accounts.close": ("/account/close", MEMBER_ONLY_CLOSE),
    "accounts.notifications": ("/notifications", SIGNED_IN),
    "accounts.join_staff": ("/staff/join/not-a-token", dict.fromkeys(ROLES, 409)),
    "admin.index": ("/admin/", ADMIN_ONLY),
    "admin.invite": ("/admin/staff/invite", ADMIN_ONLY),
    "admin.user_detail": ("/admin/users/{member_id}", ADMIN_ONLY),
    "admin.audit_log": ("/admin/audit", ADMIN_ONLY),
    "admin.approvals": ("/admin/approvals", ADMIN_ONLY),
    # Feature routes are walked per role in their own domain's tests; these are here too.
    "feedback.on_behalf": ("/staff/feedback/on-behalf", TRIAGE_FEEDBACK),
    # A panel consultation: programme leads run every panel; a facilitator not listed on this
    # panel cannot see it at all.
    "consultations.on_behalf": ("/consultations/{consultation_id}/on-behalf",
                                {**TRIAGE_FEEDBACK, "facilitator": 404}),
}

# POST-only endpoints: an anonymous visitor is sent to sign in (after the CSRF check passes).
POST_ONLY = {
    "accounts.sign_out": "/sign-out",
    "accounts.sign_out_everywhere": "/account/sign-out-everywhere",
    "accounts.mark_read": "/notifications/1/read",
    "accounts.mark_all_read": "/notifications/read-all",
    "admin.approve": "/admin/approvals/1/approve",
    "admin.decline": "/admin/approvals/1/decline",
}


def test_every_foundation_endpoint_has_an_expectation(app):
    endpoints = {
        rule.endpoint for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in FOUNDATION_BLUEPRINTS
    }
    missing = endpoints - set(EXPECTED) - set(POST_ONLY)
    assert not missing, f"add route-access expectations for {sorted(missing)}"


def _visitor(app, role: str):
    visitor = FormClient(app.test_client())
    if role == "anonymous":
        return visitor
    user = make_member() if role == "member" else make_staff(Role(role))
    from engage.extensions import db

    db.session.commit()
    assert sign_in(visitor, user).status_code == 302
    return visitor


@pytest.mark.parametrize("role", ROLES)
def test_role_gets_expected_status_on_every_route(app, db, role):
    member = make_member()
    consultation = make_consultation(panel=make_panel())
    db.session.commit()
    visitor = _visitor(app, role)
    wrong = {}
    # /leave ends the session, so it goes last.
    ordered = sorted(EXPECTED.items(), key=lambda item: item[0] == "core.leave")
    for endpoint, (url, expected) in ordered:
        status = visitor.get(url.format(member_id=member.id,
                                        consultation_id=consultation.id)).status_code
        if status != expected[role]:
            wrong[endpoint] = (status, expected[role])
    assert not wrong, f"{role}: (got, expected) {wrong}"


def test_post_only_routes_need_sign_in(app, db):
    visitor = FormClient(app.test_client())
    for endpoint, url in POST_ONLY.items():
        response = visitor.post(url, form_url="/sign-in")
        if endpoint == "accounts.sign_out":
            assert response.status_code == 302
            continue
        assert response.status_code == 302, endpoint
        assert "/sign-in" in response.headers["Location"], endpoint


def test_state_changes_are_refused_on_get(app):
    client = app.test_client()
    for url in POST_ONLY.values():
        assert client.get(url).status_code == 405, url
