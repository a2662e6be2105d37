"""Issue 4 in a real browser: every new page type passes axe, and a keyboard-only journey from
giving anonymous feedback to checking it with the code."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from engage.accounts.models import User
from engage.changes.models import ChangeEntry
from engage.demo import DEMO_PASSWORD, seed_demo
from engage.demo.changes import DEMO_SAID
from engage.extensions import db
from engage.feedback import services as feedback_services
from engage.feedback.models import FeedbackItem
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.factories import make_member

pytestmark = pytest.mark.browser


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def focused(page: Page) -> dict:
    return page.evaluate("""() => {
      const el = document.activeElement;
      return {tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute("name"),
              type: el.getAttribute("type"), text: (el.innerText || el.value || "").trim(),
              href: el.getAttribute("href")};
    }""")


def tab_until(page: Page, wanted, limit: int = 60) -> dict:
    """Press Tab until `wanted(focused element)` is true, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = focused(page)
        assert element["name"] != "website", "the spam trap must never take keyboard focus"
        if wanted(element):
            return element
    pytest.fail(f"Tab never reached the wanted control on {page.url}")


def demo(live_server: LiveServer) -> dict:
    with live_server.app.app_context():
        lines = seed_demo()
        code = next(line.rsplit(" ", 1)[1] for line in lines if "feedback code" in line)
        entry = db.session.scalars(db.select(ChangeEntry).where(
            ChangeEntry.said == DEMO_SAID)).one()
        item = feedback_services.find_by_code(code)
        item.safeguarding_flagged = True
        member = make_member()
        named = feedback_services.give_feedback(member, body="Named feedback", attach_name=True)
        db.session.commit()
        people = {u.username: u for u in db.session.scalars(db.select(User))}
        return {"code": code, "entry": entry.id, "item": item.id, "member": member,
                "named": named.item.id, "people": people}


def test_keyboard_only_from_giving_feedback_to_checking_it(live_server, page):
    page.goto(f"{live_server.url}/feedback")
    expect(heading(page)).to_have_text("Give feedback")

    tab_until(page, lambda el: el["id"] == "body")
    page.keyboard.type("The waiting room at night feels unsafe. Better lighting would help.")
    tab_until(page, lambda el: el["id"] == "topic")
    page.keyboard.press("ArrowDown")  # the first topic
    tab_until(page, lambda el: el["name"] == "may_quote")
    page.keyboard.press("ArrowDown")  # "Yes, you may quote it"
    tab_until(page, lambda el: el["tag"] == "button" and el["text"] == "Send feedback")
    page.keyboard.press("Enter")

    expect(heading(page)).to_have_text("Thank you. We have your feedback.")
    code = page.locator("#feedback-code").inner_text().strip()
    assert len(code.split("-")) == 7
    assert_accessible(page, "feedback given, code shown")
    context_cookies = page.context.cookies()
    assert context_cookies == [], "an anonymous visitor must leave with no cookie"

    tab_until(page, lambda el: el["tag"] == "a" and el["text"] == "Check your feedback")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("Check your feedback")
    tab_until(page, lambda el: el["id"] == "code")
    page.keyboard.type(code.replace("-", " ").upper())
    page.keyboard.press("Enter")

    expect(heading(page)).to_have_text("Your feedback")
    expect(page.get_by_text("There are no replies yet.")).to_be_visible()
    with live_server.app.app_context():
        item = db.session.scalars(db.select(FeedbackItem)).one()
        assert item.may_quote and item.topic
    assert page.context.cookies() == []


def test_public_and_anonymous_pages_pass_axe(live_server, page):
    data = demo(live_server)
    page.goto(f"{live_server.url}/you-said-we-did")
    assert_accessible(page, "you said, we did log")
    page.get_by_role("link", name=re.compile("evening drop-in")).click()
    expect(page.get_by_text("I work until 5.30 and can never get there in time.")).to_be_visible()
    assert_accessible(page, "you said, we did entry")

    page.goto(f"{live_server.url}/feedback")
    assert_accessible(page, "give feedback")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert_accessible(page, "give feedback with errors")

    page.goto(f"{live_server.url}/feedback/check")
    assert_accessible(page, "check your feedback")
    page.get_by_label("Your feedback code").fill(data["code"])
    page.get_by_role("button", name="Check feedback").click()
    expect(heading(page)).to_have_text("Your feedback")
    expect(page.get_by_text("Thank you for telling us.")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("evening drop-in"))).to_be_visible()
    assert_accessible(page, "feedback status with a reply and a change")
    page.get_by_role("button", name="Withdraw my feedback").click()
    expect(heading(page)).to_have_text("Withdraw your feedback?")
    assert_accessible(page, "withdraw confirmation")
    page.get_by_role("button", name="No, keep my feedback").click()
    expect(heading(page)).to_have_text("Your feedback")
    page.get_by_role("button", name="Withdraw my feedback").click()
    page.get_by_role("button", name="Yes, withdraw and delete it").click()
    expect(heading(page)).to_have_text("Your feedback has been withdrawn")
    assert_accessible(page, "feedback withdrawn")
    page.goto(f"{live_server.url}/feedback/check")
    page.get_by_label("Your feedback code").fill(data["code"])
    page.get_by_role("button", name="Check feedback").click()
    expect(page.get_by_text("We could not find feedback with that code")).to_have_count(2)
    assert_accessible(page, "check your feedback, code not found")


@pytest.mark.parametrize("username, urls", [
    ("demo-facilitator", ["/staff/feedback", "/staff/feedback/{item}",
                          "/staff/changes/measures"]),
    ("demo-lead", ["/staff/changes", "/staff/changes/new", "/staff/changes/{entry}",
                   "/staff/changes/{entry}/edit"]),
    ("demo-safeguarding", ["/staff/safeguarding/feedback", "/staff/safeguarding/feedback/{item}"]),
])
def test_staff_pages_pass_axe(live_server, page, username, urls):
    data = demo(live_server)
    sign_in_as(page, live_server, data["people"][username], DEMO_PASSWORD)
    for url in urls:
        page.goto(live_server.url + url.format(**data))
        expect(heading(page)).to_be_visible()
        assert_accessible(page, f"{username} {url}")


def test_member_pages_pass_axe(live_server, page):
    data = demo(live_server)
    sign_in_as(page, live_server, data["member"])
    page.goto(f"{live_server.url}/feedback")
    expect(page.get_by_text("Do you want to add your name?")).to_be_visible()
    assert_accessible(page, "give feedback, signed in")
    page.goto(f"{live_server.url}/feedback/yours")
    assert_accessible(page, "your feedback")
    page.goto(f"{live_server.url}/feedback/yours/{data['named']}")
    expect(heading(page)).to_contain_text("Your feedback from")
    assert_accessible(page, "one piece of your feedback")


def test_feedback_works_without_javascript(live_server, page_without_js):
    page = page_without_js
    page.goto(f"{live_server.url}/feedback")
    page.get_by_label("What do you want to tell us?").fill("Works without scripts.")
    page.get_by_role("button", name="Send feedback").click()
    expect(heading(page)).to_have_text("Thank you. We have your feedback.")


def test_a_lead_writes_and_a_second_lead_approves_in_the_browser(live_server, page):
    data = demo(live_server)
    sign_in_as(page, live_server, data["people"]["demo-lead"], DEMO_PASSWORD)
    page.goto(f"{live_server.url}/staff/changes/new")
    page.get_by_label("You said: a summary of what people told us").fill("Signs are confusing.")
    page.get_by_label("We did: what was done, or what will be done").fill("New signs.")
    page.get_by_label("Which organisation or service did it?").fill("City SARC")
    page.get_by_role("button", name="Save entry").click()
    entry_url = page.url
    page.get_by_label("Words in the feedback").fill("drop-in")
    page.get_by_role("button", name="Find feedback").click()
    page.locator("#feedback-choices").get_by_role("button", name=re.compile("^Link")).first \
        .click()
    expect(page.get_by_text("Feedback linked to this entry.")).to_be_visible()
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text("Waiting for a second person to approve it")).to_be_visible()
    expect(page.get_by_role("button", name="Approve and publish")).to_have_count(0)
    assert_accessible(page, "entry waiting for approval")
    page.get_by_role("button", name="Sign out", exact=True).click()

    sign_in_as(page, live_server, data["people"]["demo-lead2"], DEMO_PASSWORD)
    page.goto(entry_url)
    page.get_by_role("button", name="Approve and publish").click()
    expect(page.get_by_text("Published", exact=True)).to_be_visible()
    page.get_by_role("link", name="See the public page").click()
    expect(heading(page)).to_have_text("Signs are confusing.")


def test_a_lead_links_a_consultation_answer_to_a_change_in_the_browser(live_server, page):
    data = demo(live_server)
    with live_server.app.app_context():
        from engage.consultations.models import Consultation, ConsultationState

        consultation_id = db.session.scalar(db.select(Consultation.id).where(
            Consultation.state == ConsultationState.PUBLISHED).order_by(Consultation.id))
    sign_in_as(page, live_server, data["people"]["demo-lead"], DEMO_PASSWORD)
    page.goto(f"{live_server.url}/consultations/{consultation_id}/responses")
    expect(page.get_by_text("Link this answer to a change").first).to_be_visible()
    assert_accessible(page, "consultation answers with 'link this answer to a change'")
    card = page.locator(".nhsuk-card", has_text="Daytime works for me")
    card.get_by_label("Link this answer to a change").select_option(str(data["entry"]))
    card.get_by_role("button", name="Link to this change").click()
    expect(page.get_by_text("Answer linked to the change")).to_be_visible()
    page.goto(f"{live_server.url}/staff/changes/{data['entry']}")
    expect(page.get_by_text("Daytime works for me, but I know I am lucky.")).to_be_visible()
    assert_accessible(page, "entry with linked consultation answers")
    page.goto(f"{live_server.url}/you-said-we-did/{data['entry']}")
    expect(page.get_by_text("Fewer than 5 consultation responses")).to_be_visible()
    expect(page.get_by_text("Daytime works for me, but I know I am lucky.")).to_be_visible()
