"""Issue 3 (panels) in a real browser: every panel page type passes axe, and a member applies,
is accepted and takes a break with the keyboard and without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from engage.core.permissions import Role
from engage.extensions import db
from engage.panels.models import MembershipState
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.factories import make_member, make_staff
from tests.factories_panels import make_membership, make_panel

pytestmark = pytest.mark.browser


def _setup(live_server: LiveServer):
    with live_server.app.app_context():
        facilitator = make_staff(Role.FACILITATOR, display_name="Sam")
        member = make_member(display_name="River")
        applicant = make_member(display_name="Kit")
        panel = make_panel(name="Survivors' Voice", facilitators=[facilitator], size_limit=10)
        make_membership(panel, member, access_needs="A quiet room")
        application = make_membership(panel, applicant, state=MembershipState.APPLIED,
                                      why_joining="To help", access_needs="Captions")
        db.session.commit()
        return facilitator, member, applicant, panel.id, application.id


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def test_panel_pages_for_members_are_accessible(live_server, page):
    _, member, _, panel_id, _ = _setup(live_server)
    page.goto(f"{live_server.url}/panels/")
    assert_accessible(page, "panel list (visitor)")
    page.goto(f"{live_server.url}/panels/{panel_id}")
    assert_accessible(page, "panel page (visitor)")
    sign_in_as(page, live_server, member)
    for path, title, name in [
        (f"/panels/{panel_id}", "Survivors' Voice", "panel page (member)"),
        (f"/panels/{panel_id}/leave", "Leave Survivors' Voice?", "leave confirmation"),
        ("/panels/attribution", "How you are credited", "attribution"),
    ]:
        page.goto(live_server.url + path)
        expect(heading(page)).to_have_text(title)
        assert_accessible(page, name)
    page.get_by_label("Credit me with a name I choose").check()
    page.get_by_role("button", name="Save my choice").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page, "attribution with an error")


def test_apply_page_is_accessible_with_and_without_errors(live_server, page):
    _, _, _, panel_id, _ = _setup(live_server)
    with live_server.app.app_context():
        newcomer = make_member()
        db.session.commit()
    sign_in_as(page, live_server, newcomer)
    page.goto(f"{live_server.url}/panels/{panel_id}/apply")
    assert_accessible(page, "apply")
    page.get_by_label("Why you would like to join (optional)").fill("I would like to help")
    page.get_by_role("button", name="Send my application").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("involvement agreement")
    expect(page.get_by_label("Why you would like to join (optional)")).to_have_value(
        "I would like to help")
    assert_accessible(page, "apply with an error")
    page.get_by_label("I have read the involvement agreement and I accept it").check()
    page.get_by_role("button", name="Send my application").click()
    expect(page.get_by_text("Application waiting for a reply")).to_be_visible()


def test_facilitator_pages_are_accessible_and_accept_an_application(live_server, page):
    facilitator, _, _, panel_id, application_id = _setup(live_server)
    sign_in_as(page, live_server, facilitator)
    for path, name in [
        ("/panels/new", "set up a panel"),
        (f"/panels/{panel_id}/edit", "edit a panel"),
        (f"/panels/{panel_id}", "panel page (facilitator)"),
        (f"/panels/{panel_id}/applications", "applications and members"),
        (f"/panels/{panel_id}/message", "message the panel"),
        (f"/panels/{panel_id}/applications/{application_id}", "application"),
    ]:
        page.goto(live_server.url + path)
        assert_accessible(page, name)
    expect(page.get_by_text("Captions")).to_be_visible()
    page.get_by_role("button", name="Accept and send message").click()
    expect(page.get_by_text("Kit has been told.")).to_be_visible()
    page.goto(f"{live_server.url}/panels/new")
    page.get_by_role("button", name="Set up the panel").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter a name for the panel")
    assert_accessible(page, "set up a panel with errors")


def test_member_takes_a_break_with_the_keyboard_without_javascript(live_server,
                                                                   page_without_js):
    page = page_without_js
    _, member, _, panel_id, _ = _setup(live_server)
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/panels/{panel_id}")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.innerText.trim()") == "Take a break":
            break
    else:
        pytest.fail("Tab never reached the Take a break button")
    page.keyboard.press("Enter")
    expect(page.get_by_text("You are taking a break.").first).to_be_visible()
    expect(page.get_by_role("button", name="Come back to the panel")).to_be_visible()
