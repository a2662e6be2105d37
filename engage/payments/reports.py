"""Statements and finance reports, built from claims and the ledger."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from engage.accounts.models import User
from engage.core.clock import from_london, to_london
from engage.extensions import db
from engage.panels.models import Panel, Programme
from engage.payments.calculation import tax_year_bounds
from engage.payments.models import Claim, ClaimState, LedgerEntry, LedgerEntryType, PaymentRoute
from engage.payments.models import ReconciliationFlag as Flag


@dataclass
class Statement:
    claims: list[Claim]
    involvement_pence: int = 0
    expenses_pence: int = 0
    declined_pence: int = 0

    @property
    def total_pence(self) -> int:
        return self.involvement_pence + self.expenses_pence


def _paid_in_tax_year(start_year: int):
    """Claims paid (the money received) in the tax year starting 6 April of `start_year`:
    from 6 April to 5 April in London time, whatever the date of the activity."""
    first, last = tax_year_bounds(start_year)
    start = from_london(datetime.combine(first, time()))
    end = from_london(datetime.combine(last + timedelta(days=1), time()))
    return Claim.state == ClaimState.PAID, Claim.paid_at >= start, Claim.paid_at < end


def statement(user_id: int, start_year: int) -> Statement:
    """What was paid to the person in the tax year starting 6 April (by the date paid)."""
    claims = list(db.session.scalars(
        select(Claim).where(Claim.user_id == user_id, *_paid_in_tax_year(start_year))
        .order_by(Claim.paid_at, Claim.id)))
    result = Statement(claims)
    for claim in claims:
        result.involvement_pence += claim.involvement_pence
        result.expenses_pence += claim.expenses_pence
        result.declined_pence += claim.declined_pence
    return result


STATEMENT_HEADER = ["Activity date", "Activity", "Involvement payment (£)", "Expenses (£)",
                    "Declined (£)", "Paid on", "Paid by"]


def pounds_text(pence: int) -> str:
    """Pounds and pence as text for CSV ("-5.40"), without floats."""
    sign = "-" if pence < 0 else ""
    pence = abs(pence)
    return f"{sign}{pence // 100}.{pence % 100:02d}"


_pounds = pounds_text


def statement_rows(data: Statement):
    for claim in data.claims:
        yield [claim.activity_date.isoformat(), claim.activity_title,
               _pounds(claim.involvement_pence), _pounds(claim.expenses_pence),
               _pounds(claim.declined_pence),
               to_london(claim.paid_at).date().isoformat() if claim.paid_at else "",
               PaymentRoute(claim.route).label]
    yield ["", "Total", _pounds(data.involvement_pence), _pounds(data.expenses_pence),
           _pounds(data.declined_pence), "", ""]


def open_flags() -> list[Flag]:
    return list(db.session.scalars(select(Flag).where(Flag.resolved_at.is_(None))
                                   .order_by(Flag.id)))


def financial_quarter(moment: datetime | date) -> str:
    """UK financial-year quarter (the year runs from 1 April): April to June is Q1."""
    day = to_london(moment).date() if isinstance(moment, datetime) else moment
    return quarter_of_month(day.year, day.month)


def quarter_of_month(year: int, month: int) -> str:
    start = year if month >= 4 else year - 1
    return f"{start}–{(start + 1) % 100:02d} Q{(month - 4) % 12 // 3 + 1}"  # noqa: RUF001


# Approved spend: payable entries and their corrections, not payments or advances (money
# sent, which the claims' payable entries already count).
SPEND_TYPES = (LedgerEntryType.PAYABLE, LedgerEntryType.CORRECTION)
NOT_SPEND_CATEGORIES = ("payment", "advance")
NO_PANEL = "No panel"
NO_PROGRAMME = "No programme"


@dataclass
class SpendRow:
    panel: str  # the group's name: a panel, or a programme in the programme report
    quarter: str
    by_category: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def total_pence(self) -> int:
        return sum(self.by_category.values())

    @property
    def programme(self) -> str:
        return self.panel


def _spend_by(group_column, names: dict, missing: str, *, join_panel: bool
              ) -> tuple[list[SpendRow], list[str], int]:
    """Sum spend in the database, grouped by `group_column`, the activity's year and month and
    the category; months are folded into financial quarters here (the same SQL on SQLite and
    PostgreSQL)."""
    year = func.extract("year", Claim.activity_date)
    month = func.extract("month", Claim.activity_date)
    query = (select(group_column, year, month, LedgerEntry.category,
                    func.sum(LedgerEntry.amount_pence))
             .join(Claim, Claim.id == LedgerEntry.claim_id)
             .where(LedgerEntry.entry_type.in_(SPEND_TYPES),
                    LedgerEntry.category.not_in(NOT_SPEND_CATEGORIES)))
    if join_panel:
        query = query.outerjoin(Panel, Panel.id == Claim.panel_id)
    query = query.group_by(group_column, year, month, LedgerEntry.category)
    rows: dict[tuple[str, str], SpendRow] = {}
    categories: set[str] = set()
    grand = 0
    for group_id, year_value, month_value, category, pence in db.session.execute(query):
        name = names.get(group_id, missing) if group_id is not None else missing
        quarter = quarter_of_month(int(year_value), int(month_value))
        row = rows.setdefault((name, quarter), SpendRow(name, quarter))
        row.by_category[category] += int(pence or 0)
        categories.add(category)
        grand += int(pence or 0)
    ordered = sorted(rows.values(), key=lambda r: (r.quarter, r.panel == missing, r.panel))
    return ordered, sorted(categories), grand


def spend_by_panel_and_quarter() -> tuple[list[SpendRow], list[str], int]:
    """Approved spend (the ledger's payable entries and their corrections) per panel and
    financial quarter of the activity, by category. The grand total equals the ledger's."""
    names = dict(db.session.execute(select(Panel.id, Panel.name)).all())
    return _spend_by(Claim.panel_id, names, NO_PANEL, join_panel=False)


def spend_by_programme_and_quarter() -> tuple[list[SpendRow], list[str], int]:
    """The same spend per programme (through the claim's panel). Claims with no panel, or
    whose panel has no programme, are under "No programme". The grand total equals the
    ledger's."""
    names = dict(db.session.execute(select(Programme.id, Programme.name)).all())
    return _spend_by(Panel.programme_id, names, NO_PROGRAMME, join_panel=True)


def per_person_totals(start_year: int) -> list[dict]:
    """Per person, for the tax year: involvement and expenses of claims paid in it."""
    totals: dict[int | None, dict] = {}
    for claim in db.session.scalars(select(Claim).where(*_paid_in_tax_year(start_year))):
        row = totals.setdefault(claim.user_id, {"user_id": claim.user_id, "involvement": 0,
                                                "expenses": 0, "declined": 0})
        row["involvement"] += claim.involvement_pence
        row["expenses"] += claim.expenses_pence
        row["declined"] += claim.declined_pence
    names = {u.id: u.display_name for u in db.session.scalars(
        select(User).where(User.id.in_([k for k in totals if k])))}
    result = []
    for user_id, row in totals.items():
        row["name"] = names.get(user_id, "(closed account)")
        result.append(row)
    return sorted(result, key=lambda r: r["name"])


def ledger_payable_total() -> int:
    """The ledger's approved spend: payable entries and corrections (not payments or
    advances), read straight from the ledger to check the reports against."""
    return int(db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0)).where(
            LedgerEntry.category.not_in(NOT_SPEND_CATEGORIES),
            LedgerEntry.entry_type.in_(SPEND_TYPES)))
        or 0)
