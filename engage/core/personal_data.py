"""One declaration of every kind of personal data Engage holds.

Each domain declares, in its init_app (`wiring.add_personal_data(app, *KINDS)`), the tables
that hold a person's data: how to export them, what happens on account closure (erase, or keep
without the link to the person), why the data is held, who can see it, and the retention rule
that removes it over time. The own-data export, account closure, the "data we hold" page and
the daily retention job are all generated from these declarations, and a test fails when a
table that refers to a person is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from engage.core.clock import iso
from engage.core.models import AuditEvent, Notification, OutboxMessage
from engage.core.wiring import registries
from engage.extensions import db

Exporter = Callable[[Any], list[dict[str, Any]]]
Eraser = Callable[[Any], None]


@dataclass(frozen=True)
class RetentionRule:
    """How long a kind of data is kept: engage.lifecycle applies every rule once a day, with
    the period an admin chose (or `default_months`)."""

    key: str
    label: str
    default_months: int
    counted_from: str  # plain English: "after the application was answered or withdrawn"
    apply: Callable[[datetime, int], int]  # (now, months) -> how many records it removed


@dataclass(frozen=True)
class PersonalDataKind:
    table: str
    label: str
    why: str
    who_can_see: str
    kept_for: str
    export: Exporter
    erase: Eraser
    # Optional: keep the person's contributions of this kind without any link to them (the
    # member's choice when closing their account); `anonymise_note` says what that means.
    anonymise: Eraser | None = None
    anonymise_note: str = ""
    # Optional: the retention rule that removes this kind of data over time.
    retention: RetentionRule | None = None
    # What closing the account does to it, when that is not simply deleting it.
    on_close: str = "Deleted."


def declared() -> dict[str, PersonalDataKind]:
    """Every kind the domains declared, by table."""
    return dict(registries().personal_data.items())


def export_all(user: Any) -> dict[str, list[dict[str, Any]]]:
    return {table: kind.export(user) for table, kind in sorted(declared().items())}


def erase_all(user: Any) -> None:
    close_all(user, keep_contributions=False)


def close_all(user: Any, *, keep_contributions: bool) -> None:
    """Account closure: everything erased, except that contributions of kinds that can be kept
    without a link to the person are anonymised instead when the person chose to keep them."""
    # Erase dependants before the person's own row.
    for _table, kind in sorted(declared().items(), key=lambda item: item[0] == "users"):
        if keep_contributions and kind.anonymise is not None:
            kind.anonymise(user)
        else:
            kind.erase(user)


def closure_preview(user: Any) -> list[tuple[PersonalDataKind, int]]:
    """Each kind of data the person has, with how many records: what closing would touch."""
    preview = []
    for _table, kind in sorted(declared().items(), key=lambda item: item[1].label):
        count = len(kind.export(user))
        if count:
            preview.append((kind, count))
    return preview


# --- core's own tables: messages to people, and the audit log ----------------------------------


def _notifications(user: Any) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Notification).where(Notification.user_id == user.id))
    return [{"title": n.title, "body": n.body, "link": n.link, "created_at": iso(n.created_at),
             "read_at": iso(n.read_at)} for n in rows]


def _outbox(user: Any) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id))
    return [{"subject": m.subject, "status": m.status, "created_at": iso(m.created_at),
             "sent_at": iso(m.sent_at)} for m in rows]


def _audit(user: Any) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(AuditEvent).where(
            (AuditEvent.actor_id == user.id)
            | ((AuditEvent.subject_type == "user") & (AuditEvent.subject_id == user.id))
        ).order_by(AuditEvent.id)
    )
    return [{"action": a.action, "occurred_at": iso(a.occurred_at)} for a in rows]


def _erase_outbox(user: Any) -> None:
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user.id))


def _erase_notifications(user: Any) -> None:
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))


def _keep_audit(user: Any) -> None:
    """The audit log is append-only and holds only ids and actions, no personal details; once
    the account row is gone its id points at no one."""


KINDS = [
    PersonalDataKind("notifications", "Messages to you", "To tell you what happened.",
                     "You.", "Until you close your account.", _notifications,
                     _erase_notifications),
    PersonalDataKind("outbox_messages", "Emails we send you", "To reach you on a channel you "
                     "chose as safe.", "You; the email system while sending.",
                     "Until you close your account.", _outbox, _erase_outbox),
    PersonalDataKind("audit_events", "Security record", "To keep accounts and decisions safe "
                     "and accountable.", "Admins.", "Kept as a record of actions (no personal "
                     "details, only account numbers).", _audit, _keep_audit,
                     on_close="Kept, with only an account number that no longer leads to "
                     "anyone."),
]
