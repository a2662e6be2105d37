"""Statements and finance reports, built from claims and the ledger."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from engage.core.clock import to_london
from engage.extensions import db
from engage.payments.calculation import tax_year_bounds, tax_year_label, tax_year_start
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


def statement(user_id: int, start_year: int) -> Statement:
    """What was paid to the person for activities in the tax year starting 6 April."""
    first, last = tax_year_bounds(start_year)
    claims = list(db.session.scalars(
        select(Claim).where(Claim.user_id == user_id, Claim.state == ClaimState.PAID,
                            Claim.activity_date >= first, Claim.activity_date <= last)
        .order_by(Claim.activity_date, Claim.id)))
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
    """UK financial-year quarter: April-June is Q1 of the year starting that April."""
    day = to_london(moment).date() if isinstance(moment, datetime) else moment
    start = tax_year_start(day)
    months = (day.year - start) * 12 + day.month - 4
    return f"{tax_year_label(day)} Q{months // 3 + 1}"


@dataclass
class SpendRow:
    panel: str
    quarter: str
    by_category: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def total_pence(self) -> int:
        return sum(self.by_category.values())


def spend_by_panel_and_quarter() -> tuple[list[SpendRow], list[str], int]:
    """Approved spend (the ledger's payable entries and their corrections) per panel and
    financial quarter of the activity, by category. The grand total equals the ledger's."""
    from engage.panels.models import Panel

    names = dict(db.session.execute(select(Panel.id, Panel.name)).all())
    rows: dict[tuple[str, str], SpendRow] = {}
    categories: set[str] = set()
    grand = 0
    query = (select(LedgerEntry, Claim).join(Claim, Claim.id == LedgerEntry.claim_id)
             .where(LedgerEntry.category != "payment"))
    for entry, claim in db.session.execute(query).all():
        if entry.entry_type not in (LedgerEntryType.PAYABLE, LedgerEntryType.CORRECTION):
            continue
        panel = names.get(claim.panel_id, "No panel") if claim.panel_id else "No panel"
        quarter = financial_quarter(claim.activity_date)
        row = rows.setdefault((panel, quarter), SpendRow(panel, quarter))
        row.by_category[entry.category] += entry.amount_pence
        categories.add(entry.category)
        grand += entry.amount_pence
    ordered = sorted(rows.values(), key=lambda r: (r.quarter, r.panel))
    return ordered, sorted(categories), grand


def per_person_totals(start_year: int) -> list[dict]:
    """Per person, for the tax year: involvement and expenses of paid claims."""
    from engage.accounts.models import User

    first, last = tax_year_bounds(start_year)
    totals: dict[int | None, dict] = {}
    for claim in db.session.scalars(select(Claim).where(
            Claim.state == ClaimState.PAID, Claim.activity_date >= first,
            Claim.activity_date <= last)):
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
    """The ledger's approved spend: payable entries and corrections (not payments)."""
    from sqlalchemy import func

    return int(db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0)).where(
            LedgerEntry.category != "payment",
            LedgerEntry.entry_type.in_([LedgerEntryType.PAYABLE, LedgerEntryType.CORRECTION])))
        or 0)
