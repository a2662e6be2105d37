"""'You said, we did' entries, their public history, and their links to what people said.

Links are one table with a `kind`: feedback, a whole consultation, or one consultation answer
(named or anonymous). See links.py.
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
    text,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from engage.consultations.models import AnonymousAnswer, Answer, Consultation
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
    """Where an entry is: a draft, waiting for a second person, public, or withdrawn from
    public view (kept, with its public reason, never deleted)."""

    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {"draft": "Draft", "awaiting_approval": "Waiting for a second person to approve",
                "published": "Published",
                "withdrawn": "Withdrawn from public view"}[self.value]


class VersionState(enum.StrEnum):
    """A version of a published entry. Editing a published entry starts a new version (draft);
    a second person approves it (awaiting_approval) before it replaces the public one
    (published), which becomes an earlier version (superseded) still shown in the history."""

    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"

    @property
    def label(self) -> str:
        return {"draft": "Draft of a new version",
                "awaiting_approval": "New version waiting for a second person to approve",
                "published": "Public version", "superseded": "Earlier version"}[self.value]


PENDING_VERSION_STATES = (VersionState.DRAFT, VersionState.AWAITING_APPROVAL)


class LinkKind(enum.StrEnum):
    """What a 'you said, we did' entry can point at. Extension point: see links.py."""

    FEEDBACK = "feedback"
    CONSULTATION = "consultation"
    CONSULTATION_ANSWER = "consultation_answer"


ONE_TARGET = (
    "(kind = 'feedback' AND feedback_id IS NOT NULL AND consultation_id IS NULL"
    " AND answer_id IS NULL AND anonymous_answer_id IS NULL)"
    " OR (kind = 'consultation' AND consultation_id IS NOT NULL AND feedback_id IS NULL"
    " AND answer_id IS NULL AND anonymous_answer_id IS NULL)"
    " OR (kind = 'consultation_answer' AND feedback_id IS NULL AND consultation_id IS NULL"
    " AND ((answer_id IS NOT NULL AND anonymous_answer_id IS NULL)"
    " OR (answer_id IS NULL AND anonymous_answer_id IS NOT NULL)))"
)


class ChangeEntry(Base):
    __tablename__ = "change_entries"
    __table_args__ = (
        Index("ix_change_entries_public", "publication", "published_at", "id"),
        Index("ix_change_entries_status", "publication", "status", "published_at", "id"),
        CheckConstraint(
            "status IN ('considering', 'planned', 'in_progress', 'done', 'not_possible')",
            name="status_known"),
        CheckConstraint(
            "publication IN ('draft', 'awaiting_approval', 'published', 'withdrawn')",
            name="publication_known"),
        CheckConstraint("publication <> 'withdrawn' OR withdrawn_reason IS NOT NULL",
                        name="reason_when_withdrawn"),
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
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which version the public sees (1 when first published); None until then.
    public_version: Mapped[int | None]
    # The second person sent it back instead of approving it: their comment, for the writer.
    sent_back_note: Mapped[str | None] = mapped_column(Text)
    sent_back_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    sent_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Withdrawn from public view: when, by whom, and the reason the public sees.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    theme: Mapped[FeedbackTheme | None] = relationship(lazy="joined")
    events: Mapped[list[ChangeEntryEvent]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="ChangeEntryEvent.id")
    links: Mapped[list[ChangeLink]] = relationship(
        back_populates="entry", cascade="all, delete-orphan")
    versions: Mapped[list[ChangeVersion]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="ChangeVersion.number")

    @property
    def status_label(self) -> str:
        return ChangeStatus(self.status).label

    @property
    def publication_label(self) -> str:
        return Publication(self.publication).label

    @property
    def is_draft(self) -> bool:
        return self.publication == Publication.DRAFT

    @property
    def is_awaiting_approval(self) -> bool:
        return self.publication == Publication.AWAITING_APPROVAL

    @property
    def is_published(self) -> bool:
        return self.publication == Publication.PUBLISHED

    @property
    def is_withdrawn(self) -> bool:
        return self.publication == Publication.WITHDRAWN

    @property
    def was_published(self) -> bool:
        """Published now, or once (withdrawn): its words have been public."""
        return self.publication in (Publication.PUBLISHED, Publication.WITHDRAWN)

    @property
    def title(self) -> str:
        """The summary, cut at a word if it is long, for headings, lists and feeds."""
        summary = " ".join(self.said.split())
        if len(summary) <= 100:
            return summary
        return summary[:100].rsplit(" ", 1)[0].rstrip(",;:.") + "\u2026"


class ChangeVersion(Base):
    """One version of a published entry's words and status.

    Version 1 is what was first published. Editing a published entry writes a new version (a
    draft, then waiting for approval); when a second person approves it, its values replace the
    entry's public ones and the version it replaces is kept as an earlier version. At most one
    version of an entry is in preparation at a time (the partial unique index)."""

    __tablename__ = "change_entry_versions"
    __table_args__ = (
        UniqueConstraint("entry_id", "number", name="uq_change_entry_versions_number"),
        Index("uq_change_entry_versions_one_pending", "entry_id", unique=True,
              sqlite_where=text("publication IN ('draft', 'awaiting_approval')"),
              postgresql_where=text("publication IN ('draft', 'awaiting_approval')")),
        CheckConstraint(
            "status IN ('considering', 'planned', 'in_progress', 'done', 'not_possible')",
            name="status_known"),
        CheckConstraint(
            "publication IN ('draft', 'awaiting_approval', 'published', 'superseded')",
            name="publication_known"),
        CheckConstraint("approved_by_id IS NULL OR submitted_by_id IS NULL "
                        "OR approved_by_id <> submitted_by_id", name="second_person"),
        CheckConstraint("status <> 'not_possible' OR not_possible_reason IS NOT NULL",
                        name="reason_when_not_possible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("change_entries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    publication: Mapped[VersionState] = mapped_column(String(20), default=VersionState.DRAFT)
    said: Mapped[str] = mapped_column(Text)
    done: Mapped[str] = mapped_column(Text)
    organisation: Mapped[str] = mapped_column(String(120))
    theme_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_themes.id", ondelete="SET NULL"), index=True)
    status: Mapped[ChangeStatus] = mapped_column(String(16), default=ChangeStatus.CONSIDERING)
    not_possible_reason: Mapped[str | None] = mapped_column(Text)
    target_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    sent_back_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    sent_back_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    entry: Mapped[ChangeEntry] = relationship(back_populates="versions")
    theme: Mapped[FeedbackTheme | None] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return ChangeStatus(self.status).label

    @property
    def publication_label(self) -> str:
        return VersionState(self.publication).label

    @property
    def is_pending(self) -> bool:
        return self.publication in PENDING_VERSION_STATES

    @property
    def is_draft(self) -> bool:
        return self.publication == VersionState.DRAFT

    @property
    def is_awaiting_approval(self) -> bool:
        return self.publication == VersionState.AWAITING_APPROVAL


class EntryEventKind(enum.StrEnum):
    PUBLISHED = "published"
    STATUS = "status"  # the status changed
    EDITED = "edited"  # a new version was published
    WITHDRAWN = "withdrawn"  # taken out of public view; the note is the public reason


class ChangeEntryEvent(Base):
    """The public history of a published entry: published, status changed, a new version
    published ("edited"), withdrawn (with the public reason as its note). Who did it is in
    the audit log."""

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
    """One link from an entry to what people said. Exactly the target column of its kind is
    set: feedback_id (feedback), consultation_id (a whole consultation), or answer_id (a named
    consultation answer) or anonymous_answer_id (an anonymous one) for consultation_answer."""

    __tablename__ = "change_entry_links"
    __table_args__ = (
        UniqueConstraint("entry_id", "feedback_id", name="uq_change_entry_links_feedback"),
        UniqueConstraint("entry_id", "consultation_id",
                         name="uq_change_entry_links_consultation"),
        UniqueConstraint("entry_id", "answer_id", name="uq_change_entry_links_answer"),
        UniqueConstraint("entry_id", "anonymous_answer_id",
                         name="uq_change_entry_links_anonymous_answer"),
        CheckConstraint("kind IN ('feedback', 'consultation', 'consultation_answer')",
                        name="kind_known"),
        CheckConstraint(ONE_TARGET, name="one_target"),
        Index("ix_change_entry_links_entry_kind", "entry_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("change_entries.id", ondelete="CASCADE"))
    kind: Mapped[LinkKind] = mapped_column(String(30), default=LinkKind.FEEDBACK)
    feedback_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("feedback_items.id", ondelete="CASCADE"), index=True)
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    answer_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("response_answers.id", ondelete="CASCADE"), index=True)
    # Deliberately NOT a database foreign key: the consultations domain keeps the rule that
    # no table points at anonymous answers (tests/consultations, the anonymity schema test).
    # The ORM relationship below still deletes the link with the answer, and every count and
    # list joins to anonymous_answers, so a link to a vanished answer is never counted.
    anonymous_answer_id: Mapped[str | None] = mapped_column(String(32), index=True)

    entry: Mapped[ChangeEntry] = relationship(back_populates="links")
    # Declared here, not in feedback or consultations (which must not know about changes):
    # deleting the target through the ORM deletes its links too, whether or not the database
    # enforces the FK.
    feedback: Mapped[FeedbackItem | None] = relationship(
        backref=backref("change_links", cascade="all, delete-orphan"))
    consultation: Mapped[Consultation | None] = relationship(
        backref=backref("change_links", cascade="all, delete-orphan"))
    answer: Mapped[Answer | None] = relationship(
        backref=backref("change_links", cascade="all, delete-orphan"))
    anonymous_answer: Mapped[AnonymousAnswer | None] = relationship(
        primaryjoin="foreign(ChangeLink.anonymous_answer_id) == AnonymousAnswer.id",
        backref=backref("change_links", cascade="all, delete-orphan"))


class PublicOrganisation(Base):
    """The public log's organisation filter: one row per organisation with published entries.
    Rebuilt whenever entries change (public_cache.py), so the log never reads every entry to
    list them."""

    __tablename__ = "change_public_organisations"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    entries: Mapped[int]


class PublicTheme(Base):
    """The public log's theme filter: one row per theme with published entries."""

    __tablename__ = "change_public_themes"

    theme_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_themes.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    entries: Mapped[int]
