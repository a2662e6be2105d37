"""Paying approved claims: Stripe transfers in worker batches, payroll exports, vouchers.

Nothing is ever paid twice:
- starting a payout moves the claim approved → paying with a conditional UPDATE, and the
  payout row is unique per claim, so double-clicks and two finance officers make one payout;
- the idempotency key is saved (committed) before Stripe is called, and a retry after a
  timeout or a killed worker reuses it, so Stripe returns the transfer it already made;
- ledger entries have unique dedupe keys, and each webhook event id is applied once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from engage.accounts.models import User
from engage.core import audit, clock
from engage.core.notify import Message, notify
from engage.core.permissions import Role
from engage.core.unit_of_work import atomic
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.extensions import db
from engage.payments import gateway, ledger
from engage.payments.links import link
from engage.payments.models import (
    BatchState,
    Claim,
    ClaimState,
    PaymentPreference,
    PaymentRoute,
    Payout,
    PayoutBatch,
    PayoutState,
    PayrollExport,
    ReconciliationFlag,
    StripeWebhookEvent,
)
from engage.payments.services import is_finance, move, preferences_of

log = logging.getLogger("engage.payments")

PAYABLE_STATES = (ClaimState.APPROVED, ClaimState.PAYMENT_FAILED)


def _new_key(claim_id: int, attempt: int) -> str:
    return f"engage-claim-{claim_id}-attempt-{attempt}-{secrets.token_hex(8)}"


# ---------------------------------------------------------------------------------------------
# Starting payouts (finance, in a request)
# ---------------------------------------------------------------------------------------------


def start_payout(actor, claim: Claim, batch: PayoutBatch | None) -> Payout:
    """Claim approved (or failed) → paying, with its payout row and idempotency key."""
    if not is_finance(actor):
        raise NotAllowed("Only finance can pay claims.")
    if claim.route != PaymentRoute.STRIPE:
        raise InvalidState("This claim is paid through payroll or a voucher, not by bank "
                           "transfer.")
    if claim.to_pay_pence <= 0:
        raise InvalidState("There is nothing to pay on this claim.")
    owner = db.session.get(User, claim.user_id) if claim.user_id else None
    pref = preferences_of(owner) if owner else None
    if pref is None or not pref.stripe_account_id or not pref.stripe_onboarded:
        raise InvalidState("The member has not connected a bank account yet. They can do it "
                           "from their payments page; or pay by voucher.")
    was_failed = claim.state == ClaimState.PAYMENT_FAILED
    move(claim, actor, PAYABLE_STATES, ClaimState.PAYING, action="payments.payout_started")
    payout = db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))
    if payout is None:
        payout = Payout(claim_id=claim.id, batch_id=batch.id if batch else None,
                        route=PaymentRoute.STRIPE, amount_pence=claim.to_pay_pence,
                        state=PayoutState.PENDING, attempt=1,
                        idempotency_key=_new_key(claim.id, 1),
                        destination=pref.stripe_account_id)
        try:
            with db.session.begin_nested():
                db.session.add(payout)
        except IntegrityError as error:
            raise InvalidState("This claim is already being paid.") from error
    elif was_failed and payout.state == PayoutState.FAILED:
        attempt = payout.attempt + 1
        result = db.session.execute(
            update(Payout).where(Payout.id == payout.id, Payout.state == PayoutState.FAILED)
            .values(state=PayoutState.PENDING, attempt=attempt,
                    idempotency_key=_new_key(claim.id, attempt), failure_reason=None,
                    stripe_transfer_id=None, destination=pref.stripe_account_id,
                    batch_id=batch.id if batch else payout.batch_id, updated_at=clock.now())
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise InvalidState("This claim is already being paid.")
        db.session.refresh(payout)
    else:
        raise InvalidState("This claim is already being paid.")
    return payout


def start_batch(actor, claim_ids: Iterable[int]) -> tuple[PayoutBatch, list[str]]:
    if not is_finance(actor):
        raise NotAllowed("Only finance can pay claims.")
    batch = PayoutBatch(created_by_id=actor.id, state=BatchState.RUNNING, total=0)
    db.session.add(batch)
    db.session.flush()
    problems = []
    for claim_id in claim_ids:
        claim = db.session.get(Claim, claim_id)
        if claim is None:
            continue
        try:
            with db.session.begin_nested():
                start_payout(actor, claim, batch)
            batch.total += 1
        except (InvalidState, NotAllowed) as error:
            problems.append(f"{claim.activity_title} (claim {claim.id}): {error.message}")
    if batch.total == 0:
        batch.state = BatchState.DONE
        batch.finished_at = clock.now()
    audit.record("payments.payout_batch_started", actor_id=actor.id,
                 subject_type="payment_payout_batch", subject_id=batch.id, claims=batch.total)
    db.session.flush()
    return batch, problems


def batch_progress(batch: PayoutBatch) -> dict:
    counts = dict(db.session.execute(
        select(Payout.state, func.count()).where(Payout.batch_id == batch.id)
        .group_by(Payout.state)).all())
    done = counts.get(PayoutState.SENT, 0) + counts.get(PayoutState.PAID, 0)
    failed = counts.get(PayoutState.FAILED, 0)
    total = batch.total or sum(counts.values())
    finished = done + failed
    return {"total": total, "done": done, "failed": failed, "waiting": total - finished,
            "percent": int(finished * 100 / total) if total else 100,
            "finished": batch.state == BatchState.DONE}


# ---------------------------------------------------------------------------------------------
# Sending (the worker)
# ---------------------------------------------------------------------------------------------


def _mark_sent(payout: Payout, transfer_id: str) -> None:
    db.session.execute(
        update(Payout).where(Payout.id == payout.id,
                             Payout.state.in_([PayoutState.PENDING, PayoutState.SENDING]))
        .values(state=PayoutState.SENT, stripe_transfer_id=transfer_id, updated_at=clock.now())
        .execution_options(synchronize_session=False))
    db.session.refresh(payout)
    claim = db.session.get(Claim, payout.claim_id)
    ledger.record_payment(claim, payout.amount_pence,
                          key=f"{payout.id}:{payout.attempt}", route=PaymentRoute.STRIPE,
                          reference=transfer_id)


def _fail(payout: Payout, reason: str, *, money_had_moved: bool) -> None:
    result = db.session.execute(
        update(Payout).where(Payout.id == payout.id, Payout.state != PayoutState.FAILED)
        .values(state=PayoutState.FAILED, failure_reason=reason[:500], updated_at=clock.now())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return
    db.session.refresh(payout)
    claim = db.session.get(Claim, payout.claim_id)
    ledger.record_failure(claim, payout.amount_pence if money_had_moved else 0,
                          key=f"{payout.id}:{payout.attempt}", route=payout.route, reason=reason)
    try:
        with db.session.begin_nested():
            move(claim, None, [ClaimState.PAYING, ClaimState.PAID], ClaimState.PAYMENT_FAILED,
                 reason=reason, action="payments.payout_failed", paid_at=None)
    except InvalidState:
        pass
    for person in _finance_people():
        notify(person, Message("A payment did not go through",
                               f"Claim {claim.id} could not be paid: {reason}",
                               link("payments.claim", claim_id=claim.id)),
               dedupe_key=f"payments-failed-{payout.id}-{payout.attempt}-{person.id}")


def _finance_people() -> list[User]:
    return [u for u in db.session.scalars(select(User).options(selectinload(User.roles))
                                          .where(User.is_disabled.is_(False)))
            if u.has_role(Role.FINANCE)]


def send_payout(payout_id: int) -> str:
    """Send one payout. Commits before the call (key saved, state 'sending') and after it."""
    payout = db.session.get(Payout, payout_id)
    if payout is None or payout.state not in (PayoutState.PENDING, PayoutState.SENDING):
        return "skipped"
    if payout.state == PayoutState.PENDING:
        # Only a payout still pending whose claim is still being paid is sent: finance may have
        # withdrawn the approval (which marks the payout failed) a moment ago.
        still_paying = select(Claim.id).where(Claim.id == payout.claim_id,
                                              Claim.state == ClaimState.PAYING)
        started = db.session.execute(update(Payout).where(Payout.id == payout.id,
                                                          Payout.state == PayoutState.PENDING,
                                                          Payout.claim_id.in_(still_paying))
                                     .values(state=PayoutState.SENDING, updated_at=clock.now())
                                     .execution_options(synchronize_session=False))
        db.session.commit()  # claimed, with its idempotency key, before Stripe is called
        if started.rowcount != 1:
            return "skipped"
        db.session.refresh(payout)
    try:
        transfer = gateway.create_transfer(
            amount_pence=payout.amount_pence, destination=payout.destination or "",
            idempotency_key=payout.idempotency_key, claim_id=payout.claim_id,
            payout_id=payout.id)
    except gateway.GatewayUnavailable:
        db.session.rollback()  # nothing to keep: the claim on it was committed before the call
        return "retry"  # left in 'sending': the next run retries with the same key
    except gateway.GatewayError as error:
        _fail(payout, error.reason, money_had_moved=False)
        db.session.commit()  # each payout's outcome is kept as soon as it is known
        return "failed"
    _mark_sent(payout, transfer.id)
    db.session.commit()  # each payout's outcome is kept as soon as it is known
    return "sent"


def process_batches(worker_id: str = "") -> int:
    """Worker job: send every payout waiting to be sent, then close finished batches."""
    if not gateway.is_configured():
        return 0
    ids = list(db.session.scalars(select(Payout.id).where(
        Payout.state.in_([PayoutState.PENDING, PayoutState.SENDING]),
        Payout.route == PaymentRoute.STRIPE).order_by(Payout.id)))
    db.session.commit()  # ends the read: each payout is sent in its own transaction
    sent = 0
    for payout_id in ids:
        if send_payout(payout_id) == "sent":
            sent += 1
    running = select(PayoutBatch).where(PayoutBatch.state == BatchState.RUNNING)
    for batch in db.session.scalars(running):
        if batch_progress(batch)["waiting"] == 0:
            batch.state = BatchState.DONE
            batch.finished_at = clock.now()
    db.session.commit()  # the finished batches, after the payouts each kept on their own
    return sent


# ---------------------------------------------------------------------------------------------
# Webhooks
# ---------------------------------------------------------------------------------------------


def _payout_for_transfer(obj: dict) -> Payout | None:
    payout = db.session.scalar(select(Payout).where(Payout.stripe_transfer_id == obj.get("id")))
    if payout is None:
        payout_id = (obj.get("metadata") or {}).get("engage_payout")
        if payout_id and str(payout_id).isdigit():
            payout = db.session.get(Payout, int(payout_id))
    return payout


def _mark_paid(payout: Payout, transfer_id: str) -> None:
    if payout.state in (PayoutState.PENDING, PayoutState.SENDING):
        _mark_sent(payout, transfer_id)
    result = db.session.execute(
        update(Payout).where(Payout.id == payout.id, Payout.state == PayoutState.SENT)
        .values(state=PayoutState.PAID, updated_at=clock.now())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return
    claim = db.session.get(Claim, payout.claim_id)
    try:
        with db.session.begin_nested():
            move(claim, None, [ClaimState.PAYING], ClaimState.PAID,
                 action="payments.claim_paid", paid_at=clock.now(),
                 payment_reference=transfer_id)
    except InvalidState:
        pass


def apply_webhook(event: dict) -> str:
    """Apply a verified Stripe event once. Returns what happened (for the log)."""
    event_id = event.get("id")
    if not event_id:
        return "ignored"
    try:
        with db.session.begin_nested():
            db.session.add(StripeWebhookEvent(stripe_event_id=event_id,
                                              event_type=event.get("type", "")))
    except IntegrityError:
        return "duplicate"
    kind = event.get("type", "")
    obj = (event.get("data") or {}).get("object") or {}
    if kind in ("transfer.created", "transfer.paid"):
        payout = _payout_for_transfer(obj)
        if payout is None:
            return "unknown transfer"
        if obj.get("amount") != payout.amount_pence:
            _flag(f"webhook-amount-{obj.get('id')}", payout.claim_id,
                  f"Stripe transfer {obj.get('id')} is for {obj.get('amount')}p but the payout "
                  f"is for {payout.amount_pence}p.")
        _mark_paid(payout, obj.get("id"))
        return "paid"
    if kind in ("transfer.reversed", "transfer.failed"):
        payout = _payout_for_transfer(obj)
        if payout is None:
            return "unknown transfer"
        _fail(payout, "Stripe reversed the transfer" if kind == "transfer.reversed"
              else "Stripe could not make the transfer",
              money_had_moved=payout.state in (PayoutState.SENT, PayoutState.PAID))
        return "failed"
    if kind == "account.updated":
        pref = db.session.scalar(select(PaymentPreference).where(
            PaymentPreference.stripe_account_id == obj.get("id")))
        if pref is not None:
            pref.stripe_onboarded = bool(obj.get("payouts_enabled")
                                         and obj.get("details_submitted"))
        return "account"
    return "ignored"


# ---------------------------------------------------------------------------------------------
# Manual payments (payroll exports: engage/payments/payroll.py)
# ---------------------------------------------------------------------------------------------


@atomic
def record_manual_payment(actor, claim: Claim, reference: str) -> None:
    """A voucher or other manual payment, with its reference."""
    if not is_finance(actor):
        raise NotAllowed("Only finance can record payments.")
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed("Enter the voucher number or payment reference.")
    if claim.to_pay_pence <= 0:
        raise InvalidState("There is nothing to pay on this claim.")
    move(claim, actor, PAYABLE_STATES, ClaimState.PAID, reason=f"Paid: {reference}",
         action="payments.claim_paid_manually", paid_at=clock.now(),
         payment_reference=reference[:120])
    payout = db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))
    if payout is None:
        payout = Payout(claim_id=claim.id, route=PaymentRoute.VOUCHER,
                        amount_pence=claim.to_pay_pence, state=PayoutState.PAID, attempt=1,
                        idempotency_key=_new_key(claim.id, 1), reference=reference[:120])
        db.session.add(payout)
        db.session.flush()
    ledger.record_payment(claim, claim.to_pay_pence, key=f"manual:{claim.id}",
                          route=PaymentRoute.VOUCHER, reference=reference[:120],
                          actor_id=actor.id)


# ---------------------------------------------------------------------------------------------
# Reconciliation (nightly)
# ---------------------------------------------------------------------------------------------


def _flag(key: str, claim_id: int | None, detail: str) -> None:
    if db.session.scalar(select(ReconciliationFlag.id).where(ReconciliationFlag.check_key == key)):
        return
    try:
        with db.session.begin_nested():
            db.session.add(ReconciliationFlag(check_key=key, claim_id=claim_id, detail=detail))
    except IntegrityError:
        pass


def reconcile(worker_id: str = "") -> int:
    """Compare the ledger with Stripe and payroll confirmations; flag every difference."""
    found = 0
    for claim in db.session.scalars(select(Claim).where(Claim.state == ClaimState.PAID)):
        paid = ledger.paid_total(claim.id)
        if paid != claim.to_pay_pence:
            _flag(f"paid-{claim.id}-{paid}", claim.id,
                  f"Claim {claim.id} is marked paid ({claim.to_pay_pence}p) but the ledger shows "
                  f"{paid}p paid.")
            found += 1
    if gateway.is_configured():
        for payout in db.session.scalars(select(Payout).where(
                Payout.route == PaymentRoute.STRIPE,
                Payout.state.in_([PayoutState.SENT, PayoutState.PAID]))):
            try:
                transfer = gateway.retrieve_transfer(payout.stripe_transfer_id or "")
            except (gateway.GatewayError, gateway.GatewayUnavailable):
                _flag(f"missing-{payout.id}-{payout.attempt}", payout.claim_id,
                      f"Stripe has no transfer for payout {payout.id} (claim {payout.claim_id}).")
                found += 1
                continue
            if transfer.amount_pence != payout.amount_pence or transfer.reversed:
                _flag(f"transfer-{transfer.id}", payout.claim_id,
                      f"Stripe transfer {transfer.id} ({transfer.amount_pence}p"
                      f"{', reversed' if transfer.reversed else ''}) does not match payout "
                      f"{payout.id} ({payout.amount_pence}p).")
                found += 1
    for export in db.session.scalars(select(PayrollExport).where(
            PayrollExport.confirmed_paid_at.is_not(None))):
        paid = sum(ledger.paid_total(c.id) for c in db.session.scalars(
            select(Claim).where(Claim.payroll_export_id == export.id)))
        if paid != export.total_pence:
            _flag(f"payroll-{export.id}-{paid}", None,
                  f"Payroll export {export.id} totals {export.total_pence}p but the ledger shows "
                  f"{paid}p paid.")
            found += 1
    return found


@atomic
def resolve_flag(actor, flag_id: int) -> None:
    flag = db.session.get(ReconciliationFlag, flag_id)
    if flag is None:
        raise NotFound("That difference does not exist.")
    flag.resolved_at = clock.now()
    audit.record("payments.reconciliation_resolved", actor_id=actor.id,
                 subject_type="payment_reconciliation_flag", subject_id=flag.id)

