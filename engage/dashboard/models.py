"""Figures of the programme dashboard, worked out ahead and kept for a few minutes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engage.db import Base, UTCDateTime


class DashboardSnapshot(Base):
    """The dashboard's figures (charts and tables, as HTML) for one choice of filters. Only
    counts that are already safe to show every programme lead: no one's name or page."""

    __tablename__ = "dashboard_snapshots"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    html: Mapped[str] = mapped_column(Text)
