"""Paying approved claims: Stripe transfers in worker batches, payroll exports, other payments.

What each state means (docs/staff.md says it for finance, docs/members.md for members):
- claim "paying" / payout "pending" or "sending": Engage is sending the transfer to Stripe;
- claim "transferred" / payout "sent": Stripe made the transfer; the money is in the member's
  Stripe account, on its way to their bank. The member sees "Sent to your Stripe account",
  finance sees "Transferred";
- claim and payout "paid": Stripe's `payout.paid` for the bank payout that carried the transfer
  arrived (a signed Connect webhook), or finance recorded it paid another way;
- "payment failed": Stripe refused the transfer, the bank refused the payout (`payout.failed`),
  or Stripe took the whole transfer back (`transfer.reversed`). The claim is back with finance,
  with the reason; the member is told kindly what to do.

Nothing is ever paid twice:
- starting a payout moves the claim approved → paying with a conditional UPDATE, and the
  payout row is unique per claim, so double-clicks and two finance officers make one payout;
- the idempotency key is saved (committed) before Stripe is called, and a retry after a
  timeout or a killed worker reuses it, so Stripe returns the transfer it already made; but
  only while Stripe still remembers the key (24 hours): after that, Stripe is asked for the
  claim's transfers first (its transfer group, matched by the payout id in the metadata);
- what is sent is re-checked against the ledger just before the first call: a correction
  made after the payout was started stops it, and finance pays the new amount;
- ledger entries have unique dedupe keys, and each webhook event id is applied once;
- a webhook changes a payout only when its account, transfer and amount are the ones Engage
  sent; anything else is recorded, flagged for finance, and changes nothing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from engage.accounts.models import User
from engage.core import audit, clock
from engage.core.money import format_pence
from engage.core.notify import Message, notify
from engage.core.permissions import Role
from engage.core.unit_of_work import atomic
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.extensions import db
from engage.payments import gateway, ledger
from engage.payments.links import link
from engage.payments.models import (
    OTHER_PAYMENT_METHODS,
    UNSENT_PAYOUT_STATES,
    BatchState,
    Claim,
    ClaimEvent,
    ClaimState,
    LedgerEntry,
    PaymentPreference,
    PaymentRoute,
    Payout,
    PayoutBatch,
    PayoutMethod,
    PayoutState,
    PayrollExport,
    ReconciliationFlag,
    StripeWebhookEvent,
)
from engage.payments.services import is_finance, move, preferences_of

log = logging.getLogger("engage.payments")

PAYABLE_STATES = (ClaimState.APPROVED, ClaimState.PAYMENT_FAILED)
# The worker sends this many payouts between commits (each payout's key is committed first).
SEND_CHUNK = 50
# A payout still "sending" this long after its last call is not in flight: ask Stripe about it.
IN_FLIGHT = timedelta(minutes=10)


def _new_key(claim_id: int, attempt: int) -> str:
    return f"engage-claim-{claim_id}-attempt-{attempt}-{secrets.token_hex(8)}"


def amount_owed(claim: Claim) -> int:
    """What Engage still owes on an approved claim, from the append-only ledger: the payable
    amounts, less money sent, plus money that came back, with finance's corrections; less the
    advance paid before the activity (recorded against the person, not the claim). A payout
    sends exactly this, checked again just before it is sent."""
    return max(ledger.balance(claim.id) - (claim.advance_pence or 0), 0)


def _owed_by_claim(claims: list[Claim]) -> dict[int, int]:
    """amount_owed for many claims in one query."""
    sums = dict(db.session.execute(
        select(LedgerEntry.claim_id, func.coalesce(func.sum(LedgerEntry.amount_pence), 0))
        .where(LedgerEntry.claim_id.in_([c.id for c in claims]))
        .group_by(LedgerEntry.claim_id)).all())
    return {c.id: max(int(sums.get(c.id, 0)) - (c.advance_pence or 0), 0) for c in claims}


def _pounds(pence: int) -> str:
    return format_pence(pence)


def _sync(obj, **values) -> None:
    """Keep a loaded object in step with a bulk UPDATE without reading it back."""
    for key, value in values.items():
        set_committed_value(obj, key, value)


def _set_state(payout: Payout, from_states: Iterable[str], to_state: str, **values) -> bool:
    """Conditional move: only one of two simultaneous moves wins."""
    now = clock.now()
    values = {"state": to_state, "state_since": now, "updated_at": now, **values}
    result = db.session.execute(
        update(Payout).where(Payout.id == payout.id, Payout.state.in_(tuple(from_states)))
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    _sync(payout, **values)
    return True


def _move_quietly(claim: Claim, from_states, to_state: str, **kwargs) -> bool:
    """move(), but a claim already elsewhere is left as it is (webhooks and the worker)."""
    try:
        with db.session.begin_nested():
            move(claim, kwargs.pop("actor", None), from_states, to_state, **kwargs)
    except InvalidState:
        return False
    return True


def _note(claim: Claim, actor, reason: str) -> None:
    """A line in the claim's history that does not change its state."""
    db.session.add(ClaimEvent(claim_id=claim.id, actor_id=actor.id if actor else None,
                              from_state=claim.state, to_state=claim.state, reason=reason))


def _finance_people() -> list[User]:
    return [u for u in db.session.scalars(select(User).options(selectinload(User.roles))
                                          .where(User.is_disabled.is_(False)))
            if u.has_role(Role.FINANCE)]


def _tell_finance(claim: Claim, title: str, body: str, key: str) -> None:
    for person in _finance_people():
        notify(person, Message(title, body, link("payments.claim", claim_id=claim.id)),
               dedupe_key=f"{key}-{person.id}")


def _tell_member(claim: Claim, body: str, key: str) -> None:
    owner = db.session.get(User, claim.user_id) if claim.user_id else None
    if owner is not None:
        notify(owner, Message("Update on your payment claim", body,
                              link("payments.claim", claim_id=claim.id)), dedupe_key=key)


# ---------------------------------------------------------------------------------------------
# Starting, retrying and cancelling payouts (finance, in a request)
# ---------------------------------------------------------------------------------------------


def can_pay_by_bank() -> bool:
    """Bank transfers are offered only when Stripe is set up."""
    return gateway.is_configured()


def _check_bank_transfers(actor) -> None:
    if not is_finance(actor):
        raise NotAllowed("Only finance can pay claims.")
    if not can_pay_by_bank():
        raise InvalidState("Bank transfers are not set up on this site, so nothing was sent. "
                           "Record the payment another way (voucher, cash or payroll).")


def _bank_account_of(claim: Claim) -> str:
    owner = db.session.get(User, claim.user_id) if claim.user_id else None
    pref = preferences_of(owner) if owner else None
    if pref is None or not pref.stripe_account_id or not pref.stripe_onboarded:
        raise InvalidState("The member has not connected a bank account yet. They can do it "
                           "from their payments page; or record the payment another way.")
    return pref.stripe_account_id


def start_payout(actor, claim: Claim, batch: PayoutBatch | None) -> Payout:
    """Claim approved (or failed) → paying, with its payout row and idempotency key. For a
    claim whose bank payout failed while the money stayed in the member's Stripe account, it
    goes back to "transferred": Stripe pays that money out again once the bank details are
    right, and no second transfer is made."""
    _check_bank_transfers(actor)
    if claim.route != PaymentRoute.STRIPE:
        raise InvalidState("This member asked to be paid through payroll or by voucher, not "
                           "by bank transfer. Record the payment another way.")
    payout = db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))
    if payout is not None and payout.state not in (PayoutState.FAILED, PayoutState.CANCELLED):
        raise InvalidState("This claim is already being paid.")
    owed = amount_owed(claim)
    if payout is not None and payout.state == PayoutState.FAILED and payout.transfer_stands \
            and payout.bank_payout_id and owed == 0:
        return _wait_for_bank_again(actor, claim, payout, batch)
    if owed <= 0:
        raise InvalidState("Nothing is owed on this claim (see the ledger), so there is "
                           "nothing to send.")
    destination = _bank_account_of(claim)
    move(claim, actor, PAYABLE_STATES, ClaimState.PAYING, action="payments.payout_started")
    if payout is None:
        payout = Payout(claim_id=claim.id, batch_id=batch.id if batch else None,
                        route=PayoutMethod.STRIPE, amount_pence=owed,
                        state=PayoutState.PENDING, state_since=clock.now(), attempt=1,
                        idempotency_key=_new_key(claim.id, 1), destination=destination)
        try:
            with db.session.begin_nested():
                db.session.add(payout)
        except IntegrityError as error:
            raise InvalidState("This claim is already being paid.") from error
        return payout
    attempt = payout.attempt + 1
    if not _set_state(payout, [PayoutState.FAILED, PayoutState.CANCELLED], PayoutState.PENDING,
                      attempt=attempt, idempotency_key=_new_key(claim.id, attempt),
                      key_used_since=None, amount_pence=owed, failure_reason=None,
                      stripe_transfer_id=None, amount_reversed_pence=0, bank_payout_id=None,
                      destination=destination, route=PayoutMethod.STRIPE, reference=None,
                      batch_id=batch.id if batch else payout.batch_id):
        raise InvalidState("This claim is already being paid.")
    return payout


def _wait_for_bank_again(actor, claim: Claim, payout: Payout,
                         batch: PayoutBatch | None) -> Payout:
    if not _set_state(payout, [PayoutState.FAILED], PayoutState.SENT,
                      batch_id=batch.id if batch else payout.batch_id):
        raise InvalidState("This claim is already being paid.")
    move(claim, actor, [ClaimState.PAYMENT_FAILED], ClaimState.TRANSFERRED,
         reason="The money is still in the member's Stripe account: Stripe pays it to their "
                "bank again once their bank details are right.",
         action="payments.payout_retried")
    return payout


@atomic
def start_batch(actor, claim_ids: Iterable[int]) -> tuple[PayoutBatch, list[str]]:
    """Start a payout for each claim that can be paid by bank transfer, in one batch. A batch
    is made only when at least one payout starts: otherwise ValidationFailed, with why."""
    _check_bank_transfers(actor)
    batch: PayoutBatch | None = None
    problems = []
    for claim_id in claim_ids:
        claim = db.session.get(Claim, claim_id)
        if claim is None:
            continue
        try:
            with db.session.begin_nested():
                if batch is None:
                    batch = PayoutBatch(created_by_id=actor.id, state=BatchState.RUNNING, total=0)
                    db.session.add(batch)
                    db.session.flush()
                start_payout(actor, claim, batch)
        except (InvalidState, NotAllowed) as error:
            if batch is not None and batch.total == 0:
                batch = None  # its insert was rolled back with the savepoint
            problems.append(f"{claim.activity_title} (claim {claim.id}): {error.message}")
            continue
        batch.total += 1
    if batch is None:
        raise ValidationFailed("Nothing was paid. " + (" ".join(problems) or
                                                       "No claims were chosen."))
    audit.record("payments.payout_batch_started", actor_id=actor.id,
                 subject_type="payment_payout_batch", subject_id=batch.id, claims=batch.total)
    db.session.flush()
    _close_finished_batches()
    return batch, problems


def payout_of(claim: Claim) -> Payout | None:
    return db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))


def _transfer_at_stripe(payout: Payout) -> gateway.Transfer | None:
    """The transfer Stripe made for this attempt of this payout, if any (found through the
    claim's transfer group, so without the idempotency key)."""
    for transfer in gateway.transfers_for_claim(payout.claim_id):
        if (transfer.is_for(payout.id, payout.attempt)
                and transfer.destination == payout.destination
                and transfer.amount_pence == payout.amount_pence):
            return transfer
    return None


@atomic
def cancel_payout(actor, claim: Claim) -> str:
    """Cancel a payout that has not been sent; the claim goes back to "approved". A payout
    stuck in "sending" is cancelled only once Stripe confirms it has no transfer for it (if it
    has one, the payout is recorded as transferred instead). Returns what happened."""
    if not is_finance(actor):
        raise NotAllowed("Only finance can cancel payouts.")
    payout = payout_of(claim)
    if payout is None or payout.state not in UNSENT_PAYOUT_STATES:
        raise InvalidState("There is no unsent bank transfer to cancel on this claim.")
    if payout.state == PayoutState.SENDING:
        if clock.now() - payout.state_since < IN_FLIGHT:
            raise InvalidState("This payment is being sent to Stripe right now. Wait a few "
                               "minutes, then look again.")
        try:
            made = _transfer_at_stripe(payout)
        except (gateway.GatewayError, gateway.GatewayUnavailable, gateway.NotConfigured) as error:
            raise InvalidState("Engage could not check with Stripe whether this payment was "
                               "made, so it was not cancelled. Try again later.") from error
        if made is not None:
            _mark_sent(payout, claim, made)
            return "It had reached Stripe after all: it is now transferred, not cancelled."
    if not _set_state(payout, UNSENT_PAYOUT_STATES, PayoutState.CANCELLED):
        raise InvalidState("This payment moved on while you were looking: it was not "
                           "cancelled.")
    move(claim, actor, [ClaimState.PAYING], ClaimState.APPROVED,
         reason="Bank transfer cancelled before it was sent", action="payments.payout_cancelled")
    _close_finished_batches()
    return "Cancelled. Nothing was sent; the claim is back with the approved claims."


def batch_progress(batch: PayoutBatch) -> dict:
    counts = dict(db.session.execute(
        select(Payout.state, func.count()).where(Payout.batch_id == batch.id)
        .group_by(Payout.state)).all())
    done = counts.get(PayoutState.SENT, 0) + counts.get(PayoutState.PAID, 0)
    failed = counts.get(PayoutState.FAILED, 0)
    cancelled = counts.get(PayoutState.CANCELLED, 0)
    total = sum(counts.values())
    finished = done + failed + cancelled
    return {"total": total, "done": done, "failed": failed, "cancelled": cancelled,
            "waiting": total - finished,
            "percent": int(finished * 100 / total) if total else 100,
            "finished": batch.state == BatchState.DONE or total == finished}


def _close_finished_batches() -> None:
    running = select(PayoutBatch).where(PayoutBatch.state == BatchState.RUNNING)
    for batch in db.session.scalars(running):
        if batch_progress(batch)["waiting"] == 0:
            batch.state = BatchState.DONE
            batch.finished_at = clock.now()


# ---------------------------------------------------------------------------------------------
# Sending (the worker)
# ---------------------------------------------------------------------------------------------


def _record_transfer(payout: Payout, claim: Claim, transfer: gateway.Transfer) -> bool:
    """Stripe made the transfer: the payout is "sent" and the ledger has the payment. Returns
    whether the claim should now move to "transferred"."""
    if not _set_state(payout, UNSENT_PAYOUT_STATES, PayoutState.SENT,
                      stripe_transfer_id=transfer.id):
        recorded = db.session.scalar(select(Payout.stripe_transfer_id)
                                     .where(Payout.id == payout.id))
        if recorded == transfer.id:
            return False  # recorded already (by reconciliation, or another worker)
        # Cancelled while the call was under way, yet Stripe made the transfer: the money
        # did move. Record it and ask finance to look.
        _flag(f"late-transfer-{transfer.id}", claim.id,
              f"Stripe made transfer {transfer.id} ({_pounds(transfer.amount_pence)}) for claim "
              f"{claim.id} after its payout was cancelled. Take it back in Stripe, or record "
              "it as the payment.")
    ledger.record_payment(claim, transfer.amount_pence, key=f"{payout.id}:{payout.attempt}",
                          route=PaymentRoute.STRIPE, reference=transfer.id)
    return True


def _mark_sent(payout: Payout, claim: Claim, transfer: gateway.Transfer) -> None:
    """Stripe made the transfer: the money is in the member's Stripe account."""
    if _record_transfer(payout, claim, transfer):
        _claims_transferred([claim])


def _claims_transferred(claims: list[Claim]) -> None:
    """Claims being paid → "transferred", many at once (as services.move does for one: a
    conditional UPDATE, a history line and an audit record each; members are not notified:
    they are told when the money is in their bank)."""
    if not claims:
        return
    now = clock.now()
    moved = set(db.session.scalars(
        update(Claim).where(Claim.id.in_([c.id for c in claims]),
                            Claim.state == ClaimState.PAYING)
        .values(state=ClaimState.TRANSFERRED, updated_at=now).returning(Claim.id)
        .execution_options(synchronize_session=False)))
    for claim in claims:
        if claim.id not in moved:
            continue
        _sync(claim, state=ClaimState.TRANSFERRED, updated_at=now)
        db.session.add(ClaimEvent(claim_id=claim.id, actor_id=None,
                                  from_state=ClaimState.PAYING,
                                  to_state=ClaimState.TRANSFERRED, reason=None))
        audit.record("payments.payout_transferred", subject_type="payment_claim",
                     subject_id=claim.id, from_state=ClaimState.PAYING,
                     to_state=ClaimState.TRANSFERRED)


def _fail(payout: Payout, claim: Claim, reason: str, *, from_states=None,
          ledger_key: str | None = None, **values) -> bool:
    """The payout failed: back to finance with the reason (a 0p ledger record: no money moved
    back or forth here; reversals record their own amounts)."""
    from_states = from_states or [s for s in PayoutState if s != PayoutState.FAILED]
    if not _set_state(payout, from_states, PayoutState.FAILED, failure_reason=reason[:500],
                      **values):
        return False
    ledger.record_failure(claim, 0, key=ledger_key or f"{payout.id}:{payout.attempt}",
                          route=payout.route, reason=reason)
    _move_quietly(claim, [ClaimState.PAYING, ClaimState.TRANSFERRED, ClaimState.PAID],
                  ClaimState.PAYMENT_FAILED, reason=reason, action="payments.payout_failed",
                  paid_at=None)
    _tell_finance(claim, "A payment did not go through",
                  f"Claim {claim.id} could not be paid: {reason}",
                  f"payments-failed-{payout.id}-{payout.attempt}-{ledger_key or ''}")
    return True


def _send(payout: Payout, claim: Claim) -> str:
    """One call to Stripe for a payout already committed as "sending" with its key. "sent":
    the claim is to move to "transferred" (the caller moves them together)."""
    try:
        transfer = gateway.create_transfer(
            amount_pence=payout.amount_pence, destination=payout.destination or "",
            idempotency_key=payout.idempotency_key, claim_id=payout.claim_id,
            payout_id=payout.id, attempt=payout.attempt)
    except (gateway.GatewayUnavailable, gateway.NotConfigured):
        return "retry"  # left in "sending": the next run retries with the same key
    except gateway.GatewayError as error:
        _fail(payout, claim, error.reason, from_states=UNSENT_PAYOUT_STATES)
        return "failed"
    return "sent" if _record_transfer(payout, claim, transfer) else "recorded"


def _hold_changed_amounts(payouts: list[Payout], claims: dict[int, Claim]) -> list[Payout]:
    """Payouts about to be sent for the first time whose amount no longer matches what the
    ledger says is owed (a correction since) are stopped; the rest are returned."""
    owed = _owed_by_claim(list(claims.values()))
    ready = []
    for payout in payouts:
        claim = claims[payout.claim_id]
        if payout.state == PayoutState.PENDING and owed[claim.id] != payout.amount_pence:
            _fail(payout, claim,
                  f"Nothing was sent: the amount owed changed from "
                  f"{_pounds(payout.amount_pence)} to {_pounds(owed[claim.id])} after this "
                  "payment was started (a ledger correction). Check the claim, then pay it "
                  "again.", from_states=[PayoutState.PENDING])
            continue
        ready.append(payout)
    return ready


def _check_old_key(payout: Payout, claim: Claim) -> str:
    """A payout sent before whose key Stripe may have forgotten (24 hours) is looked up at
    Stripe first: the transfer it made is recorded ("recorded"), or a new key is saved for the
    next call ("send"). "later": Stripe could not be asked; never send blind."""
    if payout.state != PayoutState.SENDING or payout.key_used_since is None or (
            clock.now() - payout.key_used_since < gateway.KEY_REUSE_LIMIT):
        return "send"
    try:
        made = _transfer_at_stripe(payout)
    except (gateway.GatewayError, gateway.GatewayUnavailable, gateway.NotConfigured):
        return "later"
    if made is not None:
        _mark_sent(payout, claim, made)
        return "recorded"
    _set_state(payout, [PayoutState.SENDING], PayoutState.SENDING,
               idempotency_key=_new_key(claim.id, payout.attempt), key_used_since=clock.now())
    return "send"


def _load_chunk(ids: list[int]) -> tuple[list[Payout], dict[int, Claim]]:
    payouts = list(db.session.scalars(select(Payout).where(
        Payout.id.in_(ids), Payout.state.in_(UNSENT_PAYOUT_STATES)).order_by(Payout.id)))
    claims = {c.id: c for c in db.session.scalars(select(Claim).where(
        Claim.id.in_([p.claim_id for p in payouts])))}
    return payouts, claims


def _send_chunk(ids: list[int]) -> int:
    payouts, claims = _load_chunk(ids)
    ready, sent = [], 0
    for payout in _hold_changed_amounts(payouts, claims):
        verdict = _check_old_key(payout, claims[payout.claim_id])
        sent += verdict == "recorded"
        if verdict == "send":
            ready.append(payout)
    payouts = ready
    now = clock.now()
    first = [p.id for p in payouts if p.state == PayoutState.PENDING]
    if first:
        # Only a payout whose claim is still being paid is sent: finance may have withdrawn
        # the approval (which stops the payout) a moment ago.
        still_paying = select(Claim.id).where(Claim.state == ClaimState.PAYING)
        db.session.execute(update(Payout).where(Payout.id.in_(first),
                                                Payout.state == PayoutState.PENDING,
                                                Payout.claim_id.in_(still_paying))
                           .values(state=PayoutState.SENDING, state_since=now,
                                   key_used_since=func.coalesce(Payout.key_used_since, now),
                                   updated_at=now)
                           .execution_options(synchronize_session=False))
    db.session.commit()  # every key in the chunk is saved as (possibly) used before any call
    chosen = {p.id for p in payouts}
    payouts, claims = _load_chunk([i for i in ids if i in chosen])
    transferred = []
    for payout in payouts:
        if payout.state != PayoutState.SENDING:
            continue  # cancelled meanwhile
        if _send(payout, claims[payout.claim_id]) == "sent":
            transferred.append(claims[payout.claim_id])
    _claims_transferred(transferred)
    db.session.commit()  # the chunk's outcomes are kept before the next chunk is sent
    return sent + len(transferred)


def process_batches(worker_id: str = "") -> int:
    """Worker job: send every payout waiting to be sent, a chunk per commit, then close
    finished batches. A worker killed mid-chunk leaves those payouts "sending" with their
    saved keys; the next run sends them again with the same keys and Stripe answers with the
    transfers it already made."""
    sent = 0
    if gateway.is_configured():
        ids = list(db.session.scalars(select(Payout.id).where(
            Payout.state.in_(UNSENT_PAYOUT_STATES),
            Payout.route == PayoutMethod.STRIPE).order_by(Payout.id)))
        db.session.commit()  # ends the read: each chunk is sent in its own transaction
        for start in range(0, len(ids), SEND_CHUNK):
            sent += _send_chunk(ids[start:start + SEND_CHUNK])
    _close_finished_batches()
    db.session.commit()  # the finished batches, after the chunks each kept on their own
    return sent


# ---------------------------------------------------------------------------------------------
# Webhooks
# ---------------------------------------------------------------------------------------------


def _mismatch(event: dict, claim_id: int | None, detail: str) -> str:
    _flag(f"webhook-{event.get('id')}-{claim_id or ''}", claim_id,
          f"Stripe event {event.get('id')} ({event.get('type')}) was not applied: {detail}")
    log.warning("stripe event %s did not match what Engage sent", event.get("id"))
    return "mismatch"


def _payout_for_transfer(event: dict, transfer: gateway.Transfer) -> tuple[Payout | None, str]:
    """The payout this transfer belongs to, and "" when account, transfer id and amount all
    match what Engage sent; otherwise why not."""
    payout = db.session.scalar(select(Payout).where(Payout.stripe_transfer_id == transfer.id))
    if payout is None:
        named = str(transfer.metadata.get("engage_payout") or "")
        found = db.session.get(Payout, int(named)) if named.isdigit() else None
        if found is not None:
            return found, (f"it names payout {found.id}, but Engage recorded "
                           f"{found.stripe_transfer_id or 'no transfer'} for it, not "
                           f"{transfer.id}.")
        return None, ""
    if transfer.destination != payout.destination:
        return payout, (f"transfer {transfer.id} went to account {transfer.destination}, but "
                        f"Engage sent it to {payout.destination}.")
    if transfer.amount_pence != payout.amount_pence:
        return payout, (f"transfer {transfer.id} is for {_pounds(transfer.amount_pence)}, but "
                        f"Engage sent {_pounds(payout.amount_pence)}.")
    return payout, ""


def _on_transfer_reversed(event: dict, obj: dict) -> str:
    transfer = gateway.transfer_from(obj)
    payout, problem = _payout_for_transfer(event, transfer)
    if event.get("account"):
        problem = "a transfer event came from a connected account, not from the platform."
    if payout is None:
        return "unknown transfer"
    if problem:
        return _mismatch(event, payout.claim_id, problem)
    return _record_reversal(payout, transfer)


def _record_reversal(payout: Payout, transfer: gateway.Transfer, actor=None, *,
                     quiet: bool = False) -> str:
    """Stripe has taken back `transfer.amount_reversed_pence` in all: record what is new."""
    taken = transfer.amount_reversed_pence - payout.amount_reversed_pence
    if taken <= 0:
        return "already recorded"
    claim = db.session.get(Claim, payout.claim_id)
    latest = transfer.reversals[0].id if transfer.reversals else transfer.id
    ledger.record_reversal(claim, taken, key=f"{transfer.id}:{transfer.amount_reversed_pence}",
                           reference=f"{latest} on {transfer.id}",
                           actor_id=actor.id if actor else None)
    db.session.execute(update(Payout).where(
        Payout.id == payout.id, Payout.amount_reversed_pence < transfer.amount_reversed_pence)
        .values(amount_reversed_pence=transfer.amount_reversed_pence, updated_at=clock.now())
        .execution_options(synchronize_session=False))
    _sync(payout, amount_reversed_pence=transfer.amount_reversed_pence)
    if transfer.reversed:
        reason = (f"Stripe took the whole transfer back ({_pounds(transfer.amount_pence)}): the "
                  "money is back with the organisation, not with the member.")
        if payout.route != PayoutMethod.STRIPE or not _fail(
                payout, claim, reason, ledger_key=f"reversed:{transfer.id}",
                from_states=[PayoutState.SENT, PayoutState.PAID]):
            _note(claim, actor, reason)
        if quiet:
            return "reversed"
        _tell_member(claim, f"There was a problem with your payment for '{claim.activity_title}'"
                     ". Finance is sorting it out and will be in touch if they need anything "
                     "from you.", f"payments-reversed-{payout.id}-{transfer.id}")
        return "reversed"
    _note(claim, actor, f"{_pounds(taken)} of this payment was taken back by Stripe "
                        f"({_pounds(transfer.standing_pence)} of it stands).")
    _flag(f"partial-{transfer.id}-{transfer.amount_reversed_pence}", claim.id,
          f"Stripe took back {_pounds(taken)} of transfer {transfer.id} (claim {claim.id}). "
          f"The ledger now shows {_pounds(amount_owed(claim))} owed: pay it, or correct the "
          "ledger if it was an overpayment.")
    _tell_finance(claim, "Part of a payment was taken back",
                  f"Stripe took back {_pounds(taken)} of the payment for claim {claim.id}.",
                  f"payments-partial-{transfer.id}-{transfer.amount_reversed_pence}")
    return "partly reversed"


def _bank_paid(payout: Payout, bank_payout_id: str, arrived: datetime) -> bool:
    """The bank payout carrying this payout's money arrived."""
    if payout.state == PayoutState.FAILED and payout.bank_payout_id == bank_payout_id:
        return False  # a late "paid" for the payout that then failed
    if not _set_state(payout, [PayoutState.SENT, PayoutState.FAILED], PayoutState.PAID,
                      bank_payout_id=bank_payout_id, failure_reason=None):
        return False
    claim = db.session.get(Claim, payout.claim_id)
    _move_quietly(claim, [ClaimState.TRANSFERRED, ClaimState.PAYMENT_FAILED], ClaimState.PAID,
                  action="payments.claim_paid", paid_at=arrived,
                  payment_reference=payout.stripe_transfer_id)
    return True


def _bank_failed(payout: Payout, bank_payout_id: str, why: str) -> bool:
    """The bank did not accept the payout: the money is back in the member's Stripe account."""
    claim = db.session.get(Claim, payout.claim_id)
    reason = (f"The member's bank did not accept Stripe's payout ({why}). The money is back in "
              "their Stripe account; once they have checked their bank details, choose 'Try "
              "again' and Stripe pays it out again.")
    if not _fail(payout, claim, reason, from_states=[PayoutState.SENT, PayoutState.PAID],
                 ledger_key=f"bank:{bank_payout_id}:{payout.id}", bank_payout_id=bank_payout_id):
        return False
    _tell_member(claim, f"We sent your payment for '{claim.activity_title}' to your Stripe "
                 "account, but your bank did not accept it. This can happen when bank details "
                 "have changed. Please check them: go to Your payments, then 'Bank account', "
                 "and choose 'Check your bank details with Stripe'. Your money is safe in "
                 "your Stripe account, and finance will send it on once the details are right.",
                 f"payments-bank-failed-{payout.id}-{bank_payout_id}")
    return True


def _on_bank_payout(event: dict, obj: dict) -> str:
    """payout.paid / payout.failed / payout.reconciliation_completed on a connected account."""
    account = event.get("account")
    if not account:
        return "ignored"  # the platform's own payouts to its bank
    if obj.get("reconciliation_status") not in (None, "completed"):
        return "waiting for reconciliation"  # payout.reconciliation_completed follows
    status = obj.get("status")
    if status not in ("paid", "failed"):
        return "in transit"
    bank_payout_id = str(obj.get("id") or "")
    arrived = min(datetime.fromtimestamp(int(obj.get("arrival_date") or 0), UTC), clock.now()) \
        if obj.get("arrival_date") else clock.now()
    why = obj.get("failure_message") or obj.get("failure_code") or "no reason given"
    try:
        carried = _payouts_carried(account, bank_payout_id)
    except gateway.GatewayError as error:
        return _mismatch(event, None, f"Stripe does not know payout {bank_payout_id} on "
                                      f"account {account} ({error.reason}).")
    changed, mismatched = 0, False
    for payout, problem in carried:
        if problem:
            mismatched = bool(_mismatch(event, payout.claim_id, problem))
        elif status == "paid":
            changed += _bank_paid(payout, bank_payout_id, arrived)
        else:
            changed += _bank_failed(payout, bank_payout_id, why)
    return "mismatch" if mismatched else f"{status}: {changed}"


def _payouts_carried(account: str, bank_payout_id: str) -> list[tuple[Payout, str]]:
    """Engage's payouts whose money this bank payout carried, each with "" or what does not
    match. Transfers that are not Engage's are left alone."""
    found = []
    for line in gateway.bank_payout_lines(account, bank_payout_id):
        if line.type == "payment" and line.transfer_id:
            payout = db.session.scalar(select(Payout).where(
                Payout.stripe_transfer_id == line.transfer_id))
            if payout is None:
                continue
            problem = ""
            if payout.destination != account:
                problem = (f"transfer {line.transfer_id} reached account {account}, but Engage "
                           f"sent it to {payout.destination}.")
            elif line.amount_pence != payout.amount_pence:
                problem = (f"transfer {line.transfer_id} arrived as "
                           f"{_pounds(line.amount_pence)}, but Engage sent "
                           f"{_pounds(payout.amount_pence)}.")
            found.append((payout, problem))
        elif line.type == "payout_failure" and line.failed_payout_id:
            # Money from an earlier payout that failed, carried again.
            found += [(p, "") for p in db.session.scalars(select(Payout).where(
                Payout.bank_payout_id == line.failed_payout_id,
                Payout.route == PayoutMethod.STRIPE, Payout.destination == account))]
    return found


def _on_account_updated(event: dict, obj: dict) -> str:
    if event.get("account") and obj.get("id") != event.get("account"):
        return _mismatch(event, None, "the account in the event is not the account it "
                                      "describes.")
    pref = db.session.scalar(select(PaymentPreference).where(
        PaymentPreference.stripe_account_id == obj.get("id")))
    if pref is None:
        return "unknown account"
    pref.stripe_onboarded = bool(obj.get("payouts_enabled") and obj.get("details_submitted"))
    return "account"


HANDLERS = {
    "transfer.reversed": _on_transfer_reversed,
    "payout.paid": _on_bank_payout,
    "payout.failed": _on_bank_payout,
    "payout.reconciliation_completed": _on_bank_payout,
    "account.updated": _on_account_updated,
}


def apply_webhook(event: dict) -> str:
    """Apply a verified Stripe event once. Returns what happened (for the log). Raises
    gateway.GatewayUnavailable when Stripe must be asked and cannot be: the caller answers
    with an error, nothing is kept, and Stripe sends the event again."""
    event_id = event.get("id")
    if not event_id:
        return "ignored"
    record = StripeWebhookEvent(stripe_event_id=event_id, event_type=event.get("type", ""),
                                account=event.get("account"))
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:
        return "duplicate"
    handler = HANDLERS.get(event.get("type", ""))
    obj = (event.get("data") or {}).get("object") or {}
    record.outcome = handler(event, obj) if handler else "ignored"
    return record.outcome


# ---------------------------------------------------------------------------------------------
# Other payments (payroll exports: engage/payments/payroll.py)
# ---------------------------------------------------------------------------------------------


def _take_back_from_stripe(actor, payout: Payout, claim: Claim) -> None:
    """Before paying another way: take back what still stands of the transfer, so the member
    is not paid twice (their bank payout failed, so the money sits in their Stripe account)."""
    standing = payout.amount_pence - payout.amount_reversed_pence
    try:
        reversal = gateway.reverse_transfer(
            payout.stripe_transfer_id or "", standing,
            f"engage-take-back-{payout.id}-{payout.attempt}")
    except (gateway.GatewayError, gateway.GatewayUnavailable, gateway.NotConfigured) as error:
        why = getattr(error, "reason", "") or "Stripe did not answer"
        raise InvalidState(f"The money is still in the member's Stripe account and Engage could "
                           f"not take it back ({why}), so nothing was recorded. Try again "
                           "later, or ask the member to check their bank details.") from error
    total = payout.amount_reversed_pence + reversal.amount_pence
    _record_reversal(payout, gateway.Transfer(
        id=payout.stripe_transfer_id or "", amount_pence=payout.amount_pence,
        destination=payout.destination or "", reversed=total >= payout.amount_pence,
        amount_reversed_pence=total, reversals=(reversal,)), actor, quiet=True)


@atomic
def record_manual_payment(actor, claim: Claim, reference: str,
                          method: str = PayoutMethod.VOUCHER) -> None:
    """Paid another way (voucher, cash or payroll), with its reference. A bank transfer still
    waiting to be sent must be cancelled first; money left in the member's Stripe account by a
    failed bank payout is taken back first."""
    if not is_finance(actor):
        raise NotAllowed("Only finance can record payments.")
    if method not in set(OTHER_PAYMENT_METHODS):
        raise ValidationFailed("Choose how it was paid: voucher, cash or payroll.")
    method = PayoutMethod(method)
    reference = (reference or "").strip()[:120]
    if not reference:
        raise ValidationFailed("Enter the voucher number or payment reference.")
    payout = payout_of(claim)
    if payout is not None and payout.state in UNSENT_PAYOUT_STATES:
        raise InvalidState("A bank transfer for this claim is waiting to be sent. Cancel it "
                           "first, then record the payment.")
    if claim.state not in PAYABLE_STATES:
        raise InvalidState(f"This claim is '{claim.finance_state_label}', so it cannot be "
                           "recorded as paid.")
    if payout is not None and payout.state == PayoutState.FAILED and payout.transfer_stands:
        _take_back_from_stripe(actor, payout, claim)
    amount = amount_owed(claim)
    if amount <= 0:
        raise InvalidState("Nothing is owed on this claim (see the ledger).")
    move(claim, actor, PAYABLE_STATES, ClaimState.PAID,
         reason=f"Paid by {method.label.lower()}: {reference}",
         action="payments.claim_paid_manually", paid_at=clock.now(),
         payment_reference=reference)
    if payout is None:
        payout = Payout(claim_id=claim.id, route=method, amount_pence=amount,
                        state=PayoutState.PAID, attempt=1, state_since=clock.now(),
                        idempotency_key=_new_key(claim.id, 1), reference=reference)
        db.session.add(payout)
        db.session.flush()
    else:
        # A Stripe transfer it had keeps its record (its id, amount and what was taken back),
        # so Stripe's later events about it still match and change nothing.
        values = {} if payout.stripe_transfer_id else {"amount_pence": amount}
        if not _set_state(payout, [PayoutState.FAILED, PayoutState.CANCELLED],
                          PayoutState.PAID, route=method, reference=reference, **values):
            raise InvalidState("This claim's payment moved on while you were looking.")
    ledger.record_payment(claim, amount, key=f"manual:{claim.id}", route=method,
                          reference=reference, actor_id=actor.id)


# ---------------------------------------------------------------------------------------------
# Payouts that have not moved, and reconciliation (nightly)
# ---------------------------------------------------------------------------------------------


def stuck_limits() -> tuple[int, int]:
    """How many hours a payout may wait to be sent, and how many days a transfer may wait for
    the bank, before finance is told (PAYOUT_STUCK_AFTER_HOURS, PAYOUT_BANK_WAIT_DAYS)."""
    config = current_app.config
    return config["PAYOUT_STUCK_AFTER_HOURS"], config["PAYOUT_BANK_WAIT_DAYS"]


def stuck_payouts() -> list[Payout]:
    """Payouts that have not moved in the set time: not sent, or sent and not yet in the bank."""
    unsent_hours, bank_days = stuck_limits()
    now = clock.now()
    return list(db.session.scalars(select(Payout).where(or_(
        Payout.state.in_(UNSENT_PAYOUT_STATES)
        & (Payout.state_since <= now - timedelta(hours=unsent_hours)),
        (Payout.state == PayoutState.SENT)
        & (Payout.state_since <= now - timedelta(days=bank_days)),
    )).order_by(Payout.state_since)))


def _flag(key: str, claim_id: int | None, detail: str) -> None:
    if db.session.scalar(select(ReconciliationFlag.id).where(ReconciliationFlag.check_key == key)):
        return
    try:
        with db.session.begin_nested():
            db.session.add(ReconciliationFlag(check_key=key[:120], claim_id=claim_id,
                                              detail=detail))
    except IntegrityError:
        pass


def _check_sending_at_stripe() -> int:
    """Payouts left "sending" (not in flight): record the transfer Stripe made, if any."""
    found = 0
    for payout in db.session.scalars(select(Payout).where(
            Payout.state == PayoutState.SENDING,
            Payout.state_since <= clock.now() - IN_FLIGHT)):
        try:
            made = _transfer_at_stripe(payout)
        except (gateway.GatewayError, gateway.GatewayUnavailable):
            continue  # flagged below if it stays stuck
        if made is not None:
            _mark_sent(payout, db.session.get(Claim, payout.claim_id), made)
            found += 1
    return found


def _flag_stuck() -> int:
    found = 0
    for payout in stuck_payouts():
        since = clock.to_london(payout.state_since).strftime("%-d %B %Y %H:%M")
        what = ("has not been sent" if payout.state in UNSENT_PAYOUT_STATES
                else "was transferred but Stripe has not said it reached the bank")
        _flag(f"stuck-{payout.id}-{payout.attempt}-{payout.state}", payout.claim_id,
              f"The payment for claim {payout.claim_id} {what}: it has been "
              f"'{payout.state_label}' since {since}.")
        found += 1
    return found


def _check_transfers_at_stripe() -> int:
    found = 0
    for payout in db.session.scalars(select(Payout).where(
            Payout.route == PayoutMethod.STRIPE, Payout.stripe_transfer_id.is_not(None),
            Payout.state.in_([PayoutState.SENT, PayoutState.PAID]))):
        try:
            transfer = gateway.retrieve_transfer(payout.stripe_transfer_id or "")
        except (gateway.GatewayError, gateway.GatewayUnavailable):
            _flag(f"missing-{payout.id}-{payout.attempt}", payout.claim_id,
                  f"Stripe has no transfer for payout {payout.id} (claim {payout.claim_id}).")
            found += 1
            continue
        if (transfer.amount_pence != payout.amount_pence
                or transfer.destination != payout.destination
                or transfer.amount_reversed_pence != payout.amount_reversed_pence):
            _flag(f"transfer-{transfer.id}-{transfer.amount_reversed_pence}", payout.claim_id,
                  f"Stripe transfer {transfer.id} ({_pounds(transfer.amount_pence)}, "
                  f"{_pounds(transfer.amount_reversed_pence)} taken back) does not match payout "
                  f"{payout.id} ({_pounds(payout.amount_pence)}, "
                  f"{_pounds(payout.amount_reversed_pence)} taken back).")
            found += 1
    return found


def reconcile(worker_id: str = "") -> int:
    """Compare the ledger with Stripe and payroll confirmations, look at payouts left
    "sending", and flag every difference and every payout that has not moved in the set time."""
    found = 0
    for claim in db.session.scalars(select(Claim).where(Claim.state == ClaimState.PAID)):
        paid = ledger.paid_total(claim.id)
        if paid != claim.to_pay_pence:
            _flag(f"paid-{claim.id}-{paid}", claim.id,
                  f"Claim {claim.id} is marked paid ({_pounds(claim.to_pay_pence)}) but the "
                  f"ledger shows {_pounds(paid)} paid.")
            found += 1
    if gateway.is_configured():
        _check_sending_at_stripe()
        found += _check_transfers_at_stripe()
    found += _flag_stuck()
    for export in db.session.scalars(select(PayrollExport).where(
            PayrollExport.confirmed_paid_at.is_not(None))):
        paid = sum(ledger.paid_total(c.id) for c in db.session.scalars(
            select(Claim).where(Claim.payroll_export_id == export.id)))
        if paid != export.total_pence:
            _flag(f"payroll-{export.id}-{paid}", None,
                  f"Payroll export {export.id} totals {_pounds(export.total_pence)} but the "
                  f"ledger shows {_pounds(paid)} paid.")
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
