"""Helpers for the payout tests: members with connected accounts, paying, reading results."""

from __future__ import annotations

from sqlalchemy import func, select

from engage.accounts.models import User
from engage.core.models import Notification
from engage.core.permissions import Role
from engage.extensions import db
from engage.payments import payouts, services
from engage.payments.models import Claim, LedgerEntry, Payout, ReconciliationFlag
from tests.factories import make_member, make_staff
from tests.factories_payments import approved_claim, connect_bank


def ready_claim(stripe_server, member=None, **kwargs) -> Claim:
    """An approved claim of a member whose bank account is connected through Stripe."""
    if member is None:
        member = make_member()
        connect_bank(member, stripe_server.add_account())
    claim = approved_claim(member, **kwargs)
    db.session.commit()
    return claim


def pay(*claims: Claim, finance=None):
    """Finance pays the claims by bank transfer and the worker sends them."""
    batch, problems = payouts.start_batch(finance or make_staff(Role.FINANCE),
                                          [c.id for c in claims])
    db.session.commit()
    assert problems == []
    payouts.process_batches()
    for claim in claims:
        db.session.refresh(claim)
    return batch


def user_of(claim: Claim) -> User:
    return db.session.get(User, claim.user_id)


def account_of(claim: Claim) -> str:
    return services.preferences_of(user_of(claim)).stripe_account_id


def payout_of(claim: Claim) -> Payout:
    db.session.expire_all()
    return db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))


def entries(claim: Claim, kind: str) -> list[int]:
    return list(db.session.scalars(select(LedgerEntry.amount_pence).where(
        LedgerEntry.claim_id == claim.id, LedgerEntry.entry_type == kind)
        .order_by(LedgerEntry.id)))


def flags() -> list[str]:
    return list(db.session.scalars(select(ReconciliationFlag.detail)
                                   .order_by(ReconciliationFlag.id)))


def messages_to(user_id: int) -> list[str]:
    return list(db.session.scalars(select(Notification.body).where(
        Notification.user_id == user_id).order_by(Notification.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))
