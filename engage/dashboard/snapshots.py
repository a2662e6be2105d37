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
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from engage.core import clock
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


def figures_for(filters: Filters) -> Figures:
    max_age = current_app.config["DASHBOARD_FIGURES_MAX_AGE"]
    if max_age > 0:
        kept = db.session.get(DashboardSnapshot, _key(filters))
        if kept is not None and clock.now() - kept.computed_at < timedelta(seconds=max_age):
            return Figures(Markup(kept.html), kept.computed_at)  # noqa: S704  # nosec B704
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

