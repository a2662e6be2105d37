"""Issue 16, feedback from every action, in a real browser: each staff action ends on an NHS.UK
success banner that screen readers hear at once (role="alert", focus moved to it with
JavaScript, first in the main content without), errors keep what was typed, keyboard only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from engage.accounts.models import User
from engage.demo import DEMO_PASSWORD, seed_demo
from engage.extensions import db
from engage.feedback import services as feedback_services
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as

pytestmark = pytest.mark.browser


def tab_to(page: Page, name: str, limit: int = 150) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => (document.activeElement.innerText || '').trim()") == name:
            return
    pytest.fail(f"Tab never reached {name!r} on {page.url}")


def tab_to_field(page: Page, field_id: str, limit: int = 150) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == field_id:
            return
    pytest.fail(f"Tab never reached #{field_id} on {page.url}")


def banner(page: Page):
    return page.locator(".nhsuk-notification-banner--success")


def demo_feedback(live_server: LiveServer) -> dict:
    with live_server.app.app_context():
        seed_demo()
        given = feedback_services.give_feedback(
            None, body="The parking at the centre is hard to find.", may_quote=True)
        db.session.commit()
        people = {u.username: u for u in db.session.scalars(db.select(User))}
        return {"item": given.item.id, "code": given.code, "people": people}


def test_triage_actions_confirm_in_a_focused_success_banner_by_keyboard(live_server, page):
    data = demo_feedback(live_server)
    sign_in_as(page, live_server, data["people"]["demo-facilitator"], DEMO_PASSWORD)
    item_url = f"{live_server.url}/staff/feedback/{data['item']}"
    page.goto(item_url)

    tab_to(page, "Mark as read (acknowledge)")
    page.keyboard.press("Enter")
    expect(banner(page)).to_have_attribute("role", "alert")
    expect(banner(page)).to_contain_text("Marked as read")
    expect(banner(page)).to_be_focused()
    assert_accessible(page, "feedback item with a success banner")

    tab_to_field(page, "reply-body")
    page.keyboard.type("Thank you. We are asking the centre about signs.")
    tab_to(page, "Send reply")
    page.keyboard.press("Enter")
    expect(banner(page)).to_contain_text("Your reply is sent")
    expect(banner(page)).to_be_focused()

    tab_to_field(page, "themes-themes")
    page.keyboard.type("Parking, Signs")
    tab_to(page, "Save themes")
    page.keyboard.press("Enter")
    expect(banner(page)).to_contain_text("The themes are saved")
    expect(banner(page)).to_be_focused()

    tab_to_field(page, "quote-quote")
    page.keyboard.type("The parking is hard to find.")
    tab_to(page, "Save quote")
    page.keyboard.press("Enter")
    expect(banner(page)).to_contain_text("The quote is saved")
    expect(banner(page)).to_be_focused()


def test_an_error_keeps_what_was_typed(live_server, page):
    data = demo_feedback(live_server)
    sign_in_as(page, live_server, data["people"]["demo-facilitator"], DEMO_PASSWORD)
    page.goto(f"{live_server.url}/staff/feedback/{data['item']}")
    typed = f"It was hard to find. My code is {data['code']}."
    page.get_by_label("Words that may be quoted").fill(typed)
    page.get_by_role("button", name="Save quote").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Take the feedback code out")
    expect(page.get_by_label("Words that may be quoted")).to_have_value(typed)
    expect(banner(page)).to_have_count(0)
    assert_accessible(page, "feedback item with an error")


def test_without_javascript_the_banner_is_the_first_thing_in_the_main_content(
        live_server, page_without_js):
    page = page_without_js
    data = demo_feedback(live_server)
    sign_in_as(page, live_server, data["people"]["demo-facilitator"], DEMO_PASSWORD)
    page.goto(f"{live_server.url}/staff/feedback/{data['item']}")
    expect(page.locator("html")).to_have_class(re.compile(r"\bno-js\b"))
    page.get_by_role("button", name="Flag for safeguarding").click()
    expect(banner(page)).to_contain_text("Sent to the safeguarding lead")
    first = page.evaluate("() => document.querySelector('main').firstElementChild.className")
    assert "nhsuk-notification-banner--success" in first
    # The skip link leads straight to it.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#maincontent$"))
