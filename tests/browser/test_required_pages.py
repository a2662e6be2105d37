"""Issue 16 in a real browser: the accessibility statement, privacy notice and cookies page
(axe, reached from the footer with the keyboard, without JavaScript), and the Exit this page
button with the Space bar as well as Enter."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def tab_to(page: Page, name: str, limit: int = 120) -> None:
    """Press Tab until the link or button called `name` has focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => (document.activeElement.innerText || '').trim()") == name:
            return
    pytest.fail(f"Tab never reached {name!r} on {page.url}")


def neutral_site(live_server: LiveServer) -> str:
    url = f"{live_server.url}/support?neutral-site"
    live_server.app.config["EXIT_URL"] = url
    return url


@pytest.mark.parametrize(("link", "title"), [
    ("Accessibility statement", "Accessibility statement for Engage"),
    ("Privacy notice", "Privacy notice"),
    ("Cookies", "Cookies on Engage"),
])
def test_required_pages_are_reached_from_the_footer_with_the_keyboard(live_server, page, link,
                                                                     title):
    live_server.app.config["ORGANISATION_EMAIL"] = "hello@example.org"
    page.goto(f"{live_server.url}/you-said-we-did")
    tab_to(page, link)
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text(title)
    expect(page.get_by_role("link", name="hello@example.org").first).to_be_visible()
    assert_accessible(page, title)


def test_required_pages_work_without_javascript(live_server, page_without_js):
    page = page_without_js
    page.goto(f"{live_server.url}/")
    expect(page.locator("html")).to_have_class(re.compile(r"\bno-js\b"))
    page.get_by_role("link", name="Privacy notice").click()
    expect(heading(page)).to_have_text("Privacy notice")
    expect(page.get_by_role("heading", name="Feedback you gave with your name")).to_be_visible()
    page.get_by_role("link", name="Read about cookies on this website").click()
    expect(heading(page)).to_have_text("Cookies on Engage")
    assert page.context.cookies() == [], "reading these pages sets no cookie"


@pytest.mark.parametrize("key", ["Space", "Enter"])
def test_exit_button_works_with_space_and_enter(live_server, page, key):
    exit_url = neutral_site(live_server)
    page.goto(f"{live_server.url}/feedback")
    tab_to(page, "Exit this page")
    page.keyboard.press(key)
    expect(page).to_have_url(exit_url)


@pytest.mark.parametrize("key", ["Space", "Enter"])
def test_exit_button_works_with_space_and_enter_without_javascript(live_server, page_without_js,
                                                                  key):
    page = page_without_js
    exit_url = neutral_site(live_server)
    page.goto(f"{live_server.url}/you-said-we-did")
    tab_to(page, "Exit this page")
    page.keyboard.press(key)
    expect(page).to_have_url(exit_url)
