"""Issue 16: staff navigation shows their queues with counts, in a real browser. A screen
reader hears each link with its count in words ("Feedback to triage (2 new items)"), each link
is reached with Tab and opens its queue, the count falls once the work is done, and axe finds
nothing serious on a staff page showing them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from engage.accounts.models import User
from engage.demo import DEMO_PASSWORD, seed_demo
from engage.extensions import db
from engage.feedback import services as feedback_services
from engage.feedback.models import FeedbackItem, FeedbackStatus
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.browser.keyboard import activate

pytestmark = pytest.mark.browser


def queue_links(page: Page):
    return page.get_by_role("navigation", name="Your work queues").get_by_role("link")


def test_staff_navigation_shows_their_queues_with_counts(live_server: LiveServer, page: Page):
    with live_server.app.app_context():
        seed_demo()
        feedback_services.give_feedback(None, body="The signs to the centre are hard to read.")
        db.session.commit()
        people = {u.username: u for u in db.session.scalars(db.select(User))}
        new_items = db.session.scalar(db.select(db.func.count()).select_from(FeedbackItem)
                                      .where(FeedbackItem.status == FeedbackStatus.NEW))
    assert new_items >= 2
    sign_in_as(page, live_server, people["demo-lead"], DEMO_PASSWORD)
    page.goto(f"{live_server.url}/dashboard")

    expect(queue_links(page)).to_have_count(3)
    for index, name in enumerate([r"Feedback to triage\s+\(\d+ new items?\)",
                                  r"Entries to approve\s+\(\d+ (entry|entries) waiting for you\)",
                                  r"Claims to check\s+\(\d+ claims?\)"]):
        expect(queue_links(page).nth(index)).to_have_accessible_name(re.compile(f"^{name}\\s*$"))
    # The count in words; the badge itself is hidden from screen readers.
    expect(queue_links(page).first).to_have_accessible_name(
        re.compile(rf"^Feedback to triage\s+\({new_items} new items\)\s*$"))
    assert_accessible(page, "staff page with work queues")

    for label, heading in [("Entries to approve", "You said, we did"),
                           ("Claims to check", "Claims to check"),
                           ("Feedback to triage", "Feedback")]:
        page.goto(f"{live_server.url}/dashboard")
        activate(page, label)
        expect(page.locator("h1")).to_contain_text(heading)
    assert page.url.endswith("/staff/feedback?status=new")

    page.locator("main a[href^='/staff/feedback/']").first.click()
    page.get_by_role("button", name=re.compile("Mark as read")).click()
    expect(page.locator(".nhsuk-notification-banner--success")).to_contain_text("Marked as read")
    left = new_items - 1
    expect(queue_links(page).first).to_have_accessible_name(re.compile(
        rf"^Feedback to triage\s+\({left} new item{'' if left == 1 else 's'}\)\s*$"))

    page.get_by_role("button", name="Sign out").click()
    sign_in_as(page, live_server, people["demo-member"], DEMO_PASSWORD)
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("navigation", name="Your work queues")).to_have_count(0)
