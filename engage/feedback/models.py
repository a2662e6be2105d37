"""Feedback items, staff replies, themes, and the separate record of who gave named feedback.

Anonymous means anonymous: `feedback_items`, `feedback_replies`, `feedback_themes` and
`feedback_item_themes` have no user id, address, user agent, referrer or time finer than the
day (tests/feedback/test_anonymity.py checks the schema). Staff actions on an item are written
to the audit log, not onto the item. A member who chooses to attach their name is recorded
in `feedback_givers`. A member who adds anonymous feedback to their "your impact" page by
typing its code is recorded in `impact_feedback_links`. Those two are the only tables here that
point at a person, and each is written only by that person's own choice.

Feedback ids are random numbers below 2**31, not a counter: a counter would let anyone who can
see ids put same-day submissions in order, which is a clock finer than the day. They stay below
2**31 so they fit every integer column that refers to them (the audit log's subject_id); the
columns themselves are BIGINT (INTEGER PRIMARY KEY on SQLite, so the table's rowid is the random
id and rows are stored in its order, not in the order they arrived). give_feedback retries the
rare clash.

The order of arrival is hidden from someone holding the database too: the worker writes the
day's items again every few minutes, in id order, so they share one transaction id and their
physical order is that of the random ids (services.mix_recent_feedback); once a day is over its
items are written once more and marked settled.
"""

from __future__ import annotations

import enum
import secrets
from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.core.anonymity import register_anonymous_tables
from engage.core.entry_method import ENTRY_METHOD_CHECK, EntryMethod  # shared with consultations
from engage.db import Base, EncryptedText


class FeedbackStatus(enum.StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    LINKED = "linked"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    FeedbackStatus.NEW: "Received, not read yet",
    FeedbackStatus.ACKNOWLEDGED: "Read by our team",
    FeedbackStatus.LINKED: "Linked to a change",
    FeedbackStatus.CLOSED: "Closed",
}

MAX_FEEDBACK_LENGTH = 5000


MAX_FEEDBACK_ID = 2**31 - 1


def random_feedback_id() -> int:
    return secrets.randbelow(MAX_FEEDBACK_ID) + 1


class FeedbackItem(Base):
    __tablename__ = "feedback_items"
    __table_args__ = (
        Index("ix_feedback_items_queue", "status", "received_on", "id"),
        Index("ix_feedback_items_received", "received_on", "id"),
        CheckConstraint(
            "status IN ('new', 'acknowledged', 'linked', 'closed')", name="status_known"
        ),
        CheckConstraint(
            ENTRY_METHOD_CHECK, name="entry_method_known",
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False,
        default=random_feedback_id,
    )
    received_on: Mapped[date] = mapped_column(Date)
    # True once the worker has written the item again after its day ended (see above).
    settled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    body: Mapped[str] = mapped_column(EncryptedText)
    topic: Mapped[str | None] = mapped_column(String(40), index=True)
    may_quote: Mapped[bool] = mapped_column(Boolean, default=False)
    # The scrypt-derived feedback code (see codes.py). Null for demo rows that have no code.
    code_lookup: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[FeedbackStatus] = mapped_column(String(16), default=FeedbackStatus.NEW)
    status_changed_on: Mapped[date | None] = mapped_column(Date)
    closed_reason: Mapped[str | None] = mapped_column(Text)
    # Staff-redacted wording that may be quoted publicly (only when may_quote is true).
    quote: Mapped[str | None] = mapped_column(Text)
    safeguarding_flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    safeguarding_flagged_on: Mapped[date | None] = mapped_column(Date)
    first_reply_on: Mapped[date | None] = mapped_column(Date)
    # Set only when staff entered the feedback on the person's behalf, with their agreement
    # (see services.give_feedback_on_behalf): how it was taken, nothing about who took it.
    entry_method: Mapped[EntryMethod | None] = mapped_column(String(16))

    # ORM cascades as well as ON DELETE CASCADE: SQLite does not enforce foreign keys unless
    # asked, and withdrawn feedback must leave nothing behind on either database.
    replies: Mapped[list[FeedbackReply]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="FeedbackReply.id",
    )
    giver: Mapped[FeedbackGiver | None] = relationship(
        back_populates="item", cascade="all, delete-orphan", uselist=False,
    )
    themes: Mapped[list[FeedbackTheme]] = relationship(
        secondary="feedback_item_themes", order_by="FeedbackTheme.name"
    )

    @property
    def status_label(self) -> str:
        return FeedbackStatus(self.status).label

    @property
    def entered_by_staff_label(self) -> str | None:
        """'by phone', 'on paper'...: for staff pages; None when the person sent it themselves."""
        return str(EntryMethod(self.entry_method).label) if self.entry_method else None

    @property
    def public_quote(self) -> str | None:
        return self.quote if self.may_quote and self.quote else None

    @property
    def snippet(self) -> str:
        """The start of what was said, for lists staff read (never for public pages)."""
        return snippet_of(self.body)


SNIPPET_LENGTH = 140


def snippet_of(text: str | None, length: int = SNIPPET_LENGTH) -> str:
    words = " ".join((text or "").split())
    if len(words) <= length:
        return words
    return words[:length].rsplit(" ", 1)[0].rstrip(",;:.") + "\u2026"


class FeedbackReply(Base):
    """A reply from the team. Who wrote it is in the audit log, not here."""

    __tablename__ = "feedback_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("feedback_items.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(EncryptedText)
    written_on: Mapped[date] = mapped_column(Date)

    item: Mapped[FeedbackItem] = relationship(back_populates="replies")


class FeedbackTheme(Base):
    __tablename__ = "feedback_themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)


class FeedbackItemTheme(Base):
    __tablename__ = "feedback_item_themes"

    feedback_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("feedback_items.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_themes.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class FeedbackGiver(Base):
    """Only for named feedback: the member chose to attach their name."""

    __tablename__ = "feedback_givers"
    __table_args__ = (UniqueConstraint("feedback_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("feedback_items.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    item: Mapped[FeedbackItem] = relationship(back_populates="giver")


class ImpactFeedbackLink(Base):
    """A member typed the code of anonymous feedback to see it on their "your impact" page.

    Written only by the member's own action and deleted when they remove it, close their
    account, withdraw the feedback or its code stops working. It keeps no time, and its id is
    random rather than a counter, for the same reason: the time a code was added could be
    matched against the day the feedback arrived or a reply was sent. Staff pages never read
    this table, so adding a code never changes what staff see.
    """

    __tablename__ = "impact_feedback_links"
    __table_args__ = (UniqueConstraint("user_id", "feedback_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False,
                                    default=random_feedback_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    feedback_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("feedback_items.id", ondelete="CASCADE"), index=True
    )

    item: Mapped[FeedbackItem] = relationship()


ANONYMOUS_TABLES = ("feedback_items", "feedback_replies", "feedback_themes",
                    "feedback_item_themes")


register_anonymous_tables(*ANONYMOUS_TABLES)
