"""Members connecting a bank account through Stripe Connect (Express), and checking it later.

Engage never sees bank details: the member gives them to Stripe on Stripe's own pages. Engage
keeps the connected account's id and whether Stripe says it can be paid.
"""

from __future__ import annotations

from engage.core import audit
from engage.errors import InvalidState
from engage.extensions import db
from engage.payments import gateway
from engage.payments.services import preferences_of

UNREACHABLE = ("We could not reach our payment provider. Please try again in a few minutes.")


def offered() -> bool:
    """Bank transfers are offered to members only when Stripe is set up."""
    return gateway.is_configured()


def _safe(url: str) -> str:
    """Only ever send a member on to Stripe's own pages."""
    if not gateway.is_connect_url(url):
        raise InvalidState(UNREACHABLE)
    return url


def start_connection(user, *, return_url: str, refresh_url: str) -> str:
    """The URL of Stripe's onboarding page for this member (their connected account is made
    the first time, and kept even if the link cannot be made this time)."""
    if not offered():
        raise InvalidState("Bank transfers are not set up on this site yet. Finance can pay "
                           "you by voucher or payroll instead.")
    pref = preferences_of(user)
    try:
        if not pref.stripe_account_id:
            pref.stripe_account_id = gateway.create_connected_account(user.id)
            db.session.add(pref)
            db.session.flush()
            audit.record("payments.bank_connection_started", actor_id=user.id,
                         subject_type="user", subject_id=user.id)
        url = gateway.onboarding_link(pref.stripe_account_id, return_url=return_url,
                                      refresh_url=refresh_url)
    except (gateway.GatewayError, gateway.GatewayUnavailable) as error:
        raise InvalidState(UNREACHABLE) from error
    return _safe(url)


def finish_connection(user) -> bool:
    """Back from Stripe: ask Stripe whether the account can now be paid."""
    pref = preferences_of(user)
    if not pref.stripe_account_id:
        return False
    try:
        pref.stripe_onboarded = gateway.account_ready(pref.stripe_account_id)
    except (gateway.GatewayError, gateway.GatewayUnavailable, gateway.NotConfigured):
        pref.stripe_onboarded = False
    db.session.add(pref)
    if pref.stripe_onboarded:
        audit.record("payments.bank_connected", actor_id=user.id, subject_type="user",
                     subject_id=user.id)
    return pref.stripe_onboarded


def details_url(user) -> str:
    """A one-time link to the member's Stripe Express dashboard, where they check or change
    the bank account Stripe pays into."""
    pref = preferences_of(user)
    if not offered() or not pref.stripe_account_id:
        raise InvalidState("You have not connected a bank account yet.")
    try:
        return _safe(gateway.dashboard_link(pref.stripe_account_id))
    except (gateway.GatewayError, gateway.GatewayUnavailable) as error:
        raise InvalidState(UNREACHABLE) from error
