"""Core tables: audit log, daily counts of anonymous actions, sealed envelopes, in-app
notifications, email outbox, worker leases."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import DDL, JSON, BigInteger, Date, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from engage.core import clock
from engage.db import Base, EncryptedText, RandomIdType, UTCDateTime, random_row_id


class AuditEvent(Base):
    """Append-only: the database refuses updates and deletes (triggers below)."""

    __tablename__ = "audit_events"
    # The programme dashboard counts some actions (joining and leaving panels) by month.
    __table_args__ = (Index("ix_audit_events_action_time", "action", "occurred_at",
                            "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    actor_id: Mapped[int | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


AUDIT_GUARD_POSTGRES = [
    DDL(
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql"
    ),
    DDL(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    ),
]
AUDIT_GUARD_SQLITE = [
    DDL(
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    ),
    DDL(
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    ),
]
for _ddl in AUDIT_GUARD_SQLITE:
    event.listen(AuditEvent.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))
for _ddl in AUDIT_GUARD_POSTGRES:
    event.listen(AuditEvent.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))


class AnonymousActivityCount(Base):
    """How many anonymous actions of a kind happened on a day: the only record of them.

    An audit row with its time beside named sign-ins would say who did it; a daily count says
    only how much happened.
    """

    __tablename__ = "anonymous_activity_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    action: Mapped[str] = mapped_column(String(80), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class SealedEnvelope(Base):
    """Anonymous content on its way to its table (engage/core/inbox.py).

    A request that must not write an anonymous row next to a named one (an anonymous answer
    beside its participation receipt) seals the content here instead; the worker opens
    envelopes in shuffled batches and writes the anonymous rows, so their ids, physical order
    and transaction say nothing about when each arrived. Everything but the kind and scope is
    encrypted; there is no time.
    """

    __tablename__ = "sealed_envelopes"
    __table_args__ = (Index("ix_sealed_envelopes_kind_scope", "kind", "scope"),)

    id: Mapped[int] = mapped_column(RandomIdType, primary_key=True, autoincrement=False,
                                    default=random_row_id)
    kind: Mapped[str] = mapped_column(String(40))
    # What the envelope belongs to (a consultation's id), so the worker can count batches
    # without opening anything.
    scope: Mapped[str] = mapped_column(String(40), default="")
    # A keyed hash that finds the envelope again (a double-sent page), or None.
    lookup: Mapped[str | None] = mapped_column(String(64), unique=True)
    payload: Mapped[str] = mapped_column(EncryptedText)


class Notification(Base):
    """In-app notifications: always available, whatever email channels a person allows."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    """An email waiting to leave. Written in the same transaction as the change that caused it;
    the worker sends it later and marks it sent, so a rollback never sends a stray email."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(EncryptedText)
    sender_name: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(EncryptedText)
    status: Mapped[OutboxStatus] = mapped_column(String(12), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))


class WorkerLease(Base):
    """The leader lock: only the worker holding an unexpired lease runs jobs."""

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PageVersion(Base):
    """A version number per group of public pages (engage/core/page_cache.py). Any process on
    any node that changes what those pages show adds one, in the same transaction as the
    change; every process compares it with the version its cached copy was made at."""

    __tablename__ = "page_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
