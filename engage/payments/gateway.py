"""The only code that talks to Stripe (the official `stripe` SDK).

Settings (app config, read from the environment by engage/config.py): STRIPE_SECRET_KEY,
STRIPE_WEBHOOK_SECRET (the platform endpoint's signing secret), STRIPE_CONNECT_WEBHOOK_SECRET
(the Connect endpoint's, for events on the members' connected accounts; defaults to the first),
STRIPE_API_BASE (default https://api.stripe.com; tests and the demo point it at the local
Stripe-compatible server), STRIPE_CONNECT_ORIGIN (where onboarding and the Express dashboard
live: the only other origin a form may lead to; default https://connect.stripe.com, or the local
server's own origin when STRIPE_API_BASE points at one),
STRIPE_TIMEOUT_SECONDS (default 20).

The SDK's own retries are off: a payout that timed out is retried by the worker with the same
idempotency key, saved in the database before the first call, while Stripe still remembers it.

How money moves, and what Engage listens for:
- a transfer (tr_) moves money from the platform to the member's connected account, where it
  arrives as a payment (py_, the transfer's destination_payment) with a balance transaction;
- Stripe pays the connected account's balance out to the bank in payouts (po_), each of which may
  carry several transfers. `payout.paid` / `payout.failed` arrive on the Connect endpoint with
  the `account`; which transfers a payout carried is read from the balance transactions of that
  payout on that account (`payout=po_...`, each payment's source charge names its transfer);
- a payout that failed puts its money back on the account's balance (a `payout_failure`
  balance transaction, whose source is the failed payout), and a later payout carries it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import stripe
from flask import current_app

# The SDK logs every request at INFO: URLs only, but one line per payout drowns the log.
logging.getLogger("stripe").setLevel(logging.WARNING)

# Stripe forgets an idempotency key once it is 24 hours old. Engage reuses a key only well
# inside that; after it, the payout is looked up at Stripe before a new key is used.
KEY_REUSE_LIMIT = timedelta(hours=23)
DEFAULT_API_BASE = "https://api.stripe.com"
DEFAULT_CONNECT_ORIGIN = "https://connect.stripe.com"


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


def connect_origin() -> str:
    """scheme://host[:port] of Stripe's onboarding and Express dashboard pages: the setting,
    else Stripe's, else (a local Stripe-compatible server) the API's own origin."""
    base = _setting("STRIPE_API_BASE") or DEFAULT_API_BASE
    default = DEFAULT_CONNECT_ORIGIN if base == DEFAULT_API_BASE else base
    parts = urlsplit(_setting("STRIPE_CONNECT_ORIGIN") or default)
    return f"{parts.scheme}://{parts.netloc}"


def is_connect_url(url: str) -> bool:
    parts = urlsplit(url or "")
    return bool(parts.netloc) and f"{parts.scheme}://{parts.netloc}" == connect_origin()


_clients: dict[tuple[str, str, float], stripe.StripeClient] = {}


def _client() -> stripe.StripeClient:
    """One client (and so one pool of kept-alive connections) per key, base and timeout."""
    key = _setting("STRIPE_SECRET_KEY")
    if not key:
        raise NotConfigured("Stripe is not set up: set STRIPE_SECRET_KEY (see docs/operations.md).")
    base = _setting("STRIPE_API_BASE") or DEFAULT_API_BASE
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


# ---------------------------------------------------------------------------------------------
# Connected accounts
# ---------------------------------------------------------------------------------------------


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


def dashboard_link(account_id: str) -> str:
    """A one-time link into the member's Stripe Express dashboard (to change bank details)."""
    link = _call(_client().v1.accounts.login_links.create, account_id)
    return link.url


def account_ready(account_id: str) -> bool:
    account = _call(_client().v1.accounts.retrieve, account_id)
    data = account.to_dict()
    return bool(data.get("payouts_enabled") and data.get("details_submitted"))


# ---------------------------------------------------------------------------------------------
# Transfers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reversal:
    id: str
    amount_pence: int


@dataclass(frozen=True)
class Transfer:
    id: str
    amount_pence: int
    destination: str
    reversed: bool
    amount_reversed_pence: int = 0
    metadata: dict = field(default_factory=dict)
    reversals: tuple[Reversal, ...] = ()

    @property
    def standing_pence(self) -> int:
        """What is still with the connected account (not taken back)."""
        return self.amount_pence - self.amount_reversed_pence

    def is_for(self, payout_id: int, attempt: int | None = None) -> bool:
        meta = self.metadata or {}
        return meta.get("engage_payout") == str(payout_id) and (
            attempt is None or meta.get("engage_attempt", "1") == str(attempt))


def transfer_from(data: dict) -> Transfer:
    """A Transfer from Stripe's JSON (an API answer or a webhook's data.object)."""
    reversals = (data.get("reversals") or {}).get("data") or []
    return Transfer(
        id=str(data.get("id") or ""), amount_pence=int(data.get("amount") or 0),
        destination=str(data.get("destination") or ""), reversed=bool(data.get("reversed")),
        amount_reversed_pence=int(data.get("amount_reversed") or 0),
        metadata=dict(data.get("metadata") or {}),
        reversals=tuple(Reversal(str(r.get("id")), int(r.get("amount") or 0))
                        for r in reversals if r.get("id")),
    )


def transfer_group(claim_id: int) -> str:
    return f"claim-{claim_id}"


def create_transfer(*, amount_pence: int, destination: str, idempotency_key: str,
                    claim_id: int, payout_id: int, attempt: int = 1) -> Transfer:
    transfer = _call(_client().v1.transfers.create, {
        "amount": amount_pence, "currency": "gbp", "destination": destination,
        "transfer_group": transfer_group(claim_id),
        "metadata": {"engage_claim": str(claim_id), "engage_payout": str(payout_id),
                     "engage_attempt": str(attempt)},
    }, {"idempotency_key": idempotency_key})
    return transfer_from(transfer.to_dict())


def retrieve_transfer(transfer_id: str) -> Transfer:
    transfer = _call(_client().v1.transfers.retrieve, transfer_id)
    return transfer_from(transfer.to_dict())


def transfers_for_claim(claim_id: int) -> list[Transfer]:
    """Every transfer Stripe holds for this claim (its transfer group), all pages."""
    page = _call(_client().v1.transfers.list,
                 {"transfer_group": transfer_group(claim_id), "limit": 100})
    return [transfer_from(t.to_dict()) for t in _call(lambda: list(page.auto_paging_iter()))]


def reverse_transfer(transfer_id: str, amount_pence: int, idempotency_key: str) -> Reversal:
    """Take `amount_pence` of a transfer back from the connected account."""
    reversal = _call(_client().v1.transfers.reversals.create, transfer_id,
                     {"amount": amount_pence}, {"idempotency_key": idempotency_key})
    return Reversal(reversal.id, reversal.amount)


def available_balance_pence() -> int:
    balance = _call(_client().v1.balance.retrieve)
    return sum(b.amount for b in balance.available if b.currency == "gbp")


# ---------------------------------------------------------------------------------------------
# Bank payouts on connected accounts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BankPayoutLine:
    """One balance transaction carried by a bank payout."""

    type: str  # "payment": a transfer arriving; "payout_failure": an earlier failed payout's money
    amount_pence: int
    transfer_id: str | None = None  # for a payment: the transfer it came from
    failed_payout_id: str | None = None  # for a payout_failure: the payout that failed


def _id_of(value) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def _line(data: dict) -> BankPayoutLine:
    source = data.get("source")
    kind = str(data.get("type") or "")
    line = BankPayoutLine(kind, int(data.get("amount") or 0))
    if kind == "payment" and isinstance(source, dict):
        return BankPayoutLine(kind, line.amount_pence,
                              transfer_id=_id_of(source.get("source_transfer")))
    if kind == "payout_failure":
        return BankPayoutLine(kind, line.amount_pence, failed_payout_id=_id_of(source))
    return line


def bank_payout_lines(account_id: str, payout_id: str) -> list[BankPayoutLine]:
    """What a connected account's payout carried to the bank, with each payment's transfer."""
    page = _call(_client().v1.balance_transactions.list,
                 {"payout": payout_id, "limit": 100, "expand": ["data.source"]},
                 {"stripe_account": account_id})
    return [_line(bt.to_dict()) for bt in _call(lambda: list(page.auto_paging_iter()))]


# ---------------------------------------------------------------------------------------------
# Webhooks
# ---------------------------------------------------------------------------------------------


def verify_webhook(payload: bytes, signature: str | None) -> dict:
    """The event, if the Stripe-Signature header matches the raw body under the platform or
    the Connect endpoint's secret; else ValueError."""
    secrets = [s for s in (_setting("STRIPE_WEBHOOK_SECRET"),
                           _setting("STRIPE_CONNECT_WEBHOOK_SECRET")) if s]
    if not secrets:
        raise ValueError("STRIPE_WEBHOOK_SECRET is not set")
    for secret in dict.fromkeys(secrets):
        try:
            event = stripe.Webhook.construct_event(payload, signature, secret)
        except (stripe.SignatureVerificationError, ValueError):
            continue
        return event.to_dict()
    raise ValueError("bad signature")
