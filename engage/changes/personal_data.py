"""Staff who write, submit and approve 'you said, we did' entries are recorded on the entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update

from engage.changes.models import ChangeEntry, ChangeVersion
from engage.core.personal_data import PersonalDataKind
from engage.extensions import db

_ROLES = ("created_by_id", "submitted_by_id", "approved_by_id", "sent_back_by_id",
          "withdrawn_by_id")
_VERSION_ROLES = ("created_by_id", "submitted_by_id", "approved_by_id", "sent_back_by_id")


def _entries(user: Any) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(ChangeEntry).where(or_(
        *(getattr(ChangeEntry, column) == user.id for column in _ROLES))))
    return [{"entry": e.id, "wrote": e.created_by_id == user.id,
             "submitted": e.submitted_by_id == user.id,
             "approved": e.approved_by_id == user.id,
             "sent_back": e.sent_back_by_id == user.id,
             "withdrew": e.withdrawn_by_id == user.id} for e in rows]


def _versions(user: Any) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(ChangeVersion).where(or_(
        *(getattr(ChangeVersion, column) == user.id for column in _VERSION_ROLES))))
    return [{"entry": v.entry_id, "version": v.number, "wrote": v.created_by_id == user.id,
             "submitted": v.submitted_by_id == user.id,
             "approved": v.approved_by_id == user.id,
             "sent_back": v.sent_back_by_id == user.id} for v in rows]


def _erase_versions(user: Any) -> None:
    for column in _VERSION_ROLES:
        db.session.execute(update(ChangeVersion).where(getattr(ChangeVersion, column) == user.id)
                           .values({column: None}))


def _erase(user: Any) -> None:
    """The entries are public records of what an organisation did; only the person's link to
    them goes (the audit log keeps the bare account number)."""
    for column in _ROLES:
        db.session.execute(update(ChangeEntry).where(getattr(ChangeEntry, column) == user.id)
                           .values({column: None}))


KINDS = [
    PersonalDataKind(
        "change_entries", "'You said, we did' entries you wrote or approved",
        "To show that a second person approved each published change.",
        "Staff who manage 'you said, we did' entries.",
        "Until you close your account.", _entries, _erase,
        on_close="The entries stay, without your name."),
    PersonalDataKind(
        "change_entry_versions", "New versions of published 'you said, we did' entries you "
        "wrote or approved",
        "To show that a second person approved each change to a published entry.",
        "Staff who manage 'you said, we did' entries.",
        "Until you close your account.", _versions, _erase_versions,
        on_close="The versions stay, without your name."),
]
