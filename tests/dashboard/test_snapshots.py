"""The dashboard's figures are worked out at most every few minutes (and ahead by the worker),
shared by every process, and the page says when they were worked out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engage.core import clock
from engage.core.permissions import Role
from engage.dashboard.models import DashboardSnapshot
from engage.dashboard.snapshots import precompute_dashboard
from tests.factories import make_staff, sign_in
from tests.factories_feedback import make_feedback


def _feedback_total(html: str) -> str:
    return html.split('id="figure-feedback-by-month"', 1)[1][:4000]


def test_figures_are_kept_for_a_few_minutes_then_worked_out_again(app, db, browser_like):
    app.config["DASHBOARD_FIGURES_MAX_AGE"] = 600
    lead = make_staff(Role.PROGRAMME_LEAD)
    db.session.commit()
    sign_in(browser_like, lead)
    start = clock.now()
    with clock.frozen(start):
        first = browser_like.get("/dashboard").get_data(as_text=True)
        assert "Figures worked out at" in first
        for _ in range(6):
            make_feedback()
        db.session.commit()
        kept = browser_like.get("/dashboard").get_data(as_text=True)
    assert _feedback_total(kept) == _feedback_total(first)
    with clock.frozen(start + timedelta(minutes=11)):
        fresh = browser_like.get("/dashboard").get_data(as_text=True)
    assert _feedback_total(fresh) != _feedback_total(first)


def test_the_worker_works_out_the_default_view_ahead(app, db, browser_like):
    app.config["DASHBOARD_FIGURES_MAX_AGE"] = 600
    for _ in range(6):
        make_feedback()
    precompute_dashboard("test-worker")
    db.session.commit()
    ahead = db.session.scalars(select(DashboardSnapshot)).one().html
    for _ in range(6):
        make_feedback()  # after the worker ran: not in the figures until they are redone
    lead = make_staff(Role.PROGRAMME_LEAD)
    db.session.commit()
    sign_in(browser_like, lead)
    page = browser_like.get("/dashboard").get_data(as_text=True)
    assert _feedback_total(page) == _feedback_total(ahead)
    assert db.session.scalar(select(func.count()).select_from(DashboardSnapshot)) == 1
