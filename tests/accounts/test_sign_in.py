"""Signing in: generic errors, throttling, session rotation, timeouts, signing out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engage.core.models import AuditEvent
from engage.core.permissions import Role
from tests.factories import PASSWORD, make_member, make_staff, sign_in, totp_now

GENERIC = "We could not sign you in with that username and password"


def test_member_signs_in_and_reaches_account(db, browser_like):
    user = make_member()
    db.session.commit()
    response = sign_in(browser_like, user)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    assert user.display_name in browser_like.get("/account").get_data(as_text=True)


def test_error_never_says_whether_account_exists(db, browser_like):
    user = make_member()
    db.session.commit()
    wrong_password = browser_like.post("/sign-in", {"username": user.username,
                                                    "password": "not it at all"})
    no_account = browser_like.post("/sign-in", {"username": "nobody-here",
                                                "password": "not it at all"})
    assert GENERIC in wrong_password.get_data(as_text=True)
    assert GENERIC in no_account.get_data(as_text=True)
    assert wrong_password.status_code == no_account.status_code == 200


def test_failed_sign_ins_are_audited(db, browser_like):
    user = make_member()
    db.session.commit()
    browser_like.post("/sign-in", {"username": user.username, "password": "wrong wrong"})
    actions = [e.action for e in db.session.scalars(select(AuditEvent))]
    assert "auth.sign_in_failed" in actions


def test_sign_in_throttled_per_account(app, db, browser_like):
    user = make_member()
    db.session.commit()
    statuses = [
        browser_like.post("/sign-in", {"username": user.username, "password": "wrong one"})
        .status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    # even the right password is refused while throttled
    assert sign_in(browser_like, user).status_code == 429


def test_sign_in_throttled_per_client_across_accounts(app, db, browser_like):
    app.config["LOGIN_LIMIT_PER_CLIENT"] = "3 per 10 minutes"
    statuses = [
        browser_like.post("/sign-in", {"username": f"someone{i}", "password": "wrong one"})
        .status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_someone_throttled_can_still_open_the_sign_in_page(app, db, browser_like):
    """Limits count sign-in attempts, not visits: the page (and its way to recover an account)
    still opens while attempts are refused."""
    app.config["LOGIN_LIMIT_PER_CLIENT"] = "1 per 10 minutes"
    for attempt in range(2):
        browser_like.post("/sign-in", {"username": f"someone{attempt}", "password": "wrong one"})
    assert browser_like.post("/sign-in", {"username": "someone", "password": "x"}
                             ).status_code == 429
    page = browser_like.get("/sign-in")
    assert page.status_code == 200
    assert "Sign in" in page.get_data(as_text=True)


def test_session_rotates_at_sign_in(db, browser_like):
    user = make_member()
    db.session.commit()
    with browser_like.client.session_transaction() as session:
        session["planted"] = "by someone else"
    sign_in(browser_like, user)
    with browser_like.client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("sid")


def test_the_session_cookie_holds_no_trace_of_the_persons_address_or_browser(db,
                                                                            browser_like):
    """Flask-Login would put a hash of the client's IP address and browser in the cookie
    (engage.extensions.FingerprintFreeLoginManager); the person stays signed in without it,
    from another address too."""
    user = make_member()
    db.session.commit()
    sign_in(browser_like, user)
    with browser_like.client.session_transaction() as session:
        assert session.get("sid")
        assert not session.get("_id")
    moved = browser_like.client.get("/account", environ_base={"REMOTE_ADDR": "192.0.2.7"},
                                    headers={"User-Agent": "Another browser"})
    assert moved.status_code == 200 and "Sign out" in moved.get_data(as_text=True)
    with browser_like.client.session_transaction() as session:
        assert not session.get("_id")


def test_member_session_expires_when_idle(app, db, browser_like):
    user = make_member()
    db.session.commit()
    sign_in(browser_like, user)
    idle = app.config["MEMBER_IDLE_TIMEOUT"]
    with browser_like.client.session_transaction() as session:
        session["seen_at"] -= idle.total_seconds() + 5
    response = browser_like.get("/account")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_staff_session_ends_after_30_minutes_idle(app, db, browser_like):
    staff = make_staff(Role.FACILITATOR)
    db.session.commit()
    sign_in(browser_like, staff)
    assert browser_like.get("/account").status_code == 200
    with browser_like.client.session_transaction() as session:
        session["seen_at"] -= timedelta(minutes=31).total_seconds()
    assert browser_like.get("/account").status_code == 302


def test_staff_session_ends_after_12_hours_in_total(app, db, browser_like):
    staff = make_staff(Role.FACILITATOR)
    db.session.commit()
    sign_in(browser_like, staff)
    with browser_like.client.session_transaction() as session:
        session["login_at"] -= timedelta(hours=12, minutes=1).total_seconds()
    assert browser_like.get("/account").status_code == 302


def test_sign_out_everywhere_ends_other_sessions(app, db):
    from tests.conftest import FormClient

    user = make_member()
    db.session.commit()
    laptop, phone = FormClient(app.test_client()), FormClient(app.test_client())
    sign_in(laptop, user)
    sign_in(phone, user)
    assert phone.get("/account").status_code == 200
    laptop.post("/account/sign-out-everywhere", form_url="/account")
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 302
    # signing in again works
    assert sign_in(phone, user).status_code == 302
    assert phone.get("/account").status_code == 200


def test_disabled_account_cannot_sign_in_and_is_signed_out(app, db, browser_like):
    user = make_member()
    db.session.commit()
    sign_in(browser_like, user)
    user.is_disabled = True
    user.session_version += 1
    db.session.commit()
    assert browser_like.get("/account").status_code == 302
    response = browser_like.post("/sign-in", {"username": user.username, "password": PASSWORD})
    assert GENERIC in response.get_data(as_text=True)


def test_sign_out(db, browser_like):
    user = make_member()
    db.session.commit()
    sign_in(browser_like, user)
    response = browser_like.post("/sign-out", form_url="/account", follow_redirects=True)
    assert "You have signed out" in response.get_data(as_text=True)
    assert browser_like.get("/account").status_code == 302


def test_next_redirect_is_same_site_only(db, browser_like):
    user = make_member()
    db.session.commit()
    browser_like.get("/sign-in?next=https://evil.example/steal")
    response = sign_in(browser_like, user)
    assert response.headers["Location"].endswith("/account")
    browser_like.post("/sign-out", form_url="/account")
    browser_like.get("/sign-in?next=//evil.example")
    assert sign_in(browser_like, user).headers["Location"].endswith("/account")
    browser_like.post("/sign-out", form_url="/account")
    browser_like.get("/sign-in?next=/notifications")
    assert sign_in(browser_like, user).headers["Location"].endswith("/notifications")


def test_staff_needs_second_factor(db, browser_like):
    staff = make_staff(Role.FINANCE)
    db.session.commit()
    response = browser_like.post("/sign-in", {"username": staff.username, "password": PASSWORD})
    assert response.headers["Location"].endswith("/sign-in/two-factor")
    assert browser_like.get("/account").status_code == 302  # not signed in yet
    wrong = browser_like.post("/sign-in/two-factor", {"code": "000000"})
    assert "That code did not work" in wrong.get_data(as_text=True)
    right = browser_like.post("/sign-in/two-factor", {"code": totp_now(staff)})
    assert right.status_code == 302
    assert browser_like.get("/account").status_code == 200


def _copy_of_the_cookie(app, browser_like):
    from tests.conftest import FormClient

    thief = FormClient(app.test_client())
    thief.client.set_cookie("session", browser_like.client.get_cookie("session").value)
    return thief


def test_item_5_signing_out_ends_the_session_so_a_copied_cookie_no_longer_works(
        app, db, browser_like):
    from engage.accounts.models import UserSession

    user = make_member()
    db.session.commit()
    sign_in(browser_like, user)
    copy = _copy_of_the_cookie(app, browser_like)
    assert copy.get("/account").status_code == 200, "a copied cookie works while signed in"
    assert db.session.scalar(select(UserSession.user_id)) == user.id

    browser_like.post("/sign-out", form_url="/account")

    replayed = copy.get("/account")
    assert replayed.status_code == 302 and "/sign-in" in replayed.headers["Location"]
    assert db.session.scalar(select(UserSession)) is None


def test_item_5_leaving_with_exit_this_page_ends_the_session_too(app, db, browser_like):
    user = make_member()
    db.session.commit()
    sign_in(browser_like, user)
    copy = _copy_of_the_cookie(app, browser_like)
    browser_like.get("/leave")
    assert copy.get("/account").status_code == 302


def test_item_5_other_sessions_survive_one_sign_out_and_end_with_sign_out_everywhere(app, db):
    from tests.conftest import FormClient

    user = make_member()
    db.session.commit()
    laptop, phone, tablet = (FormClient(app.test_client()) for _ in range(3))
    for browser in (laptop, phone, tablet):
        sign_in(browser, user)
    laptop.post("/sign-out", form_url="/account")
    assert phone.get("/account").status_code == 200
    phone.post("/account/sign-out-everywhere", form_url="/account")
    assert tablet.get("/account").status_code == 302
