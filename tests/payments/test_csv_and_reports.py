"""Formula-safe CSV, finance reports and the payout progress page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engage.core.csv import safe_cell, write_csv
from engage.core.permissions import Role
from engage.extensions import db as _db
from engage.payments import payouts, reports, services
from engage.payments.models import LedgerEntry
from tests.conftest import FormClient
from tests.factories import make_member, make_staff, sign_in
from tests.factories_payments import approved_claim, connect_bank, seed


@pytest.mark.parametrize(("value", "expected"), [
    ("=SUM(A1)", "'=SUM(A1)"), ("+44 7700", "'+44 7700"), ("-1+1", "'-1+1"),
    ("@cmd", "'@cmd"), ("\tx", "'\tx"), ("plain", "plain"), (-540, "-540"), (None, ""),
])
def test_cells_a_spreadsheet_would_run_are_neutralised(value, expected):
    assert safe_cell(value) == expected


def test_write_csv_quotes_and_uses_crlf():
    assert write_csv(["a", "b"], [["x,y", "=1"]]) == b'a,b\r\n"x,y",\'=1\r\n'


def _finance(app):
    visitor = FormClient(app.test_client())
    finance = make_staff(Role.FINANCE)
    _db.session.commit()
    sign_in(visitor, finance)
    return visitor, finance


def test_report_csv_adds_up_to_the_ledger_and_names_are_safe(app, db):
    seed()
    member = make_member(display_name="=HYPERLINK(evil)")
    claim = approved_claim(member)
    payouts.record_manual_payment(make_staff(Role.FINANCE), claim, "V-7")
    _rows, _categories, grand = reports.spend_by_panel_and_quarter()
    payable = sum(e.amount_pence for e in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.entry_type == "payable")))
    assert grand == payable == reports.ledger_payable_total() == 7500
    visitor, _ = _finance(app)
    spend = visitor.get("/payments/finance/report?format=csv").get_data(as_text=True)
    assert spend.splitlines()[0] == "panel,quarter,Involvement payment,total"
    assert spend.splitlines()[1].endswith(",75.00,75.00")
    people = visitor.get("/payments/finance/report?format=people-csv").get_data(as_text=True)
    assert "'=HYPERLINK(evil)" in people


def test_payout_progress_page_refreshes_itself_without_javascript(app, db, stripe_server):
    seed()
    member = make_member()
    connect_bank(member, stripe_server.add_account())
    claim = approved_claim(member)
    visitor, finance = _finance(app)
    batch, _ = payouts.start_batch(finance, [claim.id])
    _db.session.commit()
    running = visitor.get(f"/payments/finance/batches/{batch.id}")
    assert running.headers["Refresh"] == "3"
    page = running.get_data(as_text=True)
    assert '<progress id="batch-progress" max="100" value="0">' in page
    assert "Refresh now" in page and "<script" not in page.split("</head>")[1]
    payouts.process_batches()
    done = visitor.get(f"/payments/finance/batches/{batch.id}")
    assert "Refresh" not in done.headers
    assert 'value="100"' in done.get_data(as_text=True)
    assert services.get_claim(claim.id).state == "transferred"  # not paid until the bank has it
