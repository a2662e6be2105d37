"""Staff must set up TOTP two-factor before anything else; codes cannot be replayed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import select

from engage.accounts import services
from engage.accounts.models import User
from engage.core import clock
from engage.core.permissions import Role
from tests.factories import PASSWORD, make_staff, sign_in


def test_staff_without_two_factor_is_sent_to_setup_for_everything(db, browser_like):
    staff = make_staff(Role.FACILITATOR, two_factor=False)
    db.session.commit()
    response = sign_in(browser_like, staff)
    assert response.headers["Location"].endswith("/account/two-factor/setup")
    for url in ["/account", "/notifications", "/admin/", "/account/export"]:
        blocked = browser_like.get(url)
        assert blocked.status_code == 302, url
        assert blocked.headers["Location"].endswith("/account/two-factor/setup"), url
    # safety pages stay reachable
    assert browser_like.get("/support").status_code == 200


def test_setup_confirms_with_a_code_and_gives_recovery_codes(db, browser_like):
    staff = make_staff(Role.FINANCE, two_factor=False)
    db.session.commit()
    sign_in(browser_like, staff)
    page = browser_like.get("/account/two-factor/setup").get_data(as_text=True)
    secret = re.search(r'class="engage-secret">([A-Z2-7]+)<', page).group(1)
    assert 'src="data:image/svg+xml' in page  # QR code, no external service
    wrong = browser_like.post("/account/two-factor/setup", {"code": "123456"})
    assert "That code did not work" in wrong.get_data(as_text=True)
    right = browser_like.post("/account/two-factor/setup",
                              {"code": pyotp.TOTP(secret).at(clock.now())})
    html = right.get_data(as_text=True)
    assert "Two-factor authentication is on" in html
    assert len(re.findall(r"<li>[0-9A-F]{5}-[0-9A-F]{5}</li>", html)) == 10
    assert browser_like.get("/account").status_code == 200


def test_replayed_code_is_refused(app, db):
    staff = make_staff(Role.ADMIN)
    db.session.commit()
    moment = datetime(2026, 11, 25, 12, 0, 5, tzinfo=UTC)
    with clock.frozen(moment):
        code = pyotp.TOTP(staff.totp_secret).at(moment)
        assert services.verify_totp(staff, code) is True
        assert services.verify_totp(staff, code) is False
    # an older code from the previous step is refused too once a newer one was used
    with clock.frozen(moment + timedelta(seconds=30)):
        assert services.verify_totp(staff, code) is False
        newer = pyotp.TOTP(staff.totp_secret).at(moment + timedelta(seconds=30))
        assert services.verify_totp(staff, newer) is True


def test_replayed_code_refused_through_sign_in(app, db):
    from tests.conftest import FormClient

    staff = make_staff(Role.PROGRAMME_LEAD)
    db.session.commit()
    moment = datetime(2026, 11, 25, 9, 0, 1, tzinfo=UTC)
    with clock.frozen(moment):
        code = pyotp.TOTP(staff.totp_secret).at(moment)
        first, second = FormClient(app.test_client()), FormClient(app.test_client())
        for visitor in (first, second):
            visitor.post("/sign-in", {"username": staff.username, "password": PASSWORD})
        assert first.post("/sign-in/two-factor", {"code": code}).status_code == 302
        replay = second.post("/sign-in/two-factor", {"code": code})
        assert replay.status_code == 200
        assert "That code did not work" in replay.get_data(as_text=True)


def test_recovery_code_replaces_lost_device_once(app, db):
    from tests.conftest import FormClient

    staff = make_staff(Role.SAFEGUARDING_LEAD)
    codes = services.issue_recovery_codes(staff)
    db.session.commit()
    visitor = FormClient(app.test_client())
    visitor.post("/sign-in", {"username": staff.username, "password": PASSWORD})
    assert visitor.post("/sign-in/two-factor", {"code": codes[0]}).status_code == 302
    again = FormClient(app.test_client())
    again.post("/sign-in", {"username": staff.username, "password": PASSWORD})
    assert again.post("/sign-in/two-factor", {"code": codes[0]}).status_code == 200
    assert services.unused_recovery_code_count(db.session.get(User, staff.id)) == 9


def test_two_factor_step_expires(app, db, browser_like):
    staff = make_staff(Role.FINANCE)
    db.session.commit()
    browser_like.post("/sign-in", {"username": staff.username, "password": PASSWORD})
    with browser_like.client.session_transaction() as session:
        session["pending_two_factor"]["at"] -= 600
        session.modified = True
    response = browser_like.get("/sign-in/two-factor")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")


def test_invited_staff_join_then_must_set_up_two_factor(app, db):
    from tests.conftest import FormClient

    admin = make_staff(Role.ADMIN)
    db.session.commit()
    admin_browser = FormClient(app.test_client())
    sign_in(admin_browser, admin)
    page = admin_browser.post("/admin/staff/invite", {"display_name": "Sam", "email": "",
                                                      "role": "facilitator"})
    link = re.search(r'href="(http://localhost/staff/join/[^"]+)"', page.get_data(as_text=True))
    assert link, "the invitation link is shown once"
    path = link.group(1).replace("http://localhost", "")
    newcomer = FormClient(app.test_client())
    joined = newcomer.post(path, {"username": "sam-f", "password": "seven quiet owls sing"})
    assert joined.headers["Location"].endswith("/account/two-factor/setup")
    user = db.session.scalar(select(User).where(User.username_key == "sam-f"))
    assert user.role_set == {Role.FACILITATOR}
    assert user.needs_two_factor_setup
    # the link works once
    assert FormClient(app.test_client()).get(path).status_code == 409


def test_expired_invitation_is_refused_kindly(app, db):
    admin = make_staff(Role.ADMIN)
    invitation = services.invite_staff(admin, role=Role.FINANCE, display_name="Chris", email=None)
    invitation.invitation.expires_at = clock.now() - timedelta(minutes=1)
    db.session.commit()
    response = app.test_client().get(f"/staff/join/{invitation.token}")
    assert response.status_code == 409
    assert "expired or has already been used" in response.get_data(as_text=True)
