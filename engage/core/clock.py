"""One clock: UTC in, Europe/London out. Tests freeze it with `frozen`."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def today_london() -> date:
    return to_london(now()).date()


def to_london(moment: datetime) -> datetime:
    return moment.astimezone(LONDON)


def format_london(moment: datetime | None) -> str:
    """A moment as a London date and time in words ("5 December 2026 at 14:30"): templates'
    `london` filter."""
    if moment is None:
        return ""
    return to_london(moment).strftime("%-d %B %Y at %H:%M")


def from_london(naive_local: datetime) -> datetime:
    """A wall-clock time in London (as typed by a person) to aware UTC."""
    return naive_local.replace(tzinfo=LONDON).astimezone(UTC)


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    global _frozen
    previous = _frozen
    _frozen = moment.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def set_frozen(moment: datetime | None) -> None:
    global _frozen
    _frozen = moment.astimezone(UTC) if moment is not None else None


def months_before(moment: datetime, months: int) -> datetime:
    """The same time `months` calendar months earlier (the last day if that month is short)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def iso(moment: datetime | date | None) -> str | None:
    """A time or day as ISO 8601 text (for exports and feeds); nothing stays nothing."""
    return moment.isoformat() if moment else None
