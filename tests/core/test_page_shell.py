"""The top and bottom of every page are drawn once per kind of visitor and kept
(engage/core/page_shell.py). What is kept must never carry one person's things to another: each
person still sees their own unread count, their own sign-out token and only the menu items
their roles allow."""

from __future__ import annotations

import re

from engage.core.notify import Message, notify
from engage.core.permissions import Role
from tests.core.test_staff_queues import signed_in
from tests.factories import make_member, make_staff

SIGN_OUT_TOKEN = re.compile(
    r'action="/sign-out"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"')
UNREAD = re.compile(r'Messages <span class="engage-badge">(\d+)<span class="nhsuk-u-visually-'
                    r'hidden"> unread</span></span>')


def test_each_member_sees_their_own_unread_count_on_the_kept_menu(app):
    busy, quiet = make_member(username="busy-member"), make_member(username="quiet-member")
    for number in range(3):
        notify(busy, Message(f"Update {number}", "Something changed."))
    busy_page = signed_in(app, busy).get("/").get_data(as_text=True)
    quiet_page = signed_in(app, quiet).get("/").get_data(as_text=True)
    assert UNREAD.search(busy_page)[1] == "3"
    assert UNREAD.search(quiet_page) is None
    assert "Messages</a>" in quiet_page
    assert "<!--engage:" not in busy_page + quiet_page


def test_each_session_gets_its_own_sign_out_token_and_signing_out_works(app):
    first = signed_in(app, make_member(username="first-member"))
    second = signed_in(app, make_member(username="second-member"))
    first_token = SIGN_OUT_TOKEN.search(first.get("/account").get_data(as_text=True))[1]
    second_token = SIGN_OUT_TOKEN.search(second.get("/account").get_data(as_text=True))[1]
    assert first_token != second_token
    response = second.client.post("/sign-out", data={"csrf_token": second_token})
    assert response.status_code == 302
    assert "Sign in" in second.get("/").get_data(as_text=True)
    assert "Sign out" in first.get("/").get_data(as_text=True)


def test_the_menu_follows_each_persons_roles_whoever_came_first(app):
    finance = signed_in(app, make_staff(Role.FINANCE, username="finance-person"))
    member = signed_in(app, make_member(username="plain-member"))
    lead = signed_in(app, make_staff(Role.PROGRAMME_LEAD, username="lead-person"))
    finance_page = finance.get("/").get_data(as_text=True)
    member_page = member.get("/").get_data(as_text=True)
    lead_page = lead.get("/").get_data(as_text=True)
    assert 'href="/payments/finance"' in finance_page
    assert 'href="/payments/finance"' not in member_page
    assert ">Dashboard<" in lead_page and ">Dashboard<" not in member_page
    assert ">Your impact<" in member_page
    signed_out = app.test_client().get("/").get_data(as_text=True)
    assert ">Sign in<" in signed_out and "Sign out" not in signed_out
