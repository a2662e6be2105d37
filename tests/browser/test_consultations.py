"""Issue 3 (consultations) in a real browser: every consultation page type passes axe, and a
keyboard-only journey answers a consultation, skipping the part behind a content note."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engage.consultations import services as consultation_services
from engage.consultations.models import (
    AnonymousResponse,
    Consultation,
    ConsultationPart,
    ConsultationState,
    Question,
    QuestionKind,
)
from engage.core import clock
from engage.core.permissions import Role
from engage.demo import seed_demo
from engage.extensions import db
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.factories import make_member, make_staff
from tests.factories_consultations import make_consultation
from tests.factories_panels import make_membership, make_panel

pytestmark = pytest.mark.browser


def focused(page: Page) -> dict:
    return page.evaluate("""() => {
      const el = document.activeElement;
      return {tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute("name"),
              type: el.getAttribute("type"), text: (el.innerText || "").trim(),
              href: el.getAttribute("href")};
    }""")


def tab_until(page: Page, wanted, what: str, limit: int = 120) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if wanted(now):
            return now
    pytest.fail(f"Tab never reached {what}")


def _content_noted(panel) -> Consultation:
    now = clock.now()
    consultation = Consultation(
        panel_id=panel.id, title="Support after reporting", summary="Tell us what helped.",
        content_note="Some questions mention reporting to the police.",
        opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10),
        is_anonymous=True, state=ConsultationState.OPEN)
    parts = [ConsultationPart(position=1, title="About support"),
             ConsultationPart(position=2, title="Reporting",
                              content_note="This part asks about reporting to the police."),
             ConsultationPart(position=3, title="Anything else")]
    consultation.parts.extend(parts)
    db.session.add(consultation)
    db.session.flush()
    parts[0].questions.append(Question(
        consultation_id=consultation.id, kind=QuestionKind.SINGLE_CHOICE,
        text="Have you used support services?",
        options=[{"key": "1", "label": "Yes"}, {"key": "2", "label": "No"}]))
    parts[1].questions.append(Question(
        consultation_id=consultation.id, kind=QuestionKind.FREE_TEXT,
        text="What was reporting like?", max_length=500))
    parts[2].questions.append(Question(
        consultation_id=consultation.id, kind=QuestionKind.FREE_TEXT,
        text="Anything else?", max_length=300))
    db.session.flush()
    return consultation


def _setup(live_server: LiveServer):
    with live_server.app.app_context():
        facilitator = make_staff(Role.FACILITATOR)
        member = make_member(display_name="River")
        panel = make_panel(facilitators=[facilitator])
        make_membership(panel, member)
        consultation = _content_noted(panel)
        db.session.commit()
        ids = {q.text: q.id for q in consultation.ordered_questions()}
        return facilitator, member, consultation.id, ids


def test_keyboard_only_answering_skips_the_content_noted_part(live_server, page):
    _, member, consultation_id, ids = _setup(live_server)
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/consultations/{consultation_id}")
    expect(page.get_by_text("Some questions mention reporting to the police.")).to_be_visible()
    assert_accessible(page, "consultation page with a content note")

    tab_until(page, lambda f: f["tag"] == "a" and f["text"] == "Start", "the Start link")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/consultations/{consultation_id}/answer")
    assert_accessible(page, "answer page with a content note")

    single = f"q{ids['Have you used support services?']}"
    tab_until(page, lambda f: f["name"] == single, "the first question")
    page.keyboard.press("ArrowDown")  # radios: arrows move and choose
    assert focused(page)["id"] == f"{single}-2"

    skip = tab_until(page, lambda f: f["tag"] == "a" and f["text"].startswith("Skip this part"),
                     "the content note's skip link")
    assert skip["href"] == "#part-3"
    expect(page.get_by_label("What was reporting like?")).to_be_hidden()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    after_skip = focused(page)
    assert after_skip["id"] == f"q{ids['Anything else?']}", after_skip
    page.keyboard.type("thank you for listening")

    tab_until(page, lambda f: f["tag"] == "button" and f["text"] == "Send my answers",
              "the send button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you: your answers have been sent")
    assert_accessible(page, "thank you page")

    with live_server.app.app_context():
        # The worker adds anonymous answers with others' (here at once, as at the close).
        consultation = db.session.get(Consultation, consultation_id)
        consultation_services.settle_anonymous_answers(consultation)
        db.session.commit()
        [response] = db.session.scalars(select(AnonymousResponse)).all()
        answers = {a.question_id: a for a in response.answers}
    assert set(answers) == {ids["Have you used support services?"], ids["Anything else?"]}
    assert answers[ids["Have you used support services?"]].choices == ["2"]
    assert answers[ids["Anything else?"]].text == "thank you for listening"


def test_answer_errors_are_accessible_and_keep_what_was_typed(live_server, page):
    _, member, consultation_id, _ = _setup(live_server)
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/consultations/{consultation_id}/answer")
    page.get_by_label("Anything else?").fill("x" * 301)
    page.get_by_role("button", name="Send my answers").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("301 characters long")
    expect(page.get_by_label("Anything else?")).to_have_value("x" * 301)
    assert_accessible(page, "answer page with errors")


def test_staff_consultation_pages_are_accessible(live_server, page):
    facilitator, _, consultation_id, _ = _setup(live_server)
    with live_server.app.app_context():
        results = make_consultation(anonymous=True, created_by=facilitator,
                                    state=ConsultationState.CLOSED)
        db.session.commit()
        results_id = results.id
    sign_in_as(page, live_server, facilitator)
    for path, name in [
        ("/consultations/", "consultation list (staff)"),
        ("/consultations/new", "create a consultation"),
        (f"/consultations/{consultation_id}/manage", "manage (open)"),
        (f"/consultations/{consultation_id}/preview", "preview"),
        (f"/consultations/{results_id}/manage", "manage (closed)"),
    ]:
        page.goto(live_server.url + path)
        assert_accessible(page, name)
    page.goto(f"{live_server.url}/consultations/new")
    page.get_by_role("button", name="Save as a draft").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter a title")
    assert_accessible(page, "create a consultation with errors")
    page.get_by_label("Title").fill("A new consultation")
    page.get_by_label("Summary").fill("What do you think?")
    page.get_by_role("button", name="Save as a draft").click()
    expect(page.get_by_role("heading", name="Add a question")).to_be_visible()
    assert_accessible(page, "builder (draft)")
    page.get_by_label("Scale (1 to 5)").check()
    page.get_by_label("Question", exact=True).fill("How safe did you feel?")
    page.get_by_role("button", name="Add the question").click()
    expect(page.get_by_text("Question added.")).to_be_visible()
    page.get_by_role("link", name="Change details").click()
    assert_accessible(page, "edit a draft consultation")


def test_published_results_and_staff_answers_are_accessible(live_server, page):
    with live_server.app.app_context():
        seed_demo()
        published = db.session.scalar(select(Consultation).where(
            Consultation.state == ConsultationState.PUBLISHED))
        open_one = db.session.scalar(select(Consultation).where(
            Consultation.state == ConsultationState.OPEN))
        published_id, open_id = published.id, open_one.id
        lead = make_staff(Role.PROGRAMME_LEAD)
        db.session.commit()
    page.goto(f"{live_server.url}/consultations/{published_id}/results")
    expect(page.locator("svg[role=img]")).to_have_count(2)
    expect(page.get_by_role("cell", name="fewer than 5").first).to_be_visible()
    assert_accessible(page, "published results")
    page.goto(f"{live_server.url}/consultations/{published_id}")
    assert_accessible(page, "consultation page (visitor)")
    page.goto(f"{live_server.url}/consultations/")
    assert_accessible(page, "consultation list (visitor)")
    page.goto(f"{live_server.url}/consultations/{published_id}/answer")
    expect(page.get_by_text("we cannot accept answers any more")).to_be_visible()
    sign_in_as(page, live_server, lead)
    page.goto(f"{live_server.url}/consultations/{open_id}/responses")
    assert_accessible(page, "answers for staff")
    page.get_by_label("Add a tag to Response").first.fill("thanks")
    page.get_by_role("button", name="Add tag").first.click()
    expect(page.get_by_text("Tag added.")).to_be_visible()
    assert_accessible(page, "answers for staff with a tag")


def test_visitor_answers_a_public_consultation_without_javascript(live_server,
                                                                   page_without_js):
    page = page_without_js
    with live_server.app.app_context():
        consultation = make_consultation(anonymous=True)
        db.session.commit()
        consultation_id = consultation.id
    page.goto(f"{live_server.url}/consultations/{consultation_id}")
    page.get_by_role("link", name="Start").click()
    page.get_by_label("Prefer not to say").first.check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you: your answers have been sent")


def test_saving_and_withdrawing_answers_is_accessible(live_server, page):
    with live_server.app.app_context():
        member = make_member()
        panel = make_panel()
        make_membership(panel, member)
        consultation = make_consultation(panel=panel)
        db.session.commit()
        consultation_id = consultation.id
    sign_in_as(page, live_server, member)
    page.goto(f"{live_server.url}/consultations/{consultation_id}/answer")
    page.get_by_label("What should change?").fill("more time")
    page.get_by_role("button", name="Save and come back later").click()
    expect(page.get_by_text("Your answers are saved.")).to_be_visible()
    assert_accessible(page, "consultation page with saved answers")
    page.get_by_role("link", name="Delete them").click()
    assert_accessible(page, "withdraw answers")
    page.get_by_role("button", name="Withdraw and delete my answers").click()
    expect(page.get_by_text("Your answers have been withdrawn and deleted.")).to_be_visible()
    expect(page.get_by_role("link", name="Start")).to_be_visible()
