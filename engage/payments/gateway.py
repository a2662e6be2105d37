"""The only code that talks to Stripe (the official `stripe` SDK).

Settings (app config, else environment): STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET,
STRIPE_API_BASE (default https://api.stripe.com; tests and the demo point it at the local
Stripe-compatible server), STRIPE_TIMEOUT_SECONDS (default 20).

The SDK's own retries are off: a payout that timed out is retried by the worker with the same
idempotency key, saved in the database before the first call.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from flask import current_app


class GatewayError(Exception):
    """Stripe refused the request (the money did not move). `reason` is safe to show finance."""

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class GatewayUnavailable(Exception):
    """No answer (timeout, network, Stripe 5xx): the request may or may not have happened.
    Retry later with the same idempotency key."""


class NotConfigured(Exception):
    pass


def _setting(name: str) -> str:
    """Stripe settings come from the app config (engage/config.py reads the environment)."""
    return str(current_app.config.get(name) or "")


def is_configured() -> bool:
    return bool(_setting("STRIPE_SECRET_KEY"))


_clients: dict[tuple[str, str, float], stripe.StripeClient] = {}


def _client() -> stripe.StripeClient:
    """One client (and so one pool of kept-alive connections) per key, base and timeout."""
    key = _setting("STRIPE_SECRET_KEY")
    if not key:
        raise NotConfigured("Stripe is not set up: set STRIPE_SECRET_KEY (see the README).")
    base = _setting("STRIPE_API_BASE") or "https://api.stripe.com"
    stripe.api_base = base  # also used by anything else reading the module setting
    timeout = current_app.config["STRIPE_TIMEOUT_SECONDS"]
    found = _clients.get((key, base, timeout))
    if found is None:
        found = _clients[(key, base, timeout)] = stripe.StripeClient(
            key, base_addresses={"api": base}, max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )
    return found


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except stripe.APIConnectionError as error:
        raise GatewayUnavailable("No answer from Stripe") from error
    except stripe.IdempotencyError as error:
        raise GatewayError("Stripe saw this payment key with different details: check the "
                           "payout before retrying.", "idempotency_error") from error
    except stripe.StripeError as error:
        status = getattr(error, "http_status", None) or 0
        if status >= 500 or status == 429:
            raise GatewayUnavailable(f"Stripe is unavailable ({status})") from error
        raise GatewayError(error.user_message or str(error.error.message if error.error else
                                                     error), getattr(error, "code", None)
                           ) from error


@dataclass(frozen=True)
class Transfer:
    id: str
    amount_pence: int
    destination: str
    reversed: bool


def create_connected_account(user_id: int) -> str:
    """An Express connected account; no personal details are sent (Stripe collects them)."""
    account = _call(_client().v1.accounts.create, {
        "type": "express", "country": "GB",
        "capabilities": {"transfers": {"requested": True}},
        "metadata": {"engage_user": str(user_id)},
    }, {"idempotency_key": f"engage-account-{user_id}"})
    return account.id


def onboarding_link(account_id: str, return_url: str, refresh_url: str) -> str:
    link = _call(_client().v1.account_links.create, {
        "account": account_id, "type": "account_onboarding",
        "return_url": return_url, "refresh_url": refresh_url,
    })
    return link.url


def account_ready(account_id: str) -> bool:
    account = _call(_client().v1.accounts.retrieve, account_id)
    data = account.to_dict()
    return bool(data.get("payouts_enabled") and data.get("details_submitted"))


def create_transfer(*, amount_pence: int, destination: str, idempotency_key: str,
                    claim_id: int, payout_id: int) -> Transfer:
    transfer = _call(_client().v1.transfers.create, {
        "amount": amount_pence, "currency": "gbp", "destination": destination,
        "transfer_group": f"claim-{claim_id}",
        "metadata": {"engage_claim": str(claim_id), "engage_payout": str(payout_id)},
    }, {"idempotency_key": idempotency_key})
    return Transfer(transfer.id, transfer.amount, transfer.destination,
                    bool(transfer.to_dict().get("reversed")))


def retrieve_transfer(transfer_id: str) -> Transfer:
    transfer = _call(_client().v1.transfers.retrieve, transfer_id)
    return Transfer(transfer.id, transfer.amount, transfer.destination,
                    bool(transfer.to_dict().get("reversed")))


def available_balance_pence() -> int:
    balance = _call(_client().v1.balance.retrieve)
    return sum(b.amount for b in balance.available if b.currency == "gbp")


def verify_webhook(payload: bytes, signature: str | None) -> dict:
    """The event, if the Stripe-Signature header matches the raw body; else ValueError."""
    secret = _setting("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise ValueError("STRIPE_WEBHOOK_SECRET is not set")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise ValueError("bad signature") from error
    return event.to_dict()
