"""The top and bottom of every page are drawn once per kind of visitor and kept
(engage/core/page_shell.py). What is kept must never carry one person's things to another: each
person still sees their own unread count, their own sign-out token and only the menu items
their roles allow."""

from __future__ import annotations

import re

from engage.accounts.services import issue_recovery_codes, use_recovery_code
from engage.core.notify import Message, notify
from engage.core.permissions import Role
from engage.extensions import db
from tests.core.test_staff_queues import queues, signed_in
from tests.factories import make_member, make_staff
from tests.factories_feedback import make_feedback

SIGN_OUT_TOKEN = re.compile(
    r'action="/sign-out"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"')
UNREAD = re.compile(r'Messages <span class="engage-badge">(\d+)<span class="nhsuk-u-visually-'
                    r'hidden"> unread</span></span>')


def test_each_member_sees_their_own_unread_count_on_the_kept_menu(app):
    busy, quiet = make_member(username="busy-member"), make_member(username="quiet-member")
    other = make_member(username="other-member")
    for number in range(3):
        notify(busy, Message(f"Update {number}", "Something changed."))
    notify(other, Message("One update", "Something changed."))
    busy_page = signed_in(app, busy).get("/").get_data(as_text=True)
    quiet_page = signed_in(app, quiet).get("/").get_data(as_text=True)
    other_page = signed_in(app, other).get("/account").get_data(as_text=True)
    assert UNREAD.search(busy_page)[1] == "3"
    assert UNREAD.search(quiet_page) is None
    assert UNREAD.search(other_page)[1] == "1"  # each count's badge, not the last one drawn
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


ACCOUNT_NAME = re.compile(r'<p class="nhsuk-body-l">Signed in as (.*?)\.</p>')
ACCOUNT_USERNAME = re.compile(r'Username</dt>\s*<dd class="nhsuk-summary-list__value">(.*?)</dd>')
RECOVERY_LEFT = re.compile(r"(\d+) unused")
FORM_TOKEN = re.compile(r'action="/account/sign-out-everywhere"[^>]*>\s*'
                        r'<input type="hidden" name="csrf_token" value="([^"]+)"')


def account_page(visitor) -> str:
    visitor.get("/account")  # the first page after signing in may carry a message
    return visitor.get("/account").get_data(as_text=True)


def test_the_kept_account_page_shows_each_person_their_own_details(app):
    """The account page is kept too (accounts/views.py): names, usernames and counts are put
    in for each person, escaped, and the page's own form has the person's own token."""
    first = make_member(username="first-person", display_name="Sam <b>Jones</b>")
    second = make_member(username="second-person", display_name="Alex")
    issue_recovery_codes(first)
    first_page = account_page(signed_in(app, first))
    second_visitor = signed_in(app, second)
    second_page = account_page(second_visitor)
    assert ACCOUNT_NAME.search(first_page)[1] == "Sam &lt;b&gt;Jones&lt;/b&gt;"
    assert ACCOUNT_NAME.search(second_page)[1] == "Alex"
    assert ACCOUNT_USERNAME.search(first_page)[1] == "first-person"
    assert ACCOUNT_USERNAME.search(second_page)[1] == "second-person"
    assert int(RECOVERY_LEFT.search(first_page)[1]) > 0
    assert RECOVERY_LEFT.search(second_page)[1] == "0"
    assert FORM_TOKEN.search(first_page)[1] != FORM_TOKEN.search(second_page)[1]
    assert "\ue000" not in first_page + second_page and "<!--engage:" not in second_page
    response = second_visitor.client.post("/account/sign-out-everywhere",
                                          data={"csrf_token": FORM_TOKEN.search(second_page)[1]})
    assert response.status_code == 302  # the kept page's form works with the filled-in token


def test_a_name_that_looks_like_a_mark_is_shown_as_written(app):
    """What is put into a kept page is never itself searched for the page's marks."""
    person = make_member(username="marked-person", display_name="\ue000username\ue001")
    page = account_page(signed_in(app, person))
    assert ACCOUNT_NAME.search(page)[1] == "\ue000username\ue001"
    assert ACCOUNT_USERNAME.search(page)[1] == "marked-person"


def test_the_account_page_counts_recovery_codes_afresh_on_every_visit(app, db):
    """The count is read with the person (wiring.read_with_person) on every visit, so a code
    used elsewhere (a password reset on another device) shows at once."""
    person = make_member(username="counting-person")
    codes = issue_recovery_codes(person)
    db.session.commit()
    visitor = signed_in(app, person)
    assert int(RECOVERY_LEFT.search(account_page(visitor))[1]) == len(codes)
    assert use_recovery_code(person, codes[0])
    db.session.commit()
    page = visitor.get("/account").get_data(as_text=True)
    assert int(RECOVERY_LEFT.search(page)[1]) == len(codes) - 1


def test_the_kept_account_page_follows_each_persons_settings(app, db):
    emailed = make_member(username="emailed-member", email="emailed@example.org")
    emailed.email_is_safe, emailed.discreet_mode = True, True
    unemailed = make_member(username="unemailed-member")
    unemailed.email_is_safe = False
    emailed_page = account_page(signed_in(app, emailed))
    unemailed_page = account_page(signed_in(app, unemailed))
    assert "By email (discreet" in emailed_page and "We do not email you" not in emailed_page
    assert "We do not email you" in unemailed_page and "By email" not in unemailed_page
    staff_page = account_page(signed_in(app, make_staff(Role.FINANCE, username="finance-person")))
    assert "Two-factor authentication" in staff_page
    assert "Two-factor authentication" not in emailed_page


def test_staff_see_their_work_queues_counted_afresh_on_every_kept_kind_of_page(app):
    """Pages kept for members (home, account, events) are drawn afresh for staff: the work
    queues at the top of every page are counted on each visit."""
    make_feedback()
    facilitator = signed_in(app, make_staff(Role.FACILITATOR, username="queue-person"))
    for path in ("/account", "/events/", "/"):
        queues(facilitator, path)
        assert queues(facilitator, path)["Feedback to triage"][0] >= 1
    before = queues(facilitator, "/account")["Feedback to triage"][0]
    make_feedback(body="Something new to read.")
    db.session.commit()
    for path in ("/account", "/events/", "/"):
        assert queues(facilitator, path)["Feedback to triage"][0] == before + 1, path
