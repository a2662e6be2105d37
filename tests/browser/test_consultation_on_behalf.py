"""Issue 16, assisted responses, in a real browser: a facilitator enters a member's consultation
answers for them by keyboard alone with JavaScript off (every section on one page; the route is
applied when it is sent), and the page, its errors and its success banner pass axe (with
JavaScript on: axe is a script)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engage.consultations.models import AnonymousResponse, Response
from engage.core.permissions import Role
from engage.extensions import db
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.browser.keyboard import activate, tab_to
from tests.factories import make_member, make_staff
from tests.factories_consultations import make_consultation, make_routed
from tests.factories_panels import make_membership, make_panel

pytestmark = pytest.mark.browser

SKIPPED = "Typed from the paper form, in a section their answer skips."


def _setup(live_server: LiveServer, *, anonymous: bool = False, routed: bool = True):
    with live_server.app.app_context():
        lead = make_staff(Role.FACILITATOR)
        member = make_member(display_name="River")
        panel = make_panel(facilitators=[lead])
        make_membership(panel, member)
        consultation = (make_routed(panel, anonymous=anonymous) if routed
                        else make_consultation(panel=panel, anonymous=anonymous))
        db.session.commit()
        return lead, member.id, consultation.id


def test_staff_enter_a_members_answers_by_keyboard_without_javascript(
        live_server: LiveServer, page_without_js: Page):
    page = page_without_js
    lead, member_id, consultation_id = _setup(live_server)
    sign_in_as(page, live_server, lead)
    page.goto(f"{live_server.url}/consultations/{consultation_id}/manage")
    activate(page, "Enter answers on someone's behalf")
    expect(page.locator("h1")).to_have_text("Enter answers on someone's behalf")

    tab_to(page, "Who are you entering answers for?")
    page.keyboard.type("River")
    tab_to(page, "By phone")
    page.keyboard.press("Space")
    tab_to(page, "Yes")  # "Did you report to the police?": arrow keys move and choose
    page.keyboard.press("ArrowDown")  # "No": their route skips "Reporting"
    tab_to(page, "How did reporting go?")
    page.keyboard.type(SKIPPED)
    tab_to(page, "Where did you find support?")
    page.keyboard.type("A helpline")
    # Sent without the consent tick: refused kindly, with everything kept.
    activate(page, "Send their answers")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "confirm the person agreed to you entering their answers")
    expect(page.get_by_label("Who are you entering answers for?")).to_have_value(str(member_id))
    expect(page.get_by_label("By phone")).to_be_checked()
    expect(page.get_by_label("How did reporting go?")).to_have_value(SKIPPED)
    expect(page.get_by_label("Where did you find support?")).to_have_value("1")

    tab_to(page, "They agreed that I enter this for them")
    page.keyboard.press("Space")
    activate(page, "Send their answers")
    banner = page.locator(".nhsuk-notification-banner--success")
    expect(banner).to_contain_text("River's answers are sent, marked as entered by staff by "
                                   "phone.")
    expect(banner).to_have_attribute("role", "alert")
    with live_server.app.app_context():
        [response] = db.session.scalars(select(Response)).all()
        assert response.entry_method == "phone" and response.user_id == member_id
        assert SKIPPED not in [a.text for a in response.answers]  # dropped by the route
        assert len(response.answers) == 2


def test_the_assisted_answer_pages_pass_axe_and_the_banner_takes_focus(
        live_server: LiveServer, page: Page):
    lead, _member, consultation_id = _setup(live_server, anonymous=True, routed=False)
    sign_in_as(page, live_server, lead)
    url = f"{live_server.url}/consultations/{consultation_id}/on-behalf"
    page.goto(url)
    expect(page.get_by_label("Who are you entering answers for?")).to_have_count(0)
    assert_accessible(page, "enter answers on someone's behalf")
    page.get_by_role("button", name="Send their answers").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page, "enter answers on someone's behalf, with errors")
    page.get_by_label("On paper").check()
    page.get_by_label("What should change?").fill("Shorter forms, please.")
    page.get_by_label("They agreed that I enter this for them").check()
    page.get_by_role("button", name="Send their answers").click()
    banner = page.locator(".nhsuk-notification-banner--success")
    expect(banner).to_contain_text("marked only as entered by staff on paper")
    expect(banner).to_be_focused()
    assert_accessible(page, "answers entered on someone's behalf: the success banner")
    with live_server.app.app_context():
        assert db.session.scalars(select(AnonymousResponse)).all() == []  # sealed, waiting
