"""Writing, linking, second-person approval, public updates and closing the loop."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from engage.changes import services
from engage.changes.models import ChangeEntry, ChangeStatus, Publication
from engage.core.clock import frozen
from engage.core.models import AuditEvent, Notification, OutboxMessage
from engage.core.permissions import Role
from engage.errors import InvalidState, NotAllowed, ValidationFailed
from engage.feedback.models import FeedbackItem, FeedbackStatus
from tests.factories import make_member, make_staff, sign_in
from tests.factories_feedback import give, make_entry, make_feedback, publish, publish_new_version


@pytest.fixture
def lead(db):
    return make_staff(Role.PROGRAMME_LEAD)


def test_only_programme_leads_write_entries(db):
    for role in (Role.FACILITATOR, Role.FINANCE, Role.SAFEGUARDING_LEAD, Role.ADMIN):
        with pytest.raises(NotAllowed):
            make_entry(make_staff(role))
    with pytest.raises(NotAllowed):
        make_entry(make_member())


def test_rules_for_status_and_required_fields(db, lead):
    with pytest.raises(ValidationFailed, match="not possible"):
        make_entry(lead, status=ChangeStatus.NOT_POSSIBLE)
    with pytest.raises(ValidationFailed, match="what was done"):
        make_entry(lead, done="  ")
    done = make_entry(lead, status=ChangeStatus.DONE)
    assert done.completed_on is not None
    planned = make_entry(lead, status=ChangeStatus.PLANNED,
                         completed_on=done.completed_on)
    assert planned.completed_on is None


def test_publishing_needs_a_second_person(db, lead):
    entry = make_entry(lead)
    services.submit_for_approval(lead, entry)
    with pytest.raises(NotAllowed, match="second person"):
        services.approve_entry(lead, entry)
    with pytest.raises(NotAllowed):
        services.approve_entry(make_staff(Role.FACILITATOR), entry)
    other_submitter = make_staff(Role.PROGRAMME_LEAD)
    assert not services.can_approve(lead, entry)
    assert services.can_approve(other_submitter, entry)
    admin = make_staff(Role.ADMIN)
    services.approve_entry(admin, entry)
    assert entry.publication == Publication.PUBLISHED and entry.approved_by_id == admin.id
    assert [e.kind for e in entry.events] == ["published"]
    with pytest.raises(InvalidState):
        services.approve_entry(other_submitter, entry)
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "change_entry").order_by(AuditEvent.id)).all()
    assert actions == ["change.created", "change.submitted", "change.published"]


def test_a_draft_cannot_be_approved_without_being_submitted(db, lead):
    entry = make_entry(lead)
    with pytest.raises(InvalidState):
        services.approve_entry(make_staff(Role.PROGRAMME_LEAD), entry)


def test_the_database_refuses_approval_by_the_submitter(db, lead):
    entry = make_entry(lead)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(update(ChangeEntry).where(ChangeEntry.id == entry.id).values(
            submitted_by_id=lead.id, approved_by_id=lead.id))
        db.session.flush()
    db.session.rollback()


def test_editing_an_entry_waiting_for_approval_sends_it_back_to_draft(db, lead):
    entry = make_entry(lead)
    services.submit_for_approval(lead, entry)
    services.update_entry(lead, entry, said="Changed wording", done=entry.done,
                          organisation=entry.organisation, status=entry.status)
    assert entry.publication == Publication.DRAFT and entry.submitted_by_id is None


def test_linking_feedback_marks_it_and_unlinking_puts_it_back(db, lead):
    entry = make_entry(lead)
    item = make_feedback()
    services.link_feedback(lead, entry, item.id)
    services.link_feedback(lead, entry, item.id)  # a double submit adds nothing
    assert item.status == FeedbackStatus.LINKED
    assert len(services.linked_feedback(entry)) == 1
    with pytest.raises(ValidationFailed):
        services.link_feedback(lead, entry, 12345)
    services.unlink_feedback(lead, entry, item.id)
    db.session.refresh(item)
    assert item.status == FeedbackStatus.ACKNOWLEDGED


def test_named_givers_hear_when_published_and_when_status_changes(db, lead):
    member = make_member(email="kit@example.org", email_is_safe=True)
    named = give("Named", actor=member, attach_name=True)
    anonymous = give("Anonymous")
    entry = make_entry(lead)
    services.link_feedback(lead, entry, named.item.id)
    services.link_feedback(lead, entry, anonymous.item.id)
    assert db.session.scalars(select(Notification)).all() == []  # drafts tell nobody
    publish(entry)
    notes = db.session.scalars(select(Notification)).all()
    assert [(n.user_id, n.title) for n in notes] == [(member.id,
                                                     "What you told us has led to a change")]
    publish_new_version(entry, lead, status=ChangeStatus.IN_PROGRESS)
    notes = db.session.scalars(select(Notification).where(Notification.user_id == member.id)
                               .order_by(Notification.id)).all()
    assert notes[-1].title == "A change linked to what you told us has moved on"
    assert "In progress" in notes[-1].body
    emails = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.user_id == member.id)).all()
    assert len(emails) == 2 and all(e.subject == "You have a new message" for e in emails)


def test_published_edits_keep_a_visible_history(db, lead, client):
    from datetime import UTC, datetime

    entry = make_entry(lead)
    with frozen(datetime(2026, 3, 2, 10, 0, tzinfo=UTC)):
        publish(entry)
    with frozen(datetime(2026, 4, 7, 15, 30, tzinfo=UTC)):
        publish_new_version(entry, lead, done="Now open until 10pm.", status=ChangeStatus.DONE)
    db.session.commit()
    html = client.get(f"/you-said-we-did/{entry.id}").get_data(as_text=True)
    assert "Published on 2 March 2026 at 10:00" in html
    assert "Updated on 7 April 2026 at 16:30: status changed to 'Done'" in html
    assert "Now open until 10pm." in html


def test_lead_writes_links_and_a_second_lead_approves_through_the_pages(browser_like, db,
                                                                       client):
    first, second = make_staff(Role.PROGRAMME_LEAD), make_staff(Role.PROGRAMME_LEAD)
    item = make_feedback(body="Please open the drop-in later.")
    db.session.commit()
    sign_in(browser_like, first)
    bad = browser_like.post("/staff/changes/new", {"said": "", "done": "",
                                                   "organisation": "Clinic"})
    assert bad.status_code == 200 and "Summarise what people said." in bad.get_data(
        as_text=True)
    response = browser_like.post("/staff/changes/new", {
        "said": "The drop-in closes too early.", "done": "Open until 9pm from May.",
        "organisation": "City SARC", "theme": "Opening hours", "status": "planned",
        "target_on": "2026-05-01"})
    assert response.status_code == 302
    entry_url = response.headers["Location"]
    entry = db.session.scalars(select(ChangeEntry)).one()
    found = browser_like.get(f"{entry_url}?words=drop-in+later").get_data(as_text=True)
    assert "Please open the drop-in later." in found
    linked = browser_like.post(f"{entry_url}/links", {"feedback_id": str(item.id)},
                               form_url=entry_url)
    assert linked.status_code == 302
    wrong = browser_like.post(f"{entry_url}/links", {"feedback_id": "999"}, form_url=entry_url)
    assert wrong.status_code == 400 and "That feedback is no longer there" in wrong.get_data(
        as_text=True)
    assert browser_like.post(f"{entry_url}/submit", {}, form_url=entry_url).status_code == 302
    page = browser_like.get(entry_url).get_data(as_text=True)
    assert "Waiting for a second person to approve it" in page and "Approve and publish" \
        not in page
    assert client.get(f"/you-said-we-did/{entry.id}").status_code == 404
    browser_like.post("/sign-out", {}, form_url=entry_url)
    sign_in(browser_like, second)
    assert browser_like.post(f"{entry_url}/approve", {}, form_url=entry_url).status_code == 302
    db.session.expire_all()
    assert db.session.get(ChangeEntry, entry.id).is_published
    assert db.session.get(FeedbackItem, item.id).status == FeedbackStatus.LINKED
    assert client.get(f"/you-said-we-did/{entry.id}").status_code == 200
