"""The demo data shows the whole loop, and seeding twice changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from engage.changes.models import ChangeEntry, ChangeLink
from engage.demo import seed_demo
from engage.demo.changes import DEMO_SAID, HELPLINE_SAID
from engage.feedback import services as feedback_services
from engage.feedback.models import FeedbackItem


def test_demo_has_a_published_entry_linked_to_demo_feedback_and_is_repeatable(db, client):
    lines = seed_demo()
    code = next(line.rsplit(" ", 1)[1] for line in lines if "feedback code" in line)
    entry = db.session.scalars(select(ChangeEntry).where(ChangeEntry.said == DEMO_SAID)).one()
    assert entry.is_published and entry.created_by_id != entry.approved_by_id
    item = feedback_services.find_by_code(code)
    assert item is not None and item.replies
    assert db.session.scalar(select(ChangeLink.feedback_id).where(
        ChangeLink.entry_id == entry.id)) == item.id
    assert "stays open until 8pm" in client.get(f"/you-said-we-did/{entry.id}").get_data(
        as_text=True)
    again = seed_demo()
    assert any("'you said, we did' entry already exist" in line for line in again)
    assert db.session.scalar(select(func.count()).select_from(FeedbackItem)) == 2
    assert db.session.scalar(select(func.count()).select_from(ChangeEntry)) == 2
    helpline = db.session.scalars(select(ChangeEntry).where(
        ChangeEntry.said == HELPLINE_SAID)).one()
    page = client.get(f"/you-said-we-did/{helpline.id}").get_data(as_text=True)
    assert "Fewer than 5 consultation responses" not in page  # 7 written answers
    assert "7 consultation responses" in page and "1 consultation" in page
    assert "Overnight, please." in page  # may be quoted publicly
    assert "A call-back service would help." not in page  # only for the panel team
    assert "Please keep a text option." not in page  # commissioner only
