"""The session cookie is checked, and the form token signed, once per value
(engage/core/sessions.py), and the home page is kept for signed-in members
(engage/core/page_shell.py). None of it may let a forged cookie or another session's token in,
or carry one request's changes into another."""

from __future__ import annotations

from flask import request

from engage.core.notify import Message, notify
from tests.conftest import csrf_from
from tests.core.test_staff_queues import signed_in
from tests.factories import make_member


def _cookie(visitor, app) -> str:
    return visitor.client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def _with_cookie(visitor, app, value: str) -> None:
    visitor.client.set_cookie(app.config["SESSION_COOKIE_NAME"], value)


def test_an_altered_cookie_is_refused_even_after_the_real_one_was_kept(app):
    visitor = signed_in(app, make_member())
    assert "Sign out" in visitor.get("/").get_data(as_text=True)  # the real cookie, now kept
    real = _cookie(visitor, app)
    payload, signature = real.rsplit(".", 1)
    _with_cookie(visitor, app, f"{payload}.{signature[::-1]}")
    page = visitor.get("/account")
    assert page.status_code == 302 and "/sign-in" in page.headers["Location"]
    _with_cookie(visitor, app, real)
    assert visitor.get("/account").status_code == 200


def test_what_a_request_changes_in_its_session_never_reaches_the_next(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Your details were saved.")]
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    interface = app.session_interface
    header = {"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}"}
    with app.test_request_context(headers=header):
        first = interface.open_session(app, request)
        first["_flashes"].append(("info", "Something else."))
        second = interface.open_session(app, request)
    assert second["_flashes"] == [("info", "Your details were saved.")]


def test_a_kept_form_token_works_only_for_its_own_session(app):
    first = signed_in(app, make_member(username="first-member"))
    second = signed_in(app, make_member(username="second-member"))
    token = csrf_from(first.get("/account").get_data(as_text=True))
    assert csrf_from(first.get("/events/").get_data(as_text=True)) == token  # kept, not re-signed
    refused = second.client.post("/sign-out", data={"csrf_token": token})
    assert refused.status_code == 400
    assert "Sign out" in second.get("/").get_data(as_text=True)
    assert first.client.post("/sign-out", data={"csrf_token": token}).status_code == 302


def test_the_kept_home_page_still_shows_a_members_own_message_once(app):
    member = make_member()
    visitor = signed_in(app, member)
    visitor.get("/")  # the kept copy is drawn
    with visitor.client.session_transaction() as session:
        session["_flashes"] = [("success", "Your booking is confirmed.")]
    notify(member, Message("Booking", "You are booked."))
    shown = visitor.get("/").get_data(as_text=True)
    assert "Your booking is confirmed." in shown
    assert 'class="engage-badge">1<' in shown
    again = visitor.get("/").get_data(as_text=True)
    assert "Your booking is confirmed." not in again
    assert "<!--engage:" not in shown + again


def test_the_cookie_is_sent_again_only_when_the_session_changes(app):
    """Most signed-in pages change nothing in the session: no new cookie, but the answer still
    says it depends on the cookie (so no shared cache keeps one person's page for another).
    Once the person was last seen a minute ago, the page renews the cookie."""
    visitor = signed_in(app, make_member())
    visitor.get("/")
    page = visitor.get("/account")
    assert "Set-Cookie" not in page.headers
    assert page.headers["Vary"] == "Cookie"
    with visitor.client.session_transaction() as session:
        session["seen_at"] -= 61
    renewed = visitor.get("/account")
    assert app.config["SESSION_COOKIE_NAME"] in renewed.headers["Set-Cookie"]
    assert renewed.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in visitor.get("/account").headers


def test_signing_out_ends_the_session_even_though_its_key_was_kept(app):
    """The session's stored key is worked out once per token (accounts.services.session_key);
    signing out still deletes the session, so a copy of the old cookie stops working."""
    visitor = signed_in(app, make_member())
    assert visitor.get("/account").status_code == 200
    copied = _cookie(visitor, app)
    token = csrf_from(visitor.get("/account").get_data(as_text=True))
    assert visitor.client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    _with_cookie(visitor, app, copied)
    page = visitor.get("/account")
    assert page.status_code == 302 and "/sign-in" in page.headers["Location"]
