"""The demo (`make run`): panels in a programme, a request for an advance, safe to run twice."""

from __future__ import annotations

from sqlalchemy import func, select

from engage.demo import seed_demo
from engage.panels.models import Panel, Programme
from engage.payments import advances, reports


def test_demo_puts_the_panels_in_a_programme_and_shows_a_request_for_help(app, db):
    seed_demo()
    seed_demo()
    assert db.session.scalar(select(func.count()).select_from(Programme)) == 1
    programme = db.session.scalar(select(Programme))
    assert all(p.programme_id == programme.id for p in db.session.scalars(select(Panel)))
    [row] = advances.overview()
    assert row.event.title == "Open Voices Network: last month's meet-up"
    assert (row.asked_advance, row.asked_ticket, row.waiting) == (1, 1, 1)
    # demo-member2's approved payroll claim is in the survivor panel, so in the programme
    rows, _categories, grand = reports.spend_by_programme_and_quarter()
    assert [r.programme for r in rows] == [programme.name]
    assert grand == reports.ledger_payable_total() > 0
