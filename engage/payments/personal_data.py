"""The payments domain's personal data.

Payment records (claims, their history, receipts, the ledger) are kept for 6 years after the
end of the financial year even when someone closes their account; on closure they are
pseudonymised (the link to the person is removed). Preferences and drafts are deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from engage.core.clock import iso
from engage.core.personal_data import PersonalDataKind
from engage.extensions import db
from engage.payments import receipts
from engage.payments.models import (
    ActivitySupport,
    BenefitsNoticeView,
    Claim,
    ClaimEvent,
    ClaimState,
    LedgerEntry,
    PaymentPreference,
    PayoutBatch,
    PayrollExport,
    PolicyVersion,
    Receipt,
)
from engage.payments.retention import ON_CLOSE, PAYMENT_RECORDS_RULE

KEPT = "6 years after the end of the financial year, then pseudonymised (the law on " \
       "financial records); pseudonymised at once if you close your account."


def _preferences(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(PaymentPreference).where(PaymentPreference.user_id ==
                                                              user.id))
    return [{"choice": p.choice, "cap_pence": p.cap_pence, "route": p.route,
             "capacity": p.capacity, "payroll_number": p.payroll_number,
             "legal_name": p.legal_name,
             "access_needs_taxi": p.access_needs_taxi,
             "bank_account_connected": p.stripe_onboarded} for p in rows]


def _erase_preferences(user) -> None:
    db.session.execute(delete(PaymentPreference).where(PaymentPreference.user_id == user.id))


def _notice_views(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(BenefitsNoticeView).where(BenefitsNoticeView.user_id ==
                                                               user.id))
    return [{"notice_version": v.notice_version, "shown_on": v.shown_on,
             "seen_at": iso(v.seen_at)} for v in rows]


def _erase_notice_views(user) -> None:
    db.session.execute(delete(BenefitsNoticeView).where(BenefitsNoticeView.user_id == user.id))


def _claims(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Claim).where(Claim.user_id == user.id))
    return [{"activity": c.activity_title, "activity_date": c.activity_date.isoformat(),
             "state": c.state, "involvement_pence": c.involvement_pence,
             "expenses_pence": c.expenses_pence, "declined_pence": c.declined_pence,
             "explanation": c.explanation,
             "expenses": [{"category": e.category, "date": e.expense_date.isoformat(),
                           "amount_pence": e.amount_pence, "miles": e.miles,
                           "description": e.description} for e in c.expenses],
             "history": [{"to_state": h.to_state, "reason": h.reason,
                          "at": iso(h.occurred_at)} for h in c.history]} for c in rows]


def _erase_claims(user) -> None:
    drafts = select(Claim.id).where(Claim.user_id == user.id,
                                    Claim.state.in_([ClaimState.DRAFT, ClaimState.RETURNED]))
    for claim in db.session.scalars(select(Claim).where(Claim.id.in_(drafts))):
        for receipt in db.session.scalars(select(Receipt).where(Receipt.claim_id == claim.id)):
            receipts.delete(receipt.stored_name)
        db.session.delete(claim)
    db.session.flush()
    db.session.execute(update(Claim).where(Claim.user_id == user.id).values(user_id=None))
    # A member of staff closing their account: the link goes, the name they acted under stays
    # on the payment record (late_override_by_name, ...) for as long as the record is kept.
    for column in (Claim.late_override_by_id, Claim.lead_approved_by_id,
                   Claim.finance_approved_by_id):
        db.session.execute(update(Claim).where(column == user.id).values({column.key: None}))


def _claim_events(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(ClaimEvent).where(ClaimEvent.actor_id == user.id))
    return [{"claim": e.claim_id, "to_state": e.to_state, "at": iso(e.occurred_at)}
            for e in rows]


def _erase_claim_events(user) -> None:
    # The staff name on the event (actor_name) stays with the payment record; a member's own
    # steps on their claim never carry a name.
    db.session.execute(update(ClaimEvent).where(ClaimEvent.actor_id == user.id)
                       .values(actor_id=None))


def _receipts(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Receipt).where(Receipt.uploaded_by_id == user.id))
    return [{"claim": r.claim_id, "type": r.content_type, "uploaded_at": iso(r.uploaded_at)}
            for r in rows]


def _erase_receipts(user) -> None:
    db.session.execute(update(Receipt).where(Receipt.uploaded_by_id == user.id)
                       .values(uploaded_by_id=None))


def _ledger(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(LedgerEntry).where(LedgerEntry.user_id == user.id))
    return [{"type": e.entry_type, "category": e.category, "amount_pence": e.amount_pence,
             "at": iso(e.created_at)} for e in rows]


def _erase_ledger(user) -> None:
    # Pseudonymisation is the one change ever made to ledger rows (a bulk UPDATE).
    db.session.execute(update(LedgerEntry).where(LedgerEntry.user_id == user.id)
                       .values(user_id=None))
    db.session.execute(update(LedgerEntry).where(LedgerEntry.created_by_id == user.id)
                       .values(created_by_id=None))


def _support(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(ActivitySupport).where(ActivitySupport.user_id == user.id)
                              .order_by(ActivitySupport.id))
    return [{"kind": r.kind, "activity": r.activity_title,
             "activity_date": r.activity_date.isoformat(), "amount_pence": r.amount_pence,
             "route": r.route, "reference": r.reference, "description": r.description,
             "paid_on": r.paid_on.isoformat(), "recorded_at": iso(r.recorded_at),
             "withdrawn_at": iso(r.withdrawn_at)}
            for r in rows]


def _erase_support(user) -> None:
    # Payment records: kept without the link to the person, like claims.
    db.session.execute(update(ActivitySupport).where(ActivitySupport.user_id == user.id)
                       .values(user_id=None))
    db.session.execute(update(ActivitySupport).where(ActivitySupport.recorded_by_id == user.id)
                       .values(recorded_by_id=None))
    db.session.execute(update(ActivitySupport).where(ActivitySupport.withdrawn_by_id == user.id)
                       .values(withdrawn_by_id=None))


def _staff_records(user) -> list[dict[str, Any]]:
    return []


def _erase_staff_records(user) -> None:
    db.session.execute(update(PayoutBatch).where(PayoutBatch.created_by_id == user.id)
                       .values(created_by_id=None))
    db.session.execute(update(PayrollExport).where(PayrollExport.created_by_id == user.id)
                       .values(created_by_id=None))
    db.session.execute(update(PayrollExport).where(PayrollExport.confirmed_by_id == user.id)
                       .values(confirmed_by_id=None))
    db.session.execute(update(PolicyVersion).where(PolicyVersion.created_by_id == user.id)
                       .values(created_by_id=None))


KINDS = [
    PersonalDataKind("payment_preferences", "Your payment preferences",
                     "To pay you the way you chose, or not at all if you declined.",
                     "You and finance.", "Until you close your account.", _preferences,
                     _erase_preferences),
    PersonalDataKind("payment_notice_views", "When you saw the benefits and tax notice",
                     "To show we told you before you accepted payments.", "You and finance.",
                     "Until you close your account.", _notice_views, _erase_notice_views),
    PersonalDataKind("payment_claims", "Your payment claims and expenses",
                     "To pay you and keep the financial record the law requires.",
                     "You, the activity's lead and finance.", KEPT, _claims, _erase_claims,
                     retention=PAYMENT_RECORDS_RULE, on_close=ON_CLOSE),
    PersonalDataKind("payment_claim_events", "Decisions you made on claims (staff)",
                     "To show who approved what.", "Finance and admins.", KEPT, _claim_events,
                     _erase_claim_events, retention=PAYMENT_RECORDS_RULE, on_close=ON_CLOSE),
    PersonalDataKind("payment_receipts", "Receipts you uploaded",
                     "To check expenses.", "You and finance.", KEPT, _receipts, _erase_receipts,
                     retention=PAYMENT_RECORDS_RULE, on_close=ON_CLOSE),
    PersonalDataKind("payment_activity_support", "Advances paid to you and tickets booked for "
                     "you", "So nobody is out of pocket before an activity, and to take an "
                     "advance off your claim.", "You and finance.", KEPT, _support,
                     _erase_support, retention=PAYMENT_RECORDS_RULE, on_close=ON_CLOSE),
    PersonalDataKind("payment_ledger", "Payments made to you", "The financial record.",
                     "You and finance.", KEPT, _ledger, _erase_ledger,
                     retention=PAYMENT_RECORDS_RULE, on_close=ON_CLOSE),
    PersonalDataKind("payment_payout_batches", "Payment runs you started (staff)",
                     "Accountability.", "Finance.", KEPT, _staff_records, _erase_staff_records),
    PersonalDataKind("payment_payroll_exports", "Payroll exports you made (staff)",
                     "Accountability.", "Finance.", KEPT, _staff_records, lambda user: None),
    PersonalDataKind("payment_policy_versions", "Payment policy versions you added (staff)",
                     "Accountability.", "Admins.", "As long as the policy is kept.",
                     _staff_records, lambda user: None),
]
