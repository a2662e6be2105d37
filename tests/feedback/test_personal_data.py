"""Named feedback is in a member's data export and goes when their account closes; anonymous
feedback is never tied to them."""

from __future__ import annotations

from sqlalchemy import func, select

from engage.changes.models import ChangeEntry, ChangeLink
from engage.core.permissions import Role
from engage.core.personal_data import declared, erase_all, export_all
from engage.feedback import services
from engage.feedback.models import FeedbackGiver, FeedbackItem
from tests.factories import make_member, make_staff
from tests.factories_feedback import give, make_entry, publish


def test_named_feedback_is_exported_and_erased_with_the_account(db):
    member = make_member()
    named = give("Named words", actor=member, attach_name=True)
    anonymous = give("Anonymous words", actor=member)
    services.reply_to_feedback(make_staff(Role.FACILITATOR), named.item, "A reply")
    entry = publish(make_entry())
    from engage.accounts.models import User
    from engage.changes import services as change_services

    change_services.link_feedback(db.session.get(User, entry.created_by_id), entry,
                                  named.item.id)
    exported = export_all(member)["feedback_givers"]
    assert [e["feedback"] for e in exported] == ["Named words"]
    assert exported[0]["replies"][0]["reply"] == "A reply"

    erase_all(member)
    db.session.flush()
    remaining = db.session.scalars(select(FeedbackItem.body)).all()
    assert remaining == ["Anonymous words"]
    assert db.session.scalar(select(func.count()).select_from(FeedbackGiver)) == 0
    assert db.session.scalar(select(func.count()).select_from(ChangeLink)) == 0
    assert db.session.get(ChangeEntry, entry.id) is not None
    assert anonymous.item.id in [i.id for i in db.session.scalars(select(FeedbackItem))]


def test_staff_who_wrote_or_approved_entries_are_unlinked_on_closure(db):
    writer, approver = make_staff(Role.PROGRAMME_LEAD), make_staff(Role.PROGRAMME_LEAD)
    entry = publish(make_entry(writer), approver)
    assert export_all(approver)["change_entries"] == [
        {"entry": entry.id, "wrote": False, "submitted": False, "approved": True,
         "sent_back": False, "withdrew": False}]
    assert export_all(approver)["change_entry_versions"] == [
        {"entry": entry.id, "version": 1, "wrote": False, "submitted": False, "approved": True,
         "sent_back": False}]
    erase_all(approver)
    db.session.flush()
    db.session.refresh(entry)
    assert entry.approved_by_id is None and entry.is_published
    assert entry.versions[0].approved_by_id is None


def test_every_table_here_that_refers_to_a_person_is_registered(app):
    from engage.extensions import db as _db

    for table in _db.metadata.sorted_tables:
        if not table.name.startswith(("feedback_", "change_")):
            continue
        refers = any(fk.column.table.name == "users" for fk in table.foreign_keys)
        assert not refers or table.name in declared(), table.name
