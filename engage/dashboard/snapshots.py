"""The dashboard's figures, worked out at most every few minutes instead of on every visit.

Working out every figure reads across panels, consultations, events, payments and feedback
(half a second on a large programme). The figures are the same for everyone who may see the
dashboard, so they are rendered once per choice of filters and kept in dashboard_snapshots
(shared by every process and node) for DASHBOARD_FIGURES_MAX_AGE seconds; the worker works out
the default view ahead, so a programme lead seldom waits. The page around them (who is signed
in, the filter form) is drawn for each visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template
from markupsafe import Markup
from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError

from engage.core import clock, wiring
from engage.dashboard.forms import default_range
from engage.dashboard.models import DashboardSnapshot
from engage.dashboard.sections import Filters, build_sections
from engage.extensions import db


@dataclass(frozen=True)
class Figures:
    html: Markup
    computed_at: datetime


def filter_query(filters: Filters) -> dict[str, str]:
    """The filters as the dashboard's query string (also the download links' query)."""
    return {"start": filters.start.isoformat(), "end": filters.end.isoformat(),
            "panel": str(filters.panel_id or ""), "organisation": filters.organisation or "",
            "question": filters.question}


def _key(filters: Filters) -> str:
    query = filter_query(filters)
    return "|".join(query[name] for name in sorted(query))[:200]


# The kept figures for one key: one row at most, so the dashboard has it read within the
# signed-in person's own query (views.index_reads).
KEPT = (select(DashboardSnapshot.computed_at, DashboardSnapshot.html)
        .where(DashboardSnapshot.key == bindparam("figures_key")))


def kept_reads(filters: Filters) -> list[tuple]:
    """The read of the kept figures for `filters`, or none when figures are not kept."""
    if current_app.config["DASHBOARD_FIGURES_MAX_AGE"] <= 0:
        return []
    return [(KEPT, {"figures_key": _key(filters)})]


def figures_for(filters: Filters) -> Figures:
    """The kept figures while they are fresh (read with the person when they were: wiring.
    rows_sent_with_person), otherwise worked out now."""
    max_age = current_app.config["DASHBOARD_FIGURES_MAX_AGE"]
    reads = kept_reads(filters)
    [rows] = wiring.rows_sent_with_person(db.session, *reads) if reads else [[]]
    if rows:
        computed_at, html = rows[0]
        if clock.now() - computed_at < timedelta(seconds=max_age):
            return Figures(Markup(html), computed_at)  # noqa: S704  # nosec B704
    return work_out(filters, keep=max_age > 0)


def work_out(filters: Filters, *, keep: bool = True) -> Figures:
    """Work the figures out now (and keep them for the next visit)."""
    now = clock.now()
    html = render_template("dashboard/_figures.html", sections=build_sections(filters),
                           query=filter_query(filters))
    if keep:
        key = _key(filters)
        try:
            with db.session.begin_nested():
                db.session.execute(delete(DashboardSnapshot).where(DashboardSnapshot.key == key))
                db.session.add(DashboardSnapshot(key=key, computed_at=now, html=html))
        except IntegrityError:
            pass  # another process kept the same figures at the same moment
    return Figures(Markup(html), now)  # noqa: S704  # nosec B704 - our own template


def precompute_dashboard(worker_id: str) -> int:
    """Worker job: the default view (the last 12 months, everything), ready before anyone
    asks."""
    start, end = default_range()
    base = current_app.config["PUBLIC_BASE_URL"]
    with current_app.test_request_context("/dashboard", base_url=base):
        work_out(Filters(start, end))
    return 1

