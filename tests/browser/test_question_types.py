"""Dropdown, date, ranking and matrix questions in a real browser: answered with the keyboard
only, errors that keep what was typed, answered without JavaScript, and each page that shows
them (answer page, builder, staff answers, published results) clean under axe."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engage.consultations.models import ConsultationState, Response
from engage.core.permissions import Role
from engage.extensions import db
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.browser.keyboard import tab_to
from tests.factories import make_member, make_staff
from tests.factories_consultations import add_question_types, make_consultation
from tests.factories_panels import make_membership, make_panel

pytestmark = pytest.mark.browser


def _setup(live_server: LiveServer, **kwargs):
    with live_server.app.app_context():
        facilitator = make_staff(Role.FACILITATOR)
        member = make_member(display_name="River")
        panel = make_panel(facilitators=[facilitator])
        make_membership(panel, member)
        consultation = make_consultation(panel=panel, created_by=facilitator, **kwargs)
        made = add_question_types(consultation)
        db.session.commit()
        return facilitator, member, consultation.id, {k: q.id for k, q in made.items()}


def test_keyboard_only_answers_a_dropdown_date_ranking_and_matrix(live_server, page: Page):
    _, member, consultation_id, ids = _setup(live_server)
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/consultations/{consultation_id}/answer")
    assert_accessible(page, "answer page with dropdown, date, ranking and matrix questions")

    tab_to(page, "Which area do you live in?")
    page.keyboard.type("South")
    tab_to(page, "Day")
    page.keyboard.type("31")
    page.keyboard.press("Tab")
    page.keyboard.type("2")
    page.keyboard.press("Tab")
    page.keyboard.type("2024")
    tab_to(page, "Kindness")
    page.keyboard.type("1")
    tab_to(page, "Send my answers")
    page.keyboard.press("Enter")

    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "Enter a real date, for example 27 3 2024.")
    assert_accessible(page, "answer page with a date that does not exist")
    expect(page.get_by_label("Day")).to_have_value("31")
    expect(page.get_by_label("Which area do you live in?")).to_have_value("2")
    expect(page.get_by_label("Kindness")).to_have_value("1")

    page.locator(".nhsuk-error-summary a").first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Day")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("28")
    tab_to(page, "Speed")
    page.keyboard.type("2")
    tab_to(page, "Disagree")  # the first statement's radios: arrow keys move and choose
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    tab_to(page, "Send my answers")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you: your answers have been sent")

    with live_server.app.app_context():
        [response] = db.session.scalars(select(Response)).all()
        answers = {a.question_id: a for a in response.answers}
    assert answers[ids["dropdown"]].choices == ["2"]
    assert answers[ids["date"]].text == "2024-02-28"
    assert answers[ids["ranking"]].choices == ["2", "1"]
    assert answers[ids["matrix"]].choices == ["1:3"], "Staff listened: Agree"


def test_new_kinds_answered_without_javascript(live_server, page_without_js: Page):
    page = page_without_js
    _, member, consultation_id, ids = _setup(live_server)
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/consultations/{consultation_id}/answer")
    page.get_by_label("Which area do you live in?").select_option(label="East")
    page.get_by_label("Day").fill("5")
    page.get_by_label("Month").fill("11")
    page.get_by_label("Year").fill("2025")
    page.get_by_label("Privacy").select_option("1")
    page.get_by_role("group", name="I felt safe").get_by_label("Not sure").check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you: your answers have been sent")
    with live_server.app.app_context():
        [response] = db.session.scalars(select(Response)).all()
        answers = {a.question_id: a for a in response.answers}
    assert answers[ids["dropdown"]].choices == ["3"]
    assert answers[ids["date"]].text == "2025-11-05"
    assert answers[ids["ranking"]].choices == ["3"]
    assert answers[ids["matrix"]].choices == ["2:2"]


def test_builder_staff_answers_and_results_with_new_kinds_are_accessible(live_server, page):
    facilitator, member, consultation_id, _ = _setup(live_server)
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/consultations/{consultation_id}/answer")
    page.get_by_label("Which area do you live in?").select_option(label="North")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill("2025")
    page.get_by_label("Speed").select_option("1")
    page.get_by_role("group", name="Staff listened").get_by_label("Agree", exact=True).check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you: your answers have been sent")

    with live_server.app.app_context():
        draft = make_consultation(created_by=facilitator, state=ConsultationState.DRAFT)
        db.session.commit()
        draft_id = draft.id
    page.context.clear_cookies()  # the member leaves; the facilitator signs in
    sign_in_as(page, live_server, facilitator)
    page.goto(f"{live_server.url}/consultations/{draft_id}/manage")
    page.get_by_label("Matrix (rate several statements)").check()
    page.get_by_label("Question", exact=True).fill("How much do you agree?")
    page.get_by_role("button", name="Add the question").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "Enter the statements to rate, one on each line.")
    assert_accessible(page, "builder: a matrix without statements")
    page.get_by_label("Options, or the statements of a matrix").fill("I felt heard\nI felt safe")
    page.get_by_role("button", name="Add the question").click()
    expect(page.get_by_text("Question added.")).to_be_visible()
    expect(page.get_by_text("Ratings: Strongly disagree")).to_be_visible()
    assert_accessible(page, "builder with a matrix question")

    page.goto(f"{live_server.url}/consultations/{consultation_id}/responses")
    expect(page.get_by_text("Average place (1 is first)")).to_be_visible()
    assert_accessible(page, "staff answers with new kinds of question")
    manage = f"{live_server.url}/consultations/{consultation_id}/manage"
    page.goto(manage)
    page.get_by_role("button", name="Close the consultation now").click()
    page.get_by_role("button", name="Publish the results").click()
    page.goto(f"{live_server.url}/consultations/{consultation_id}/results")
    expect(page.get_by_role("heading", name="How much do you agree?")).to_be_visible()
    expect(page.get_by_role("table", name="Ranked first: What matters most?")).to_be_visible()
    assert_accessible(page, "published results with new kinds of question")
