"""Equality monitoring: a person's own answers, and snapshots taken when someone takes part.

Both hold the answers only as encrypted JSON, in tables apart from any contribution.
`equality_snapshots` has no column that leads to a person: no user id, a random id instead of
a sequential one, and only the month. On SQLite the table is WITHOUT ROWID, so rows are stored
in the order of their random ids; snapshots of anonymous answers are written by the worker in
shuffled batches (consultations.services.add_waiting_answers).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engage.core import clock
from engage.core.anonymity import register_anonymous_tables
from engage.db import Base, EncryptedText, UTCDateTime


def random_id() -> str:
    return secrets.token_hex(16)


class EqualityAnswers(Base):
    """One person's current answers (JSON, encrypted). Changing them never changes snapshots."""

    __tablename__ = "equality_answers"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    answers: Mapped[str] = mapped_column(EncryptedText)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)


class EqualitySnapshot(Base):
    """A copy of someone's answers when they took part in something, without any link to them."""

    __tablename__ = "equality_snapshots"
    __table_args__ = (Index("ix_equality_snapshots_context", "context_kind", "context_id"),
                      {"sqlite_with_rowid": False})

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    # "panel" (joined a panel), "consultation" (answered one), later "event" (attended).
    context_kind: Mapped[str] = mapped_column(String(20))
    context_id: Mapped[int]
    # The first day of the month, as "YYYY-MM": nothing finer, so it cannot be matched with a
    # dated record of who took part.
    month: Mapped[str] = mapped_column(String(7), index=True)
    answers: Mapped[str] = mapped_column(EncryptedText)
    # Set (in the same transaction) once the snapshot is counted in its month's tally.
    tallied: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class EqualityTally(Base):
    """Counts per context, question and answer for one month of snapshots, so the dashboard
    does not decrypt every snapshot on every view. Encrypted like the snapshots.

    The worker adds snapshots not yet tallied and marks them tallied in one transaction, so a
    snapshot is always counted exactly once: from the tally, or from itself until then.
    """

    __tablename__ = "equality_tallies"

    context_kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    snapshot_count: Mapped[int] = mapped_column(default=0)
    # JSON: {"<context id>": {"<question key>": {"<answer key>": count}}}
    counts: Mapped[str] = mapped_column(EncryptedText)


class PopulationFigure(Base):
    """The local population's make-up, as an admin entered it, to compare the dashboard with.

    Tenths of a percent as an integer (12.5% is 125), never a float.
    """

    __tablename__ = "equality_population_figures"

    question_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    option_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    per_mille: Mapped[int]


register_anonymous_tables("equality_snapshots", "equality_tallies")
