"""The dashboard's building blocks: filters, figures, sections and the list of providers.

A section provider is a function `(Filters) -> Section | None`. Each figure carries its numbers
as a table (shown next to the chart and downloadable as CSV) and a plain-English note on how
it is counted. Providers are added in engage/dashboard/__init__.py's init_app with
`wiring.add_hook(app, DASHBOARD_SECTIONS, provider)`, in the order the page shows them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from markupsafe import Markup

from engage.core.clock import from_london
from engage.core.suppression import THRESHOLD
from engage.core.wiring import Hook


def small_numbers_note() -> str:
    """Under a figure where some numbers are hidden to protect people in small groups."""
    return _("To protect people in small groups, any number under %(n)s is not shown, and "
             "neither are some other numbers that would let you work it out from the totals.",
             n=THRESHOLD)


@dataclass(frozen=True)
class Filters:
    start: date  # London dates, both inclusive
    end: date
    panel_id: int | None = None
    question: str = "ethnicity"
    organisation: str | None = None  # "you said, we did" commitments of one organisation

    @property
    def start_utc(self) -> datetime:
        return from_london(datetime.combine(self.start, time.min))

    @property
    def end_utc(self) -> datetime:
        """The first moment after the range (midnight in London after `end`)."""
        return from_london(datetime.combine(self.end + timedelta(days=1), time.min))

    def months(self) -> list[str]:
        """Every month in the range, as "YYYY-MM"."""
        out = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out


@dataclass
class Figure:
    key: str
    title: str
    how_counted: str
    header: list[str]
    rows: list[list[str | int]]
    chart: Markup | None = None
    note: str = ""  # for example, that some numbers are hidden to protect people


@dataclass
class Section:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)


SectionProvider = Callable[[Filters], Section | None]
DASHBOARD_SECTIONS = Hook("dashboard.sections")


def build_sections(filters: Filters) -> list[Section]:
    return DASHBOARD_SECTIONS.results(filters)


def find_figure(filters: Filters, key: str) -> Figure | None:
    for section in build_sections(filters):
        for figure in section.figures:
            if figure.key == key:
                return figure
    return None
