"""Consultations: questions in parts, named responses, anonymous responses and receipts.

Anonymity is built into the schema: answers to an anonymous consultation live in
`anonymous_responses` / `anonymous_answers`, which have no column or foreign key that could lead
to a person (no user id, no address, no time finer than the day, random ids instead of
sequential ones). The separate `participation_receipts` table records only that a person took
part, so they can be told they already answered.

The order of arrival is not kept either: a sent answer is sealed (engage/core/inbox.py) and the
worker writes anonymous rows in shuffled batches, and writes the whole set again in a new order
when the consultation closes (services.add_waiting_answers). On SQLite the two tables are
WITHOUT ROWID, so their b-trees are ordered by the random ids, not by insertion.
"""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.core import clock
from engage.core.anonymity import register_anonymous_tables
from engage.core.entry_method import ENTRY_METHOD_CHECK, EntryMethod
from engage.db import Base, EncryptedText, UTCDateTime

PREFER_NOT_TO_SAY = "prefer_not_to_say"
SCALE_VALUES = (1, 2, 3, 4, 5)
# A matrix answer is one choice per statement, stored as "statement key:rating key".
MATRIX_SEPARATOR = ":"
DEFAULT_MATRIX_COLUMNS = ("Strongly disagree", "Disagree", "Neither agree nor disagree",
                          "Agree", "Strongly agree")


def random_id() -> str:
    return secrets.token_hex(16)


class ConsultationState(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return {"draft": "Draft", "open": "Open", "closed": "Closed",
                "published": "Results published"}[self.value]


class QuestionKind(enum.StrEnum):
    FREE_TEXT = "free_text"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SCALE = "scale"
    DROPDOWN = "dropdown"
    DATE = "date"
    RANKING = "ranking"
    MATRIX = "matrix"

    @property
    def label(self) -> str:
        return {"free_text": "Free text", "single_choice": "Single choice",
                "multiple_choice": "Multiple choice", "scale": "Scale (1 to 5)",
                "dropdown": "Dropdown list", "date": "Date",
                "ranking": "Ranking (put options in order)",
                "matrix": "Matrix (rate several statements)"}[self.value]


# Questions whose options can send a person past sections.
ROUTING_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.DROPDOWN)
ROUTE_END = "end"

# Questions whose options are typed by staff, one on each line.
OPTION_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE, QuestionKind.DROPDOWN,
                QuestionKind.RANKING, QuestionKind.MATRIX)


class QuoteConsent(enum.StrEnum):
    PUBLIC = "public"
    COMMISSIONER = "commissioner"
    INTERNAL = "internal"

    @property
    def label(self) -> str:
        return {"public": "May be quoted publicly",
                "commissioner": "Share with the commissioning organisation only",
                "internal": "Only for the panel team"}[self.value]


class Consultation(Base):
    __tablename__ = "consultations"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("state IN ('draft', 'open', 'closed', 'published')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None means a public consultation; otherwise only that panel's members take part.
    panel_id: Mapped[int | None] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"),
                                                 index=True)
    title: Mapped[str] = mapped_column(String(150))
    summary: Mapped[str] = mapped_column(Text, default="")
    background: Mapped[str] = mapped_column(Text, default="")
    background_html: Mapped[str] = mapped_column(Text, default="")
    content_note: Mapped[str | None] = mapped_column(Text)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    is_anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(12), default=ConsultationState.DRAFT, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by conditional UPDATEs in the notification job, so nothing is ever announced twice.
    open_notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    week_reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    day_reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    panel = relationship("Panel", lazy="joined")
    parts: Mapped[list[ConsultationPart]] = relationship(
        back_populates="consultation", cascade="all, delete-orphan",
        order_by="ConsultationPart.position", lazy="selectin",
    )

    @property
    def is_public(self) -> bool:
        return self.panel_id is None

    @property
    def state_label(self) -> str:
        return ConsultationState(self.state).label

    def is_accepting_answers(self, at: datetime | None = None) -> bool:
        moment = at or clock.now()
        return (self.state == ConsultationState.OPEN
                and self.opens_at <= moment < self.closes_at)

    def opens_later(self, at: datetime | None = None) -> bool:
        """Not open yet: its opening time is still to come."""
        return (at or clock.now()) < self.opens_at

    def ordered_questions(self) -> list[Question]:
        return [q for part in self.parts for q in part.questions]

    def __repr__(self) -> str:
        return f"<Consultation {self.id}>"


class ConsultationPart(Base):
    """A group of questions. A part may have its own content note, and can be skipped."""

    __tablename__ = "consultation_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(String(150))
    intro: Mapped[str] = mapped_column(Text, default="")
    content_note: Mapped[str | None] = mapped_column(Text)

    consultation: Mapped[Consultation] = relationship(back_populates="parts")
    questions: Mapped[list[Question]] = relationship(
        back_populates="part", cascade="all, delete-orphan", order_by="Question.position",
        lazy="selectin",
    )


class Question(Base):
    __tablename__ = "consultation_questions"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('free_text', 'single_choice', 'multiple_choice', 'scale', 'dropdown', "
            "'date', 'ranking', 'matrix')",
            name="kind_known",
        ),
        CheckConstraint("max_length BETWEEN 1 AND 10000", name="max_length_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("consultation_parts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(500))
    hint: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    max_length: Mapped[int] = mapped_column(default=1500)
    # Choice questions: [{"key": "1", "label": "..."}]; keys never change once answered.
    # For a matrix, the options are its statements and `columns` the ratings of each.
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    columns: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # Single choice and dropdown: where each option sends a person, {"option key": "part id"
    # or "end"}; an option not listed goes on to the next section (engage/consultations/routing.py).
    routes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    scale_low_label: Mapped[str] = mapped_column(String(60), default="")
    scale_high_label: Mapped[str] = mapped_column(String(60), default="")

    consultation: Mapped[Consultation] = relationship(viewonly=True)
    part: Mapped[ConsultationPart] = relationship(back_populates="questions")

    @property
    def kind_label(self) -> str:
        return QuestionKind(self.kind).label

    @property
    def is_choice(self) -> bool:
        """Answered by choosing: counted in results rather than quoted."""
        return self.kind not in (QuestionKind.FREE_TEXT, QuestionKind.DATE)

    def option_label(self, key: str) -> str:
        if key == PREFER_NOT_TO_SAY:
            return "Prefer not to say"
        for option in self.options or []:
            if option["key"] == key:
                return option["label"]
        return key

    def column_label(self, key: str) -> str:
        if key == PREFER_NOT_TO_SAY:
            return "Prefer not to say"
        for column in self.columns or []:
            if column["key"] == key:
                return column["label"]
        return key

    def choice_keys(self) -> list[str]:
        if self.kind == QuestionKind.SCALE:
            return [str(v) for v in SCALE_VALUES]
        return [o["key"] for o in self.options or []]

    def column_keys(self) -> list[str]:
        return [c["key"] for c in self.columns or []]

    def answer_text(self, choices: list[str], text: str | None) -> str:
        """An answer in words, for exports and the person's own data."""
        if self.kind == QuestionKind.RANKING:
            return "; ".join(f"{n}. {self.option_label(k)}" for n, k in enumerate(choices, 1))
        if self.kind == QuestionKind.MATRIX:
            pairs = (c.split(MATRIX_SEPARATOR, 1) for c in choices if MATRIX_SEPARATOR in c)
            return "; ".join(f"{self.option_label(row)}: {self.column_label(col)}"
                             for row, col in pairs)
        if self.is_choice:
            return "; ".join(self.option_label(k) for k in choices)
        return text or ""


class AnswerColumns:
    """What one answer holds, for named and anonymous answers alike."""

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("consultation_questions.id", ondelete="CASCADE"), index=True)
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    text: Mapped[str | None] = mapped_column(EncryptedText)
    prefer_not_to_say: Mapped[bool] = mapped_column(Boolean, default=False)
    quote_consent: Mapped[str | None] = mapped_column(String(15))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)

    def as_values(self) -> dict[str, Any]:
        return {"choices": list(self.choices or []), "text": self.text,
                "prefer_not_to_say": self.prefer_not_to_say, "consent": self.quote_consent}


class ResponseStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Response(Base):
    """A named response, or a member's unsent draft (for anonymous consultations too: on
    sending, an anonymous consultation's draft is copied without the name and deleted)."""

    __tablename__ = "consultation_responses"
    __table_args__ = (
        UniqueConstraint("consultation_id", "user_id"),
        CheckConstraint("status IN ('draft', 'submitted')", name="status_known"),
        CheckConstraint(ENTRY_METHOD_CHECK, name="entry_method_known"),
        # The programme dashboard counts sent responses by month.
        Index("ix_consultation_responses_submitted", "status", "submitted_at",
              "consultation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=ResponseStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a member of staff entered the answers for the person, with their agreement
    # (services.answer_on_behalf); who entered them is in the audit log.
    entry_method: Mapped[EntryMethod | None] = mapped_column(String(16))

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", lazy="selectin")
    user = relationship("User", lazy="joined")

    @property
    def entered_by_staff_label(self) -> str | None:
        """'by phone', 'on paper'...; None when the person sent the answers themselves."""
        return EntryMethod(self.entry_method).label if self.entry_method else None


class Answer(AnswerColumns, Base):
    __tablename__ = "response_answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)

    response_id: Mapped[int] = mapped_column(
        ForeignKey("consultation_responses.id", ondelete="CASCADE"), index=True)
    response: Mapped[Response] = relationship(back_populates="answers")


class AnonymousResponse(Base):
    """An anonymous response: nothing here can lead to a person."""

    __tablename__ = "anonymous_responses"
    __table_args__ = (CheckConstraint(ENTRY_METHOD_CHECK, name="entry_method_known"),
                      {"sqlite_with_rowid": False})

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    submitted_on: Mapped[date] = mapped_column(Date)
    # A keyed hash of a random value from the answer page, so a double click without an
    # account is stored once.
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Set when a member of staff entered the answers for the person, with their agreement: the
    # method label only (it travels sealed with the answers), never who entered them.
    entry_method: Mapped[EntryMethod | None] = mapped_column(String(16))

    answers: Mapped[list[AnonymousAnswer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", lazy="selectin")


class AnonymousAnswer(AnswerColumns, Base):
    __tablename__ = "anonymous_answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),
                      {"sqlite_with_rowid": False})

    response_id: Mapped[str] = mapped_column(
        ForeignKey("anonymous_responses.id", ondelete="CASCADE"), index=True)
    response: Mapped[AnonymousResponse] = relationship(back_populates="answers")


class ParticipationReceipt(Base):
    """Only that a person took part in an anonymous consultation, and on which day."""

    __tablename__ = "participation_receipts"

    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    took_part_on: Mapped[date] = mapped_column(Date)


register_anonymous_tables("anonymous_responses", "anonymous_answers")
