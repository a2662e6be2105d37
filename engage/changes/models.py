"""'You said, we did' entries, their public history, and their links to what people said.

Links are one table with a `kind`. Today the only kind is feedback (LinkKind.FEEDBACK, with a
real foreign key to feedback_items). Consultations are being built separately; see links.py
for the documented extension point (LinkKind, the one-target check constraint and the columns
to add when consultations and consultation answers exist).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from engage.core import clock
from engage.db import Base, UTCDateTime
from engage.feedback.models import FeedbackItem, FeedbackTheme


class ChangeStatus(enum.StrEnum):
    CONSIDERING = "considering"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    NOT_POSSIBLE = "not_possible"

    @property
    def label(self) -> str:
        return CHANGE_STATUS_LABELS[self]


CHANGE_STATUS_LABELS = {
    ChangeStatus.CONSIDERING: "Considering",
    ChangeStatus.PLANNED: "Planned",
    ChangeStatus.IN_PROGRESS: "In progress",
    ChangeStatus.DONE: "Done",
    ChangeStatus.NOT_POSSIBLE: "Not possible",
}


class Publication(enum.StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return {"draft": "Draft", "awaiting_approval": "Waiting for a second person to approve",
                "published": "Published"}[self.value]


class LinkKind(enum.StrEnum):
    """What a 'you said, we did' entry can point at. Extension point: see links.py."""

    FEEDBACK = "feedback"


class ChangeEntry(Base):
    __tablename__ = "change_entries"
    __table_args__ = (
        Index("ix_change_entries_public", "publication", "published_at", "id"),
        Index("ix_change_entries_status", "publication", "status", "published_at", "id"),
        CheckConstraint(
            "status IN ('considering', 'planned', 'in_progress', 'done', 'not_possible')",
            name="status_known"),
        CheckConstraint("publication IN ('draft', 'awaiting_approval', 'published')",
                        name="publication_known"),
        # The second-person rule, in the database: nobody approves what they submitted.
        CheckConstraint("approved_by_id IS NULL OR submitted_by_id IS NULL "
                        "OR approved_by_id <> submitted_by_id", name="second_person"),
        CheckConstraint("status <> 'not_possible' OR not_possible_reason IS NOT NULL",
                        name="reason_when_not_possible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    said: Mapped[str] = mapped_column(Text)
    done: Mapped[str] = mapped_column(Text)
    organisation: Mapped[str] = mapped_column(String(120), index=True)
    theme_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_themes.id", ondelete="SET NULL"), index=True)
    status: Mapped[ChangeStatus] = mapped_column(String(16), default=ChangeStatus.CONSIDERING)
    not_possible_reason: Mapped[str | None] = mapped_column(Text)
    target_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    publication: Mapped[Publication] = mapped_column(String(20), default=Publication.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    theme: Mapped[FeedbackTheme | None] = relationship(lazy="joined")
    events: Mapped[list[ChangeEntryEvent]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="ChangeEntryEvent.id")
    links: Mapped[list[ChangeLink]] = relationship(
        back_populates="entry", cascade="all, delete-orphan")

    @property
    def status_label(self) -> str:
        return ChangeStatus(self.status).label

    @property
    def publication_label(self) -> str:
        return Publication(self.publication).label

    @property
    def is_published(self) -> bool:
        return self.publication == Publication.PUBLISHED

    @property
    def title(self) -> str:
        """The summary, cut at a word if it is long, for headings, lists and feeds."""
        summary = " ".join(self.said.split())
        if len(summary) <= 100:
            return summary
        return summary[:100].rsplit(" ", 1)[0].rstrip(",;:.") + "\u2026"


class ChangeEntryEvent(Base):
    """The public history of a published entry: published, status changed, updated.
    Who did it is in the audit log."""

    __tablename__ = "change_entry_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("change_entries.id", ondelete="CASCADE"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(300))

    entry: Mapped[ChangeEntry] = relationship(back_populates="events")

    @property
    def status_label(self) -> str | None:
        return ChangeStatus(self.status).label if self.status else None


class ChangeLink(Base):
    __tablename__ = "change_entry_links"
    __table_args__ = (
        UniqueConstraint("entry_id", "feedback_id", name="uq_change_entry_links_feedback"),
        CheckConstraint("kind IN ('feedback')", name="kind_known"),
        CheckConstraint("(kind = 'feedback') = (feedback_id IS NOT NULL)",
                        name="one_target"),
        Index("ix_change_entry_links_entry_kind", "entry_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("change_entries.id", ondelete="CASCADE"))
    kind: Mapped[LinkKind] = mapped_column(String(30), default=LinkKind.FEEDBACK)
    feedback_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("feedback_items.id", ondelete="CASCADE"), index=True)

    entry: Mapped[ChangeEntry] = relationship(back_populates="links")
    # Declared here, not in feedback (which must not know about changes): deleting a feedback
    # item through the ORM deletes its links too, whether or not the database enforces the FK.
    feedback: Mapped[FeedbackItem | None] = relationship(
        backref=backref("change_links", cascade="all, delete-orphan"))
