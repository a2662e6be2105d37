"""Issue 16, assisted responses: staff enter feedback for someone by keyboard alone, with
JavaScript off, and triage shows how it reached us. axe runs on the new pages (in a context
with JavaScript on: axe is a script)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from engage.core.permissions import Role
from engage.extensions import db
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.browser.keyboard import activate, tab_to
from tests.factories import make_staff

pytestmark = pytest.mark.browser

SAID = "The support worker on the phone explained every step."


def _facilitator(live_server: LiveServer):
    with live_server.app.app_context():
        person = make_staff(Role.FACILITATOR)
        db.session.commit()
        return person


def test_staff_enter_feedback_on_someones_behalf_by_keyboard_without_javascript(
        live_server: LiveServer, page_without_js: Page):
    page = page_without_js
    sign_in_as(page, live_server, _facilitator(live_server))
    page.goto(f"{live_server.url}/staff/feedback")
    activate(page, "Enter feedback on someone's behalf")
    expect(page.locator("h1")).to_have_text("Enter feedback on someone's behalf")

    tab_to(page, "By phone")
    page.keyboard.press("Space")
    tab_to(page, "What does the person want to tell us?")
    page.keyboard.type(SAID)
    # Sent without the consent tick: refused kindly, with the words kept.
    activate(page, "Send feedback")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "confirm the person agreed to you entering this")
    expect(page.get_by_label("What does the person want to tell us?")).to_have_value(SAID)

    tab_to(page, "The person agreed to me entering this for them")
    page.keyboard.press("Space")
    activate(page, "Send feedback")
    expect(page.locator("h1")).to_contain_text("entered by staff by phone")
    code = page.locator("#feedback-code").inner_text()
    assert re.fullmatch(r"[a-z]+(-[a-z]+){6,}", code)

    activate(page, "Back to feedback to triage")
    expect(page.locator("main")).to_contain_text("Entered by staff: by phone")


def test_the_assisted_feedback_pages_pass_axe(live_server: LiveServer, page: Page):
    sign_in_as(page, live_server, _facilitator(live_server))
    page.goto(f"{live_server.url}/staff/feedback/on-behalf")
    assert_accessible(page, "enter feedback on someone's behalf")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page, "enter feedback on someone's behalf, with errors")
    page.get_by_label("On paper").check()
    page.get_by_label("What does the person want to tell us?").fill(SAID)
    page.get_by_label("The person agreed to me entering this for them").check()
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("#feedback-code")).to_be_visible()
    assert_accessible(page, "feedback entered on someone's behalf: the code to pass on")
    page.goto(f"{live_server.url}/staff/feedback")
    page.locator("main a[href^='/staff/feedback/']").filter(
        has_text=re.compile(r"\d{4}")).first.click()
    expect(page.locator("#entry-method")).to_have_text("Entered by staff: on paper")
    assert_accessible(page, "triage item entered by staff")
