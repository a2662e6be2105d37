"""Retention for payment records (declared with their personal data).

Payment records are the financial record the law asks us to keep for 6 years after the end of
the financial year. After that they are pseudonymised: the claim and its ledger entries lose
their link to the person (user id), the names of the staff who approved, overrode and paid
are cleared, and uploaded receipts are deleted. Amounts stay, so the
ledger still balances and its totals do not change. Closing an account already pseudonymises
at once (engage/payments/personal_data.py); this module says so on the "data we hold" and
account-closure pages.

The year here is the tax year (from 6 April, as in
engage.payments.calculation.tax_year_start), which ends five days after the 1 April financial
year, so records are never released early.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, select, update

from engage.core.clock import months_before, to_london
from engage.core.personal_data import RetentionRule
from engage.extensions import db
from engage.payments import receipts
from engage.payments.calculation import tax_year_start
from engage.payments.models import ActivitySupport, Claim, ClaimEvent, LedgerEntry, Receipt

PAYMENT_RECORDS = "payment_records"
ON_CLOSE = ("Claims not sent yet are deleted; the rest are kept without your name for 6 years "
            "after the financial year, as the law requires.")


def first_day_of_financial_year(day: date) -> date:
    return date(tax_year_start(day), 4, 6)


def pseudonymise_old_payment_records(now: datetime, months: int) -> int:
    """Claims whose financial year ended `months` or more ago lose the link to the person."""
    cutoff = to_london(months_before(now, months)).date()
    old = select(Claim.id).where(Claim.activity_date < first_day_of_financial_year(cutoff))
    named = list(db.session.scalars(old.where(Claim.user_id.is_not(None))))
    for receipt in db.session.scalars(select(Receipt).where(Receipt.claim_id.in_(old))):
        receipts.delete(receipt.stored_name)
    db.session.execute(delete(Receipt).where(Receipt.claim_id.in_(old))
                       .execution_options(synchronize_session=False))
    db.session.execute(update(LedgerEntry).where(LedgerEntry.claim_id.in_(old),
                                                 LedgerEntry.user_id.is_not(None))
                       .values(user_id=None).execution_options(synchronize_session=False))
    if named:
        db.session.execute(update(Claim).where(Claim.id.in_(named)).values(user_id=None)
                           .execution_options(synchronize_session=False))
    # The names of the staff who approved, overrode and paid were kept for this long too.
    db.session.execute(update(Claim).where(Claim.id.in_(old)).values(
        late_override_by_name=None, lead_approved_by_name=None, finance_approved_by_name=None,
        paid_by_name=None).execution_options(synchronize_session=False))
    db.session.execute(update(ClaimEvent).where(ClaimEvent.claim_id.in_(old),
                                                ClaimEvent.actor_name.is_not(None))
                       .values(actor_name=None).execution_options(synchronize_session=False))
    # Advances and booked tickets for activities in the same years, and the advances' ledger
    # entries (which belong to no claim).
    old_support = select(ActivitySupport.id).where(
        ActivitySupport.activity_date < first_day_of_financial_year(cutoff),
        ActivitySupport.user_id.is_not(None))
    db.session.execute(update(LedgerEntry).where(
        LedgerEntry.id.in_(select(ActivitySupport.ledger_entry_id).where(
            ActivitySupport.id.in_(old_support))), LedgerEntry.user_id.is_not(None))
        .values(user_id=None).execution_options(synchronize_session=False))
    db.session.execute(update(ActivitySupport).where(ActivitySupport.id.in_(old_support))
                       .values(user_id=None).execution_options(synchronize_session=False))
    db.session.expire_all()
    return len(named)


PAYMENT_RECORDS_RULE = RetentionRule(
    PAYMENT_RECORDS, "Payment records (kept without the person's name afterwards)", 72,
    "after the end of the financial year of the activity", pseudonymise_old_payment_records)
