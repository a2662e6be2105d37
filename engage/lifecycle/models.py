"""Retention settings an admin can change, and the record of the daily retention run."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from engage.core import clock
from engage.db import Base, UTCDateTime


class RetentionSetting(Base):
    """An admin's choice of how long one kind of data is kept (the default applies otherwise).

    Who changed it is in the audit log, so this table holds nothing about a person.
    """

    __tablename__ = "retention_settings"
    __table_args__ = (CheckConstraint("months BETWEEN 1 AND 240", name="months_range"),)

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    months: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)


class LifecycleRun(Base):
    """The London day a daily job last ran. Claimed with a conditional UPDATE, so a restarted
    or second worker never runs it twice in one day."""

    __tablename__ = "lifecycle_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_on: Mapped[date | None] = mapped_column(Date)
