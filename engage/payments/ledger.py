"""The append-only ledger, in integer pence.

payable (+) when finance approves, payment (-) when money is sent, failure (+) when a payment
fails, reversal (+) when Stripe takes (part of) a transfer back, correction (the opposite of
the entry it reverses). Each business event has a dedupe key (unique), so retries and races
add an entry at most once.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engage.core import audit
from engage.core.unit_of_work import atomic
from engage.errors import InvalidState, NotFound, ValidationFailed
from engage.extensions import db
from engage.payments.models import Claim, LedgerEntry, LedgerEntryType


def _add(claim: Claim | None, entry_type: str, category: str, amount_pence: int, *,
         dedupe_key: str | None, actor_id: int | None = None, route: str | None = None,
         reference: str | None = None, reverses_id: int | None = None) -> LedgerEntry | None:
    if dedupe_key is not None and db.session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.dedupe_key == dedupe_key)
    ):
        return None
    entry = LedgerEntry(
        claim_id=claim.id if claim else None, user_id=claim.user_id if claim else None,
        entry_type=entry_type, category=category, amount_pence=amount_pence, route=route,
        reference=reference, reverses_id=reverses_id, dedupe_key=dedupe_key,
        created_by_id=actor_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:
        return None  # someone else recorded the same event a moment ago
    return entry


def record_payable(claim: Claim, actor, approval: int = 1) -> None:
    """What finance approved, per category. `approval` counts finance's approvals of this
    claim: after an approval is withdrawn (its entries reversed), the next one is recorded
    afresh."""
    round_key = "" if approval <= 1 else f":{approval}"
    by_category: dict[str, int] = defaultdict(int)
    if claim.involvement_pence:
        by_category["involvement"] += claim.involvement_pence
    for expense in claim.expenses:  # the amounts allowed when the claim was sent
        by_category[expense.category] += expense.allowed_pence
    for category, pence in by_category.items():
        if pence:
            _add(claim, LedgerEntryType.PAYABLE, category, pence,
                 dedupe_key=f"payable:{claim.id}:{category}{round_key}",
                 actor_id=actor.id if actor else None)


def record_advance(support, actor_id: int | None) -> LedgerEntry | None:
    """An advance is money sent before the activity (negative, like a payment). It belongs to
    the person, not yet to a claim: their claim for the activity takes it off what is paid."""
    entry = LedgerEntry(
        claim_id=None, user_id=support.user_id, entry_type=LedgerEntryType.ADVANCE,
        category="advance", amount_pence=-support.amount_pence, route=support.route,
        reference=(support.reference or "")[:120] or None, dedupe_key=f"advance:{support.id}",
        created_by_id=actor_id)
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:
        return None
    return entry


def record_payment(claim: Claim, pence: int, *, key: str, route: str, reference: str | None,
                   actor_id: int | None = None) -> LedgerEntry | None:
    return _add(claim, LedgerEntryType.PAYMENT, "payment", -pence, dedupe_key=f"payment:{key}",
                route=route, reference=reference, actor_id=actor_id)


def record_failure(claim: Claim, pence: int, *, key: str, route: str, reason: str,
                   actor_id: int | None = None) -> LedgerEntry | None:
    """A payment that failed: +pence if money had been recorded as sent, else a 0p record."""
    return _add(claim, LedgerEntryType.FAILURE, "payment", pence, dedupe_key=f"failure:{key}",
                route=route, reference=reason[:120], actor_id=actor_id)


def record_reversal(claim: Claim, pence: int, *, key: str, reference: str,
                    actor_id: int | None = None) -> LedgerEntry | None:
    """Stripe took back `pence` of a transfer (transfer.reversed, partial or full): that money
    is owed to the person again (+pence). `key` is Stripe's reversal id, so each lands once."""
    return _add(claim, LedgerEntryType.REVERSAL, "payment", pence,
                dedupe_key=f"reversal:{key}", route="stripe", reference=reference[:120],
                actor_id=actor_id)


@atomic
def reverse(actor, entry_id: int, reason: str) -> LedgerEntry:
    """Corrections are reversing entries; the original stays as it was."""
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None:
        raise NotFound("That ledger entry does not exist.")
    if entry.entry_type == LedgerEntryType.CORRECTION:
        raise InvalidState("A correction cannot itself be reversed: add a new entry instead.")
    if not (reason or "").strip():
        raise ValidationFailed("Give a reason for the correction.")
    claim = db.session.get(Claim, entry.claim_id) if entry.claim_id else None
    reversal = _add(claim, LedgerEntryType.CORRECTION, entry.category, -entry.amount_pence,
                    dedupe_key=f"reverses:{entry.id}", actor_id=actor.id, route=entry.route,
                    reference=reason.strip()[:120], reverses_id=entry.id)
    if reversal is None:
        raise InvalidState("This entry has already been reversed.")
    audit.record("payments.ledger_corrected", actor_id=actor.id, subject_type="payment_ledger",
                 subject_id=entry.id)
    return reversal


def reverse_payables(claim: Claim, actor, reason: str) -> list[LedgerEntry]:
    """Reverse every payable entry of the claim not reversed yet (an approval withdrawn)."""
    reversed_ids = select(LedgerEntry.reverses_id).where(
        LedgerEntry.claim_id == claim.id, LedgerEntry.reverses_id.is_not(None))
    open_entries = db.session.scalars(select(LedgerEntry).where(
        LedgerEntry.claim_id == claim.id, LedgerEntry.entry_type == LedgerEntryType.PAYABLE,
        LedgerEntry.id.not_in(reversed_ids)).order_by(LedgerEntry.id)).all()
    made = []
    for entry in open_entries:
        reversal = _add(claim, LedgerEntryType.CORRECTION, entry.category, -entry.amount_pence,
                        dedupe_key=f"reverses:{entry.id}", actor_id=actor.id if actor else None,
                        reference=reason[:120], reverses_id=entry.id)
        if reversal is not None:
            made.append(reversal)
    return made


def balance(claim_id: int | None = None) -> int:
    """What is owed (payable minus paid). Zero for a fully paid claim."""
    query = select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0))
    if claim_id is not None:
        query = query.where(LedgerEntry.claim_id == claim_id)
    return int(db.session.scalar(query) or 0)


def entries(claim_id: int | None = None, limit: int = 200) -> list[LedgerEntry]:
    query = select(LedgerEntry).order_by(LedgerEntry.id.desc()).limit(limit)
    if claim_id is not None:
        query = query.where(LedgerEntry.claim_id == claim_id)
    return list(db.session.scalars(query))


def paid_total(claim_id: int) -> int:
    """Money sent for the claim, net of failures and corrections of payments (positive)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0)).where(
            LedgerEntry.claim_id == claim_id, LedgerEntry.category == "payment"))
    return -int(total or 0)
