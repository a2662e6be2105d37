"""Paying approved claims through the organisation's payroll.

An export is a CSV with one line per pay element of each claim, so payroll can treat each the
way the law does: the involvement payment is a taxable payment (normally through PAYE), each
kind of expense is a reimbursement (normally not taxable), and an advance already paid is
deducted on a line of its own. The file is stored as the exact bytes first made, so
downloading it again gives the same file. A claim is in at most one export at a time (a
conditional UPDATE on `payroll_export_id`). When payroll has run, finance confirms the
export, marking any claim payroll could not pay as failed: that claim goes back to finance.

The column layout (PAYROLL_HEADER) is documented in docs/staff.md; change both together.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select, update

from engage.accounts.models import User
from engage.core import audit, clock
from engage.core.csv import write_csv
from engage.core.unit_of_work import atomic
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.extensions import db
from engage.payments import ledger
from engage.payments.calculation import add_months, tax_year_label
from engage.payments.models import (
    Claim,
    ClaimState,
    PaymentRoute,
    PayrollExport,
    PayrollLine,
    PayrollLineState,
)
from engage.payments.services import is_finance, move, preferences_of

PAYROLL_HEADER = ["line", "payroll_reference", "legal_name", "tax_year", "pay_date", "element",
                  "description", "taxable", "amount", "claim", "activity_date", "activity",
                  "cost_code"]
INVOLVEMENT_FEE = "involvement_fee"
ADVANCE_DEDUCTED = "advance_deducted"
EXPENSE_PREFIX = "expense_"

# Claims payroll can take: approved, or back with finance after payroll could not pay them.
EXPORTABLE_STATES = (ClaimState.APPROVED, ClaimState.PAYMENT_FAILED)


@dataclass(frozen=True)
class Element:
    element: str
    label: str
    taxable: bool
    pence: int


def pay_elements(claim: Claim) -> list[Element]:
    """The claim's pay elements, adding up to what is still to pay."""
    elements = []
    if claim.involvement_pence:
        elements.append(Element(INVOLVEMENT_FEE, "Involvement payment", True,
                                claim.involvement_pence))
    labels = {r.category: r.label for r in (claim.policy_version.expense_rules
                                            if claim.policy_version else [])}
    by_kind: dict[str, int] = defaultdict(int)
    for expense in claim.expenses:
        by_kind[expense.category] += expense.allowed_pence
    for category, pence in by_kind.items():
        if pence:
            elements.append(Element(f"{EXPENSE_PREFIX}{category}",
                                    f"Expenses: {labels.get(category, category)}", False, pence))
    if claim.advance_pence:
        elements.append(Element(ADVANCE_DEDUCTED, "Advance already paid, deducted", False,
                                -claim.advance_pence))
    return elements


def _pounds(pence: int) -> Decimal:
    """Pounds and pence as a number ("-10.00" for a deduction), never a float."""
    return Decimal(pence).scaleb(-2)


def check_pay_date(pay_date: date | None) -> date:
    today = clock.today_london()
    if pay_date is None:
        raise ValidationFailed("Enter the date payroll will pay these claims, like 28 4 2027.")
    if not add_months(today, -3) <= pay_date <= add_months(today, 3):
        raise ValidationFailed("Enter a pay date within three months of today: it decides the "
                               "tax year the payments count in.")
    return pay_date


def waiting_for_payroll() -> list[Claim]:
    return list(db.session.scalars(select(Claim).where(
        Claim.state.in_(EXPORTABLE_STATES), Claim.route == PaymentRoute.PAYROLL,
        Claim.payroll_export_id.is_(None)).order_by(Claim.id)))


@atomic
def create_payroll_export(actor, pay_date: date | None) -> tuple[PayrollExport, list[str]]:
    """Every payroll claim waiting goes into one new export, paid on `pay_date`. Claims whose
    owner's payroll details are missing are left out and named in the problems returned."""
    if not is_finance(actor):
        raise NotAllowed("Only finance can export to payroll.")
    pay_date = check_pay_date(pay_date)
    candidates = waiting_for_payroll()
    if not candidates:
        raise ValidationFailed("There are no approved payroll claims waiting to be exported.")
    export = PayrollExport(created_by_id=actor.id, pay_date=pay_date, content=b"", sha256="")
    db.session.add(export)
    db.session.flush()
    rows, problems, claims, total = [], [], 0, 0
    for claim in candidates:
        owner = db.session.get(User, claim.user_id) if claim.user_id else None
        pref = preferences_of(owner) if owner else None
        if pref is None or not (pref.payroll_number and pref.legal_name):
            problems.append(f"Claim {claim.id} was left out: the person's legal name or payroll "
                            "number is missing. They can add them in their payment "
                            "preferences, or you can pay it another way.")
            continue
        taken = db.session.execute(
            update(Claim).where(Claim.id == claim.id, Claim.payroll_export_id.is_(None),
                                Claim.state.in_(EXPORTABLE_STATES))
            .values(payroll_export_id=export.id)
            .execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            continue
        db.session.refresh(claim)
        move(claim, actor, EXPORTABLE_STATES, ClaimState.EXPORTED,
             action="payments.claim_exported")
        cost_code = claim.policy_version.cost_code if claim.policy_version else ""
        for element in pay_elements(claim):
            position = len(rows) + 1
            db.session.add(PayrollLine(
                export_id=export.id, claim_id=claim.id, position=position,
                element=element.element, label=element.label, taxable=element.taxable,
                amount_pence=element.pence, state=PayrollLineState.EXPORTED))
            rows.append([position, pref.payroll_number, pref.legal_name,
                         tax_year_label(pay_date), pay_date.isoformat(), element.element,
                         element.label, "yes" if element.taxable else "no",
                         _pounds(element.pence), claim.id, claim.activity_date.isoformat(),
                         claim.activity_title, cost_code])
        claims += 1
        total += claim.to_pay_pence
    if not rows:
        raise ValidationFailed(" ".join(problems) or
                               "Those claims were exported by someone else a moment ago.")
    export.content = write_csv(PAYROLL_HEADER, rows)
    export.sha256 = hashlib.sha256(export.content).hexdigest()
    export.claim_count = claims
    export.total_pence = total
    db.session.flush()
    audit.record("payments.payroll_exported", actor_id=actor.id,
                 subject_type="payment_payroll_export", subject_id=export.id, claims=claims)
    return export, problems


def claims_in(export: PayrollExport) -> list[tuple[Claim, list[PayrollLine]]]:
    """Each claim in the export with its lines, in the file's order."""
    by_claim: dict[int, list[PayrollLine]] = {}
    for line in export.lines:
        by_claim.setdefault(line.claim_id, []).append(line)
    found = {c.id: c for c in db.session.scalars(select(Claim).where(
        Claim.id.in_(list(by_claim))))}
    return [(found[claim_id], lines) for claim_id, lines in by_claim.items()]


@atomic
def confirm_payroll_paid(actor, export: PayrollExport,
                         failed: Mapping[int, str] | None = None) -> tuple[int, int]:
    """Payroll has run. Claims in `failed` (claim id → what payroll said) were not paid: their
    lines are marked failed and the claim goes back to finance with the reason. The rest are
    paid. Returns (paid, failed) claim counts."""
    if not is_finance(actor):
        raise NotAllowed("Only finance can confirm payroll payments.")
    failed = {claim_id: (reason or "").strip() for claim_id, reason in (failed or {}).items()}
    if any(not reason for reason in failed.values()):
        raise ValidationFailed("For each claim payroll did not pay, say what payroll told you, "
                               "so finance can sort it out.")
    result = db.session.execute(
        update(PayrollExport).where(PayrollExport.id == export.id,
                                    PayrollExport.confirmed_paid_at.is_(None))
        .values(confirmed_paid_at=clock.now(), confirmed_by_id=actor.id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InvalidState("This export has already been confirmed.")
    paid = not_paid = 0
    for claim, lines in claims_in(export):
        waiting = [line for line in lines if line.state == PayrollLineState.EXPORTED]
        if not waiting or claim.state != ClaimState.EXPORTED:
            continue  # withdrawn by finance since the export was made
        if claim.id in failed:
            _fail(actor, export, claim, waiting, failed[claim.id])
            not_paid += 1
        else:
            _paid(actor, export, claim, waiting)
            paid += 1
    db.session.refresh(export)
    audit.record("payments.payroll_confirmed", actor_id=actor.id,
                 subject_type="payment_payroll_export", subject_id=export.id, paid=paid,
                 failed=not_paid)
    return paid, not_paid


def _paid(actor, export: PayrollExport, claim: Claim, lines: list[PayrollLine]) -> None:
    for line in lines:
        line.state = PayrollLineState.PAID
    move(claim, actor, [ClaimState.EXPORTED], ClaimState.PAID, action="payments.claim_paid",
         paid_at=clock.now(), payment_reference=f"payroll export {export.id}")
    ledger.record_payment(claim, claim.to_pay_pence, key=f"payroll:{export.id}:{claim.id}",
                          route=PaymentRoute.PAYROLL, reference=f"payroll export {export.id}",
                          actor_id=actor.id)


def _fail(actor, export: PayrollExport, claim: Claim, lines: list[PayrollLine],
          reason: str) -> None:
    for line in lines:
        line.state = PayrollLineState.FAILED
        line.failure_reason = reason[:500]
    move(claim, actor, [ClaimState.EXPORTED], ClaimState.PAYMENT_FAILED,
         reason=f"Payroll did not pay it (export {export.id}): {reason}",
         action="payments.payroll_line_failed", payroll_export_id=None)


def get_export(export_id: int) -> PayrollExport:
    export = db.session.get(PayrollExport, export_id)
    if export is None:
        raise NotFound("That export does not exist.")
    return export


def recent_exports(limit: int = 20) -> list[PayrollExport]:
    return list(db.session.scalars(select(PayrollExport).order_by(PayrollExport.id.desc())
                                   .limit(limit)))
