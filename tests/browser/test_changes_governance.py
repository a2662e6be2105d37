"""Issue 16, 'you said, we did' governance, in a real browser (axe on every new page type,
keyboard only, and without JavaScript): the second approver is told and sends an entry back
with a comment, a published entry changes only through an approved new version, withdrawal
with a public reason, deleting a draft, and linking feedback found by searching."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from engage.accounts.models import User
from engage.changes import services
from engage.changes.models import ChangeEntry
from engage.demo import DEMO_PASSWORD, seed_demo
from engage.demo.changes import DEMO_SAID
from engage.extensions import db
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, new_page, sign_in_as

pytestmark = pytest.mark.browser


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def banner(page: Page):
    return page.locator(".nhsuk-notification-banner--success")


def focused(page: Page) -> dict:
    return page.evaluate(r"""() => {
      const el = document.activeElement;
      return {id: el.id, text: (el.innerText || el.value || "").replace(/\s+/g, " ").trim()};
    }""")


def tab_until(page: Page, wanted, limit: int = 200) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if wanted(focused(page)):
            return
    pytest.fail(f"Tab never reached the wanted control on {page.url}; last {focused(page)}")


def tab_to(page: Page, text: str) -> None:
    tab_until(page, lambda el: el["text"] == text)


def tab_to_field(page: Page, field_id: str) -> None:
    tab_until(page, lambda el: el["id"] == field_id)


def demo(live_server: LiveServer) -> dict:
    with live_server.app.app_context():
        seed_demo()
        entry = db.session.scalars(db.select(ChangeEntry).where(
            ChangeEntry.said == DEMO_SAID)).one()
        people = {u.username: u for u in db.session.scalars(db.select(User))}
        return {"entry": entry.id, "people": people}


@pytest.fixture
def second_page(browser: Browser) -> Iterator[Page]:
    """Another person's browser: staff sign in once each (a two-factor code works once)."""
    yield from new_page(browser)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()


def test_write_find_link_submit_send_back_and_approve_with_the_keyboard(live_server, page,
                                                                        second_page):
    data = demo(live_server)
    people = data["people"]
    sign_in_as(page, live_server, people["demo-lead"], DEMO_PASSWORD)
    page.goto(f"{live_server.url}/staff/changes/new")
    tab_to_field(page, "said")
    page.keyboard.type("The support numbers are hard to find on the website.")
    tab_to_field(page, "done")
    page.keyboard.type("They are now at the top of every page.")
    tab_to_field(page, "organisation")
    page.keyboard.type("Engage")
    tab_to(page, "Save entry")
    page.keyboard.press("Enter")
    expect(banner(page)).to_contain_text("The entry is saved as a draft")
    expect(banner(page)).to_be_focused()
    entry_url = page.url.split("#")[0]

    # Find the feedback by its words, not by a reference number.
    tab_to_field(page, "words")
    page.keyboard.type("support numbers")
    page.keyboard.press("Enter")
    # The newest feedback is listed before any search: wait for the search's own page.
    expect(page.get_by_role("status").filter(has_text="found")).to_be_visible()
    results = page.locator("#feedback-choices")
    expect(results).to_contain_text("It would help to have the support numbers at the top")
    assert_accessible(page, "entry page with feedback found by searching")
    tab_until(page, lambda el: el["text"].startswith("Link the feedback received"))
    page.keyboard.press("Enter")
    expect(banner(page)).to_contain_text("Feedback linked to this entry.")
    expect(page.locator("#linked-feedback + ul")).to_contain_text("support numbers")

    tab_to(page, "Submit for approval")
    page.keyboard.press("Enter")
    expect(banner(page)).to_contain_text("Submitted for approval")

    # The second lead, at their own computer, has been told it is waiting for them, and sends
    # it back.
    writer, page = page, second_page
    sign_in_as(page, live_server, people["demo-lead2"], DEMO_PASSWORD)
    page.goto(f"{live_server.url}/notifications")
    expect(page.get_by_text("Waiting for your approval").first).to_be_visible()
    page.goto(entry_url)
    tab_to(page, "Send back")
    page.keyboard.press("Enter")  # no comment yet
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Say what needs changing")
    assert_accessible(page, "send back without a comment")
    tab_to_field(page, "note")
    page.keyboard.type("Say which pages, please.")
    tab_to(page, "Send back")
    page.keyboard.press("Enter")
    expect(banner(page)).to_contain_text("Sent back with your comment")

    approver, page = page, writer
    page.goto(entry_url)
    expect(page.locator(".nhsuk-warning-callout")).to_contain_text("Say which pages, please.")
    assert_accessible(page, "entry sent back with a comment")
    tab_to(page, "Submit for approval")
    page.keyboard.press("Enter")
    expect(banner(page)).to_contain_text("Submitted for approval")

    page = approver
    page.goto(entry_url)
    tab_to(page, "Approve and publish")
    page.keyboard.press("Enter")
    expect(banner(page)).to_contain_text("Approved and published")
    expect(banner(page)).to_be_focused()


def test_a_published_entry_changes_only_through_an_approved_new_version(live_server, page):
    data = demo(live_server)
    people = data["people"]
    entry_url = f"{live_server.url}/staff/changes/{data['entry']}"
    public_url = f"{live_server.url}/you-said-we-did/{data['entry']}"
    sign_in_as(page, live_server, people["demo-lead"], DEMO_PASSWORD)
    page.goto(entry_url)
    page.get_by_role("link", name="Change this entry (starts a new version)").click()
    expect(page.get_by_text("What you save here becomes a new version")).to_be_visible()
    assert_accessible(page, "editing a published entry")
    page.get_by_label("We did: what was done, or what will be done").fill(
        "The drop-in now stays open until 9pm every weekday.")
    page.get_by_role("button", name="Save new version").click()
    expect(banner(page)).to_contain_text("Saved as a new version")
    expect(page.get_by_role("heading", name="New version 2")).to_be_visible()
    assert_accessible(page, "entry with a new version in preparation")
    page.goto(public_url)
    expect(page.get_by_text("until 9pm every weekday")).to_have_count(0)
    page.goto(entry_url)
    page.get_by_role("button", name="Submit the new version for approval").click()
    sign_out(page)

    sign_in_as(page, live_server, people["demo-lead2"], DEMO_PASSWORD)
    page.goto(entry_url)
    page.get_by_role("button", name="Approve and publish the new version").click()
    expect(banner(page)).to_contain_text("The new version is published")
    page.goto(public_url)
    expect(page.get_by_text("until 9pm every weekday")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Updated on .* Earlier wording is kept"))).to_be_visible()
    page.get_by_text(re.compile("^Version 1, public from")).click()
    expect(page.get_by_text("until 8pm on Tuesdays and Thursdays")).to_be_visible()
    assert_accessible(page, "public entry with an earlier version")


def test_withdraw_and_delete_without_javascript(live_server, page_without_js):
    page = page_without_js
    data = demo(live_server)
    lead = data["people"]["demo-lead"]
    with live_server.app.app_context():
        draft = services.create_entry(db.session.get(User, lead.id), said="A draft to delete",
                                      done="Nothing yet", organisation="Engage")
        db.session.commit()
        draft_id = draft.id
    sign_in_as(page, live_server, lead, DEMO_PASSWORD)
    page.goto(f"{live_server.url}/staff/changes/{data['entry']}")
    page.get_by_role("link", name="Withdraw from public view").click()
    expect(heading(page)).to_have_text("Withdraw this entry from public view?")
    page.get_by_role("button", name="Withdraw from public view").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Give the reason")
    reason = "It has been replaced by a newer entry about opening hours."
    page.get_by_label("Why is it being withdrawn? Everyone can read this.").fill(reason)
    page.get_by_role("button", name="Withdraw from public view").click()
    expect(banner(page)).to_contain_text("Withdrawn from public view")
    first = page.evaluate("() => document.querySelector('main').firstElementChild.className")
    assert "nhsuk-notification-banner--success" in first

    response = page.goto(f"{live_server.url}/you-said-we-did/{data['entry']}")
    assert response.status == 410
    expect(heading(page)).to_have_text("This change has been withdrawn")
    expect(page.get_by_text(reason)).to_be_visible()
    page.goto(f"{live_server.url}/you-said-we-did")
    expect(page.get_by_text("evening drop-in closes at 6pm")).to_have_count(0)

    page.goto(f"{live_server.url}/staff/changes/{draft_id}")
    page.get_by_role("link", name="Delete this draft").click()
    expect(heading(page)).to_have_text("Delete this draft?")
    page.get_by_role("button", name="Yes, delete it").click()
    expect(banner(page)).to_contain_text("A draft to delete")
    expect(heading(page)).to_have_text("'You said, we did' entries")
    expect(page.get_by_role("link", name="A draft to delete")).to_have_count(0)


def test_withdraw_and_delete_pages_pass_axe(live_server, page):
    """axe runs in the page's JavaScript, so the new pages the test above uses without
    JavaScript are checked here, in the same states."""
    data = demo(live_server)
    lead = data["people"]["demo-lead"]
    with live_server.app.app_context():
        draft = services.create_entry(db.session.get(User, lead.id), said="A draft to delete",
                                      done="Nothing yet", organisation="Engage")
        db.session.commit()
        draft_id = draft.id
    sign_in_as(page, live_server, lead, DEMO_PASSWORD)
    page.goto(f"{live_server.url}/staff/changes/{data['entry']}/withdraw")
    expect(heading(page)).to_have_text("Withdraw this entry from public view?")
    assert_accessible(page, "withdraw page")
    page.get_by_role("button", name="Withdraw from public view").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Give the reason")
    assert_accessible(page, "withdraw page with an error")
    page.get_by_label("Why is it being withdrawn? Everyone can read this.").fill(
        "It has been replaced by a newer entry about opening hours.")
    page.get_by_role("button", name="Withdraw from public view").click()
    expect(banner(page)).to_contain_text("Withdrawn from public view")
    assert_accessible(page, "withdrawn entry's staff page")

    response = page.goto(f"{live_server.url}/you-said-we-did/{data['entry']}")
    assert response.status == 410
    expect(heading(page)).to_have_text("This change has been withdrawn")
    assert_accessible(page, "withdrawn entry's public page")

    page.goto(f"{live_server.url}/staff/changes/{draft_id}/delete")
    expect(heading(page)).to_have_text("Delete this draft?")
    assert_accessible(page, "delete draft page")
