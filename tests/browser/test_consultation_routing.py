"""Routing in a real browser: a person answers one section at a time with the keyboard only and
no JavaScript, an answer skips a section, save and return comes back to the same section of the
same route; the routed answer page and the builder's routing form are clean under axe (axe
runs with JavaScript on)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engage.consultations.models import Answer, ConsultationState
from engage.core.permissions import Role
from engage.extensions import db
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.browser.keyboard import activate, tab_to
from tests.factories import make_member, make_staff
from tests.factories_consultations import make_routed
from tests.factories_panels import make_membership, make_panel

pytestmark = pytest.mark.browser


def _setup(live_server: LiveServer, **kwargs):
    with live_server.app.app_context():
        lead = make_staff(Role.FACILITATOR)
        member = make_member(display_name="River")
        panel = make_panel(facilitators=[lead])
        make_membership(panel, member)
        consultation = make_routed(panel, **kwargs)
        consultation.created_by_id = lead.id
        db.session.commit()
        return lead, member, consultation.id


def test_routing_skips_a_section_keyboard_only_without_javascript(live_server,
                                                                   page_without_js: Page):
    page = page_without_js
    _, member, consultation_id = _setup(live_server)
    sign_in_as(page, live_server, member)
    url = f"{live_server.url}/consultations/{consultation_id}/answer"
    page.goto(url)
    expect(page.get_by_text("Section 1 of 4")).to_be_visible()
    tab_to(page, "Yes")  # the radios: arrow keys move and choose
    page.keyboard.press("ArrowDown")
    activate(page, "Continue")
    expect(page.get_by_text("Section 2 of 3")).to_be_visible()
    expect(page.get_by_text("How did reporting go?")).to_have_count(0)
    tab_to(page, "Where did you find support?")
    page.keyboard.type("A helpline")
    activate(page, "Save and come back later")
    expect(page.get_by_text("Your answers are saved.")).to_be_visible()

    page.goto(url)
    expect(page.get_by_text("Section 2 of 3")).to_be_visible()
    expect(page.get_by_label("Where did you find support?")).to_have_value("1")
    tab_to(page, "Where did you find support?")
    page.keyboard.type("Nowhere")
    activate(page, "Continue")
    expect(page.get_by_text("Last step: send your answers")).to_be_visible()
    activate(page, "Send my answers")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you: your answers have been sent")
    with live_server.app.app_context():
        sent = sorted(a.choices[0] for a in db.session.scalars(select(Answer)))
    assert sent == ["2", "2"], "No, then Nowhere: the reporting section was skipped"


def test_routed_answer_page_and_builder_routing_are_accessible(live_server, page: Page):
    _, member, consultation_id = _setup(live_server)
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/consultations/{consultation_id}/answer")
    assert_accessible(page, "answer page: one section of a route")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Answer this question")).to_have_count(2)
    assert_accessible(page, "answer page: a required question on the route left empty")

    lead, _, draft_id = _setup(live_server, state=ConsultationState.DRAFT)
    page.context.clear_cookies()
    sign_in_as(page, live_server, lead)
    page.goto(f"{live_server.url}/consultations/{draft_id}/manage")
    expect(page.get_by_label('If the answer is "No", then go to').locator(
        "option:checked")).to_have_text("Section 3: Support")
    page.get_by_label('If the answer is "A helpline", then go to').select_option(
        label="The end of the consultation")
    page.get_by_role("button", name="Save routes").nth(1).click()
    expect(page.get_by_text("Routes saved.")).to_be_visible()
    assert_accessible(page, "builder with routing")
