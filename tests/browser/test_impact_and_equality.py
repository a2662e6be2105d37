"""Issue 7 in a real browser: the dashboard, equality questions, your impact, the data we hold,
retention settings, population figures and closing an account (each page type passes axe),
with the journeys a member and a programme lead take, including adding anonymous feedback to
"your impact" by its code and removing it again with the keyboard only and without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from engage.accounts.services import find_by_username
from engage.core.permissions import Role
from engage.demo import DEMO_PASSWORD, seed_demo
from engage.extensions import db
from engage.feedback import services as feedback_services
from engage.feedback.models import ImpactFeedbackLink
from tests.browser.axe import assert_accessible
from tests.browser.conftest import sign_in_as
from tests.browser.test_feedback import tab_until
from tests.factories import make_member, make_staff
from tests.factories_feedback import Anonymous

pytestmark = pytest.mark.browser


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def test_programme_lead_dashboard_is_accessible_and_filters(live_server, page):
    with live_server.app.app_context():
        seed_demo()
        lead = find_by_username("demo-lead")
    sign_in_as(page, live_server, lead, password=DEMO_PASSWORD)
    page.get_by_role("link", name="Dashboard").click()
    expect(heading(page)).to_have_text("Programme dashboard")
    expect(page.locator("svg[role='img']").first).to_be_visible()
    expect(page.get_by_role("table", name="Members of each panel, month by month")).to_be_visible()
    assert_accessible(page, "dashboard")
    page.get_by_text("How this is counted").first.click()
    expect(page.get_by_text("People holding a place on the panel")).to_be_visible()
    page.get_by_label("Equality question").select_option(label="What is your sex?")
    page.get_by_role("button", name="Show figures").click()
    expect(page.get_by_role("heading", name="Who took part: What is your sex?")).to_be_visible()
    page.get_by_label("From", exact=True).fill("2026-05-01")
    page.get_by_label("To", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Show figures").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("end date must be on or after")
    assert_accessible(page, "dashboard with a filter error")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this table (CSV)").filter(
            has_text="Consultation responses by month").click()
    assert download.value.suggested_filename.endswith(".csv")


def test_member_answers_equality_sees_impact_and_data_we_hold(live_server, page):
    with live_server.app.app_context():
        member = make_member(display_name="River")
        db.session.commit()
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/account")
    page.get_by_role("link", name="Equality monitoring questions (optional)").click()
    expect(heading(page)).to_have_text("Equality monitoring questions")
    assert_accessible(page, "equality questions")
    page.get_by_role("group", name="What is your ethnic group?").get_by_label(
        "Prefer not to say").check()
    page.get_by_role("group", name="Have you been in care (care experienced)?").get_by_label(
        "Yes").check()
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_text("Your answers are saved")).to_be_visible()
    expect(page.get_by_role("group", name="Have you been in care (care experienced)?")
           .get_by_label("Yes")).to_be_checked()

    page.get_by_role("link", name="Your impact").click()
    expect(heading(page)).to_have_text("Your impact")
    expect(page.get_by_text("You have not joined a panel yet.")).to_be_visible()
    assert_accessible(page, "your impact")

    page.get_by_role("link", name="The data we hold about you").click()
    expect(heading(page)).to_have_text("The data we hold")
    expect(page.get_by_role("heading", name="Your equality monitoring answers")).to_be_visible()
    assert_accessible(page, "data we hold")

    page.goto(f"{live_server.url}/account/close")
    expect(page.get_by_role("row", name="Your equality monitoring answers")).to_be_visible()
    assert_accessible(page, "close account with what happens to each kind of data")
    page.get_by_label("Keep my contributions without my name").check()
    page.get_by_label("Your password").fill("wrong password")
    page.get_by_role("button", name="Close my account").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("still open")
    expect(page.get_by_label("Keep my contributions without my name")).to_be_checked()


def test_admin_settings_pages_are_accessible(live_server, page):
    with live_server.app.app_context():
        seed_demo()
        admin = find_by_username("demo-admin")
    sign_in_as(page, live_server, admin, password=DEMO_PASSWORD)
    page.goto(f"{live_server.url}/admin/retention")
    expect(heading(page)).to_have_text("How long data is kept")
    assert_accessible(page, "retention settings")
    page.get_by_label("Panel applications that did not lead to membership").fill("0")
    page.get_by_role("button", name="Save the periods").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("whole number of months")
    assert_accessible(page, "retention settings with an error")
    page.goto(f"{live_server.url}/admin/equality/population")
    expect(heading(page)).to_have_text("Local population figures")
    assert_accessible(page, "population figures")


def _member_with_anonymous_feedback(live_server) -> tuple:
    with live_server.app.app_context():
        member = make_member(display_name="Wren")
        given = feedback_services.give_feedback(Anonymous(), topic="Health services",
                                                body="The waiting room needs a quiet corner.")
        feedback_services.reply_to_feedback(make_staff(Role.FACILITATOR), given.item,
                                            "Thank you. We are looking for a room.")
        db.session.commit()
        return member, given.code


def test_keyboard_only_add_and_remove_anonymous_feedback_by_code(live_server, page):
    member, code = _member_with_anonymous_feedback(live_server)
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/impact")
    expect(page.get_by_role("heading", name="Anonymous feedback you added")).to_be_visible()
    assert_accessible(page, "your impact with no feedback added")

    tab_until(page, lambda el: el["text"] == "Add anonymous feedback with its code")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("Add anonymous feedback to your impact page")
    expect(page.get_by_text("It connects this feedback to your account")).to_be_visible()
    assert_accessible(page, "add anonymous feedback by code")

    tab_until(page, lambda el: el["id"] == "code")
    page.keyboard.type("not a real code at all")
    page.keyboard.press("Enter")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "We could not find feedback with that code")
    expect(page.get_by_label("Your feedback code")).to_have_value("not a real code at all")
    assert_accessible(page, "add anonymous feedback by code with an error")

    tab_until(page, lambda el: el["id"] == "code")
    page.keyboard.press("Control+A")  # replace what was typed
    page.keyboard.type(code.replace("-", " ").upper())
    tab_until(page, lambda el: el["tag"] == "button" and el["text"] == "Add to my impact page")
    page.keyboard.press("Enter")

    expect(heading(page)).to_have_text("Your impact")
    expect(page.get_by_text("The feedback is now on your impact page")).to_be_visible()
    section = page.locator("section", has=page.get_by_role(
        "heading", name="Anonymous feedback you added"))
    expect(section).to_contain_text("about Health services")
    expect(section).to_contain_text("Read by our team. 1 reply from our team.")
    assert_accessible(page, "your impact with anonymous feedback added")

    tab_until(page, lambda el: el["tag"] == "button"
              and el["text"].startswith("Remove from my impact page"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("It is no longer linked to your account")).to_be_visible()
    expect(section).not_to_contain_text("about Health services")
    with live_server.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImpactFeedbackLink)) == 0


def test_adding_and_removing_a_code_works_without_javascript(live_server, page_without_js):
    page = page_without_js
    member, code = _member_with_anonymous_feedback(live_server)
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/impact")
    page.get_by_role("link", name="Add anonymous feedback with its code").click()
    page.get_by_label("Your feedback code").fill(code)
    page.get_by_role("button", name="Add to my impact page").click()
    expect(page.get_by_text("The feedback is now on your impact page")).to_be_visible()
    page.get_by_role("link", name="Add anonymous feedback with its code").click()
    page.get_by_label("Your feedback code").fill(code)
    page.get_by_role("button", name="Add to my impact page").click()
    expect(page.get_by_text("already on your impact page, so nothing has changed")).to_be_visible()
    page.get_by_role("button", name="Remove from my impact page").click()
    expect(page.get_by_text("It is no longer linked to your account")).to_be_visible()
    expect(page.get_by_role("button", name="Remove from my impact page")).to_have_count(0)
