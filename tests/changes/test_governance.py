"""'You said, we did' governance: the second approver is told and can send an entry back; a
published entry changes only through a new version a second person approves; withdrawal with
a public reason; deleting drafts; the feeds stay true through all of it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import feedparser
import pytest
from sqlalchemy import select

from engage.changes import services
from engage.changes.models import ChangeEntry, ChangeStatus, ChangeVersion, Publication
from engage.core.clock import frozen
from engage.core.models import AuditEvent, Notification
from engage.core.permissions import Role
from engage.errors import InvalidState, NotAllowed, ValidationFailed
from engage.feedback.models import FeedbackStatus
from tests.conftest import FormClient
from tests.factories import make_member, make_staff, sign_in
from tests.factories_feedback import give, make_entry, make_feedback, publish, publish_new_version


@pytest.fixture
def lead(db):
    return make_staff(Role.PROGRAMME_LEAD)


def _notes(title: str) -> list[Notification]:
    from engage.extensions import db

    return list(db.session.scalars(select(Notification).where(Notification.title == title)
                                   .order_by(Notification.id)))


def _fields(entry: ChangeEntry, **changes) -> dict:
    return {**{name: getattr(entry, name) for name in services.EDITABLE_FIELDS}, **changes}


# --- the second approver -------------------------------------------------------------------


def test_the_second_approver_is_notified_when_an_entry_waits(db, lead):
    second, admin = make_staff(Role.PROGRAMME_LEAD), make_staff(Role.ADMIN)
    make_staff(Role.FACILITATOR)  # cannot approve: not told
    entry = make_entry(lead)
    services.submit_for_approval(lead, entry)
    told = _notes("Waiting for your approval")
    assert sorted(n.user_id for n in told) == sorted([second.id, admin.id])  # not the writer
    assert all(n.link == f"/staff/changes/{entry.id}" for n in told)
    assert services.awaiting_approval_by(second) == [entry]
    assert services.awaiting_approval_by(lead) == []


def test_the_second_approver_can_send_it_back_with_a_comment(db, lead):
    second = make_staff(Role.PROGRAMME_LEAD)
    entry = make_entry(lead)
    services.submit_for_approval(lead, entry)
    with pytest.raises(NotAllowed):
        services.send_back(lead, entry, "I cannot send back my own")
    with pytest.raises(ValidationFailed, match="what needs changing"):
        services.send_back(second, entry, "   ")
    services.send_back(second, entry, "Say which centre, please.")
    assert entry.publication == Publication.DRAFT and entry.submitted_by_id is None
    assert entry.sent_back_note == "Say which centre, please."
    assert [n.user_id for n in _notes("Sent back with a comment")] == [lead.id]
    # Submitting again clears the comment and asks again.
    services.submit_for_approval(lead, entry)
    assert entry.sent_back_note is None
    assert len(_notes("Waiting for your approval")) == 2


def test_sending_back_through_the_page_keeps_the_comment_and_confirms(app, db, lead):
    second = make_staff(Role.PROGRAMME_LEAD)
    entry = make_entry(lead)
    services.submit_for_approval(lead, entry)
    db.session.commit()
    visitor = FormClient(app.test_client())
    sign_in(visitor, second)
    url = f"/staff/changes/{entry.id}"
    too_long = visitor.post(f"{url}/send-back", {"note": "x" * 2001}, form_url=url)
    assert too_long.status_code == 400 and "x" * 2001 in too_long.get_data(as_text=True)
    done = visitor.post(f"{url}/send-back", {"note": "Say which centre."}, form_url=url,
                        follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "nhsuk-notification-banner--success" in page and "Sent back with your comment" in page
    sign_in(writer := FormClient(app.test_client()), lead)
    assert "Say which centre." in writer.get(url).get_data(as_text=True)


# --- new versions of a published entry -------------------------------------------------------


def test_editing_a_published_entry_waits_for_a_second_approval(db, lead, client):
    entry = publish(make_entry(lead, done="Open until 9pm."))
    db.session.commit()
    services.update_entry(lead, entry, **_fields(entry, done="Open until 10pm.",
                                                  status=ChangeStatus.DONE))
    db.session.commit()
    page = client.get(f"/you-said-we-did/{entry.id}").get_data(as_text=True)
    assert "Open until 9pm." in page and "Open until 10pm." not in page  # public unchanged
    version = services.pending_version(entry)
    assert version.number == 2 and version.publication == "draft"
    services.submit_for_approval(lead, entry)
    with pytest.raises(NotAllowed):
        services.approve_entry(lead, entry)  # not by its own writer
    second = make_staff(Role.PROGRAMME_LEAD)
    assert services.can_approve(second, entry)
    services.approve_entry(second, entry)
    db.session.commit()
    assert entry.done == "Open until 10pm." and entry.public_version == 2
    assert entry.updated_at is not None and services.pending_version(entry) is None
    page = client.get(f"/you-said-we-did/{entry.id}").get_data(as_text=True)
    assert "Open until 10pm." in page and "Updated on" in page
    assert "Version 1, public from" in page and "Open until 9pm." in page  # history kept


def test_saving_an_edit_again_changes_the_same_new_version(db, lead):
    entry = publish(make_entry(lead))
    services.update_entry(lead, entry, **_fields(entry, done="First try."))
    services.submit_for_approval(lead, entry)
    services.update_entry(lead, entry, **_fields(entry, done="Second try."))
    versions = db.session.scalars(select(ChangeVersion).where(
        ChangeVersion.entry_id == entry.id).order_by(ChangeVersion.number)).all()
    assert [(v.number, v.publication, v.done) for v in versions] == [
        (1, "published", entry.done), (2, "draft", "Second try.")]
    # Saving exactly what is public starts no version.
    other = publish(make_entry(lead))
    services.update_entry(lead, other, **_fields(other))
    assert services.pending_version(other) is None


def test_a_new_version_can_be_sent_back_or_deleted(db, lead, client):
    entry = publish(make_entry(lead))
    second = make_staff(Role.PROGRAMME_LEAD)
    services.update_entry(lead, entry, **_fields(entry, done="Something wrong."))
    services.submit_for_approval(lead, entry)
    services.send_back(second, entry, "That is not what happened.")
    version = services.pending_version(entry)
    assert version.publication == "draft" and version.sent_back_note.startswith("That is not")
    services.discard_version(lead, entry)
    assert services.pending_version(entry) is None
    assert entry.done != "Something wrong." and entry.is_published


def test_two_versions_cannot_be_prepared_at_once(db, lead):
    from sqlalchemy.exc import IntegrityError

    entry = publish(make_entry(lead))
    services.update_entry(lead, entry, **_fields(entry, done="One."))
    db.session.commit()
    db.session.add(ChangeVersion(entry_id=entry.id, number=3, said="x", done="Two.",
                                 organisation="x"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- withdrawal ---------------------------------------------------------------------------------


def test_withdrawing_keeps_a_public_reason_and_the_history(db, lead, client):
    entry = publish(make_entry(lead, said="Evening opening"))
    kept = publish(make_entry(lead, said="Parking signs"))
    services.update_entry(lead, entry, **_fields(entry, done="A pending edit."))
    with pytest.raises(ValidationFailed):
        services.withdraw_entry(lead, entry, "  ")
    with pytest.raises(NotAllowed):
        services.withdraw_entry(make_staff(Role.FACILITATOR), entry, "No")
    with frozen(datetime(2026, 6, 1, 9, 0, tzinfo=UTC)):
        services.withdraw_entry(lead, entry, "It repeated another entry.")
    db.session.commit()
    assert db.session.get(ChangeEntry, entry.id).is_withdrawn  # kept, not deleted
    assert services.pending_version(entry) is None
    response = client.get(f"/you-said-we-did/{entry.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "withdrawn from public view on 1 June 2026" in page
    assert "It repeated another entry." in page and "Published on" in page
    assert "Evening opening" not in page  # its words are no longer shown
    log = client.get("/you-said-we-did").get_data(as_text=True)
    assert "Parking signs" in log and "Evening opening" not in log
    with pytest.raises(InvalidState):
        services.update_entry(lead, entry, **_fields(entry))
    with pytest.raises(InvalidState):
        services.delete_draft(lead, entry)
    assert kept.is_published


def test_feeds_stay_true_through_versions_and_withdrawals(db, lead, client):
    first = publish(make_entry(lead, said="Evening opening"))
    second = publish(make_entry(lead, said="Parking signs"))
    publish_new_version(second, lead, done="New signs are up.", status=ChangeStatus.DONE)
    services.withdraw_entry(lead, first, "It repeated another entry.")
    db.session.commit()

    body = client.get("/you-said-we-did.json").get_json()
    assert [e["id"] for e in body["entries"]] == [second.id]
    record = body["entries"][0]
    assert record["version"] == 2 and record["we_did"] == "New signs are up."
    assert record["updated"] != record["published"]
    assert [w["id"] for w in body["withdrawn"]] == [first.id]
    assert body["withdrawn"][0]["reason"] == "It repeated another entry."

    rows = list(csv.DictReader(io.StringIO(client.get("/you-said-we-did.csv").get_data()
                                           .decode("utf-8-sig"))))
    assert [(int(r["id"]), r["version"]) for r in rows] == [(second.id, "2")]

    atom = client.get("/you-said-we-did.atom").get_data()
    feed = feedparser.parse(atom)
    assert [e.title for e in feed.entries] == ["Parking signs"]
    assert b"deleted-entry" in atom and b"It repeated another entry." in atom
    assert f"/you-said-we-did/{first.id}".encode() in atom


# --- deleting drafts ---------------------------------------------------------------------------


def test_drafts_can_be_deleted_and_their_feedback_goes_back_to_read(db, lead):
    entry = make_entry(lead)
    item = make_feedback()
    services.link_feedback(lead, entry, item.id)
    services.submit_for_approval(lead, entry)
    entry_id = entry.id
    services.delete_draft(lead, entry)
    db.session.expire_all()
    assert db.session.get(ChangeEntry, entry_id) is None
    assert item.status == FeedbackStatus.ACKNOWLEDGED
    assert "change.deleted" in db.session.scalars(select(AuditEvent.action)).all()
    published = publish(make_entry(lead))
    with pytest.raises(InvalidState, match="withdraw"):
        services.delete_draft(lead, published)


def test_deleting_a_draft_through_its_page_asks_first_and_confirms(app, db, lead):
    entry = make_entry(lead, said="A draft to delete")
    db.session.commit()
    visitor = FormClient(app.test_client())
    sign_in(visitor, lead)
    url = f"/staff/changes/{entry.id}/delete"
    assert "Delete this draft?" in visitor.get(url).get_data(as_text=True)
    done = visitor.post(url, {}, follow_redirects=True).get_data(as_text=True)
    assert "The draft \u201cA draft to delete\u201d is deleted." in done
    assert visitor.get(f"/staff/changes/{entry.id}").status_code == 404


# --- linking feedback by searching the triage list -------------------------------------------


def test_feedback_is_found_by_its_words_day_and_theme_and_shown_as_a_snippet(app, db, lead):
    from engage.feedback import services as feedback_services

    facilitator = make_staff(Role.FACILITATOR)
    parking = make_feedback(body="The parking at the clinic is impossible to find at night.",
                            received_on=datetime(2026, 3, 3).date())
    waiting = make_feedback(body="Waiting room chairs are uncomfortable.",
                            received_on=datetime(2026, 4, 4).date())
    named = give("Parking again, and I am happy to be named.", actor=make_member(
        display_name="Visible Name"), attach_name=True).item
    feedback_services.set_themes(facilitator, waiting, ["Comfort"])
    entry = make_entry(lead)
    db.session.commit()
    visitor = FormClient(app.test_client())
    sign_in(visitor, lead)
    url = f"/staff/changes/{entry.id}"

    found = visitor.get(f"{url}?words=PARKING+night").get_data(as_text=True)
    assert "The parking at the clinic is impossible to find at night." in found
    assert "Waiting room" not in found and "Parking again" not in found
    assert "Visible Name" not in found  # no new link from feedback to a person
    by_day = visitor.get(f"{url}?received_from=2026-04-01&received_to=2026-04-30").get_data(
        as_text=True)
    assert "Waiting room chairs" in by_day and "impossible to find" not in by_day
    theme = feedback_services.all_themes()[0]
    by_theme = visitor.get(f"{url}?theme={theme.id}").get_data(as_text=True)
    assert "Waiting room chairs" in by_theme and "impossible to find" not in by_theme

    linked = visitor.post(f"{url}/links", {"feedback_id": parking.id}, form_url=url,
                          follow_redirects=True).get_data(as_text=True)
    assert "Feedback linked to this entry." in linked
    again = visitor.get(f"{url}?words=parking").get_data(as_text=True)
    choices = again[again.index('id="link-feedback"'):]
    assert "impossible to find" not in choices  # linked already: not offered again
    assert named.id  # still there, still not offered with a name


def test_the_triage_queue_shows_a_short_snippet_of_each_item(app, db):
    facilitator = make_staff(Role.FACILITATOR)
    make_feedback(body="Short and clear.")
    make_feedback(body="word " * 80)
    db.session.commit()
    visitor = FormClient(app.test_client())
    sign_in(visitor, facilitator)
    page = visitor.get("/staff/feedback").get_data(as_text=True)
    assert "<td>Short and clear.</td>" in page
    assert "word word" in page and "word " * 80 not in page and "\u2026" in page
