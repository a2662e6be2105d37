"""The demo programme lead sees real figures and charts from the demo data."""

from __future__ import annotations

from sqlalchemy import func, select

from engage.dashboard.forms import default_range
from engage.dashboard.sections import Filters, build_sections
from engage.demo import seed_demo
from engage.equality.models import EqualitySnapshot


def test_demo_gives_the_dashboard_figures_once(app, db):
    seed_demo()
    seed_demo()
    assert db.session.scalar(select(func.count()).select_from(EqualitySnapshot)) == 60
    start, end = default_range()
    sections = {s.key: s for s in build_sections(Filters(start, end))}
    members = sections["participation"].figures[0]
    assert any(row[-1] for row in members.rows)  # the demo panels have members now
    equality = sections["equality"].figures[0]
    shown = [cell for row in equality.rows for cell in row[1:5]]
    assert "not shown" in shown and any(cell.isdigit() and int(cell) >= 5 for cell in shown)
    assert any(row[5].endswith("%") for row in equality.rows)
