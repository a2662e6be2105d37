"""A Stripe-compatible HTTP server on 127.0.0.1 for tests, benchmarks and the local demo.

It implements what Engage uses, with Stripe's behaviour, so the official SDK runs its real code
paths against it:
- POST/GET /v1/accounts, POST /v1/account_links (its page completes onboarding),
  POST /v1/accounts/{id}/login_links (a page standing in for the Express dashboard);
- POST/GET /v1/transfers (list filters: transfer_group, destination; cursor pagination with
  limit/starting_after/has_more), GET /v1/transfers/{id}, POST /v1/transfers/{id}/reversals
  (partial or full; `amount` optional), GET /v1/balance;
- on each connected account (the Stripe-Account header): the transfer arrives as a payment
  (py_, the transfer's destination_payment) with a balance transaction; GET /v1/balance,
  GET /v1/balance_transactions (filters payout, type; expand[]=data.source), GET /v1/payouts/{id};
- bank payouts, driven by the test (`pay_out`): one payout carries every balance transaction not
  yet paid out, `payout.created` then `payout.paid` or `payout.failed` (a failed payout's money
  comes back as a `payout_failure` balance transaction that the next payout carries);
- bearer-key authentication (401), form-encoded nested parameters, Stripe's error JSON
  ({"error": {"type", "code", "message", "param"}}) and status codes;
- idempotency keys, per account: the same key and parameters replay the first response (with
  the Idempotent-Replayed header); other parameters are a 400 idempotency_error; keys are
  forgotten after 24 hours of the server's clock (`advance` moves it on);
- faults on demand: `stall_next` accepts and performs a request, then stalls before answering
  (the client times out although Stripe did the work); `fail_next` answers with an error;
- signed webhooks: `Stripe-Signature: t=...,v1=HMAC-SHA256(secret, "t.body")`; events on a
  connected account carry `account` and are signed with the Connect endpoint's secret.
  Delivered by `deliver()` / `deliver_pending()` or automatically in the background.

Run it for the demo:  python -m tests.stripe_server --port 12111 \
    --webhook-url http://127.0.0.1:5000/payments/stripe/webhook --webhook-secret whsec_dev
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import html
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

DAY = 24 * 60 * 60
IDEMPOTENCY_SECONDS = DAY  # Stripe prunes keys once they are 24 hours old


def _listify(value: Any) -> Any:
    """{"0": a, "1": b} → [a, b] (Stripe's a[0]=..&a[1]=.. arrays), recursively."""
    if isinstance(value, dict):
        value = {k: _listify(v) for k, v in value.items()}
        if value and all(k.isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int)]
    return value


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's nested form encoding: a[b][c]=1 → {"a": {"b": {"c": "1"}}}, a[0]=x → [x]."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return _listify(result)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def error_body(kind: str, message: str, code: str | None = None,
               param: str | None = None) -> dict:
    body: dict[str, Any] = {"type": kind, "message": message}
    if code:
        body["code"] = code
    if param:
        body["param"] = param
    return {"error": body}


def missing(what: str, object_id: str, param: str = "id") -> tuple[int, dict]:
    return 404, error_body("invalid_request_error", f"No such {what}: '{object_id}'",
                           "resource_missing", param)


@dataclass
class Fault:
    path_prefix: str
    remaining: int
    stall_seconds: float = 0.0
    status: int = 0
    body: dict | None = None


@dataclass
class Connected:
    """What lives on one connected account."""

    charges: dict[str, dict] = field(default_factory=dict)  # py_: payments from transfers
    balance_transactions: list[dict] = field(default_factory=list)
    paid_out: dict[str, str] = field(default_factory=dict)  # balance transaction → payout
    payouts: dict[str, dict] = field(default_factory=dict)
    reversal_payments: dict[str, dict] = field(default_factory=dict)  # pyr_: money taken back


@dataclass
class State:
    accounts: dict[str, dict] = field(default_factory=dict)
    connected: dict[str, Connected] = field(default_factory=dict)
    transfers: dict[str, dict] = field(default_factory=dict)
    balance_pence: int = 10_000_000_00
    # (api key, account, idempotency key) → (request fingerprint, status, body, created)
    idempotency: dict[tuple[str, str, str], tuple[str, int, bytes, float]] = field(
        default_factory=dict)
    events: list[dict] = field(default_factory=list)
    delivered: set[str] = field(default_factory=set)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)


class StripeServer:
    """Start with `start()`; `api_base` is the URL to give the SDK."""

    def __init__(self, *, api_key_prefix: str = "sk_test_", webhook_url: str | None = None,
                 webhook_secret: str = "whsec_test",  # noqa: S107 - a test secret
                 connect_webhook_secret: str | None = None,
                 auto_webhooks: bool = False,
                 port: int = 0) -> None:
        self.state = State()
        self.lock = threading.RLock()
        self.api_key_prefix = api_key_prefix
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.connect_webhook_secret = connect_webhook_secret or webhook_secret
        self.auto_webhooks = auto_webhooks
        self.clock_offset = 0.0
        self._ids = itertools.count(1)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False  # never wait for a deliberately stalled answer
        self.thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> StripeServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        if self.auto_webhooks:
            threading.Thread(target=self._retry_webhooks, daemon=True).start()
        return self

    def _retry_webhooks(self) -> None:
        while True:
            time.sleep(5)
            self.deliver_pending()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- the server's clock -------------------------------------------------------------------

    def now(self) -> int:
        return int(time.time() + self.clock_offset)

    def advance(self, seconds: float) -> None:
        """Move the server's clock on (idempotency keys older than 24 hours are forgotten)."""
        with self.lock:
            self.clock_offset += seconds

    # -- test controls ------------------------------------------------------------------------

    def stall_next(self, path_prefix: str, seconds: float, count: int = 1) -> None:
        """Do the work of the next matching request(s), then stall before answering."""
        with self.lock:
            self.state.faults.append(Fault(path_prefix, count, stall_seconds=seconds))

    def fail_next(self, path_prefix: str, status: int, body: dict, count: int = 1) -> None:
        with self.lock:
            self.state.faults.append(Fault(path_prefix, count, status=status, body=body))

    def add_account(self, *, ready: bool = True) -> str:
        with self.lock:
            account = self._new_account({})
            if ready:
                account.update(details_submitted=True, payouts_enabled=True)
            return account["id"]

    def complete_onboarding(self, account_id: str) -> None:
        with self.lock:
            account = self.state.accounts[account_id]
            account.update(details_submitted=True, payouts_enabled=True)
            self._event("account.updated", dict(account), account=account_id)

    def reverse(self, transfer_id: str, amount: int | None = None) -> dict:
        """Take (part of) a transfer back, as a platform does from its dashboard."""
        with self.lock:
            status, body = self._reverse(transfer_id, {} if amount is None
                                         else {"amount": str(amount)})
            if status != 200:
                raise ValueError(body["error"]["message"])
            return body

    def pay_out(self, account_id: str, *, fail: str | None = None,
                reconciled: bool = True) -> dict | None:
        """Stripe's automatic payout: the account's whole available balance goes to its bank
        in one payout (`payout.created`), which then arrives (`payout.paid`) or fails
        (`payout.failed`, with `fail` as the failure code). `reconciled=False`: the payout's
        balance transactions are not listable yet; `complete_reconciliation` finishes it."""
        with self.lock:
            payout = self._create_payout(account_id, reconciled)
            if payout is not None:
                self.settle_payout(account_id, payout["id"], fail=fail)
            return payout

    def settle_payout(self, account_id: str, payout_id: str, *, fail: str | None = None) -> None:
        """The bank's answer for a payout: paid, or failed (even after it was paid: Stripe
        sends payout.failed up to a few days after payout.paid)."""
        with self.lock:
            connected = self.state.connected[account_id]
            payout = connected.payouts[payout_id]
            if fail is None:
                payout["status"] = "paid"
                self._event("payout.paid", dict(payout), account=account_id)
                return
            back = self._balance_transaction(account_id, "payout_failure", payout["amount"],
                                             payout_id)
            payout.update(status="failed", failure_code=fail,
                          failure_message=FAILURE_MESSAGES.get(fail, "The payout failed."),
                          failure_balance_transaction=back["id"])
            self._event("payout.failed", dict(payout), account=account_id)

    def pay_out_every(self, seconds: float) -> None:
        """Like Stripe's automatic payout schedule (the demo): every account with money in
        it is paid out to its bank, over and over."""
        while True:
            time.sleep(seconds)
            with self.lock:
                for account_id in list(self.state.connected):
                    self.pay_out(account_id)

    def complete_reconciliation(self, account_id: str, payout_id: str) -> None:
        with self.lock:
            payout = self.state.connected[account_id].payouts[payout_id]
            payout["reconciliation_status"] = "completed"
            self._event("payout.reconciliation_completed", dict(payout), account=account_id)

    def transfers_for(self, destination: str | None = None) -> list[dict]:
        with self.lock:
            return [t for t in self.state.transfers.values()
                    if destination is None or t["destination"] == destination]

    def account_balance(self, account_id: str) -> int:
        with self.lock:
            return sum(bt["amount"] for bt in self.state.connected[account_id]
                       .balance_transactions)

    def pending_events(self) -> list[dict]:
        with self.lock:
            return [e for e in self.state.events if e["id"] not in self.state.delivered]

    def deliver(self, event: dict, *, secret: str | None = None, url: str | None = None,
                client=None) -> int:
        """POST a signed event to the webhook URL (or through a Flask test client). Like Stripe,
        an event that was not answered with 2xx stays pending and is sent again later."""
        payload = json.dumps(event).encode()
        default = self.connect_webhook_secret if event.get("account") else self.webhook_secret
        header = sign(payload, secret or default)
        headers = {"Stripe-Signature": header, "Content-Type": "application/json"}
        if client is not None:
            status = client.post(url or "/payments/stripe/webhook", data=payload,
                                 headers=headers).status_code
        else:
            request = urllib.request.Request(  # noqa: S310 - a configured local URL
                url or self.webhook_url or "", data=payload, method="POST", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except (urllib.error.URLError, OSError):
                status = 0
        if 200 <= status < 300:
            with self.lock:
                self.state.delivered.add(event["id"])
        return status

    def deliver_pending(self, *, client=None, url: str | None = None) -> list[int]:
        return [self.deliver(e, client=client, url=url) for e in self.pending_events()]

    # -- Stripe objects -----------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}{secrets.token_hex(6)}"

    def _new_account(self, params: dict) -> dict:
        account = {
            "id": self._id("acct"), "object": "account", "type": params.get("type", "express"),
            "country": params.get("country", "GB"), "details_submitted": False,
            "payouts_enabled": False, "charges_enabled": False,
            "metadata": params.get("metadata", {}), "created": self.now(),
        }
        self.state.accounts[account["id"]] = account
        self.state.connected[account["id"]] = Connected()
        return account

    def _event(self, kind: str, obj: dict, *, account: str | None = None) -> dict:
        event = {"id": self._id("evt"), "object": "event", "type": kind,
                 "created": self.now(), "livemode": False, "api_version": "2024-06-20",
                 "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                 "data": {"object": json.loads(json.dumps(obj))}}
        if account is not None:
            event["account"] = account
        self.state.events.append(event)
        if self.auto_webhooks and self.webhook_url:
            threading.Timer(0.2, self.deliver, args=(event,)).start()
        return event

    def _balance_transaction(self, account_id: str, kind: str, amount: int,
                             source: str) -> dict:
        bt = {"id": self._id("txn"), "object": "balance_transaction", "amount": amount,
              "available_on": self.now(), "created": self.now(), "currency": "gbp",
              "description": None, "fee": 0, "fee_details": [], "net": amount,
              "reporting_category": {"payment": "charge", "payment_refund": "refund",
                                     "payout": "payout", "payout_failure": "payout_reversal"
                                     }.get(kind, kind),
              "source": source, "status": "available", "type": kind}
        self.state.connected[account_id].balance_transactions.append(bt)
        return bt

    def _create_transfer(self, params: dict) -> tuple[int, dict]:
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            return 400, error_body("invalid_request_error", "Invalid integer: amount",
                                   "parameter_invalid_integer", "amount")
        if amount <= 0:
            return 400, error_body("invalid_request_error",
                                   "This value must be greater than or equal to 1.",
                                   "parameter_invalid_integer", "amount")
        if params.get("currency", "").lower() != "gbp":
            return 400, error_body("invalid_request_error", "Invalid currency",
                                   "parameter_invalid_string", "currency")
        destination = params.get("destination", "")
        account = self.state.accounts.get(destination)
        if account is None:
            return 400, error_body("invalid_request_error",
                                   f"No such destination: '{destination}'",
                                   "resource_missing", "destination")
        if not account["payouts_enabled"]:
            return 400, error_body("invalid_request_error",
                                   "The destination account has not finished onboarding.",
                                   "account_invalid", "destination")
        if amount > self.state.balance_pence:
            return 400, error_body("invalid_request_error",
                                   "You have insufficient available funds in your Stripe "
                                   "account.", "balance_insufficient")
        self.state.balance_pence -= amount
        transfer_id, payment_id = self._id("tr"), self._id("py")
        bt = self._balance_transaction(destination, "payment", amount, payment_id)
        self.state.connected[destination].charges[payment_id] = {
            "id": payment_id, "object": "charge", "amount": amount, "amount_refunded": 0,
            "balance_transaction": bt["id"], "created": self.now(), "currency": "gbp",
            "paid": True, "source_transfer": transfer_id, "status": "succeeded"}
        transfer = {"id": transfer_id, "object": "transfer", "amount": amount,
                    "amount_reversed": 0, "balance_transaction": None, "created": self.now(),
                    "currency": "gbp", "description": None, "destination": destination,
                    "destination_payment": payment_id, "livemode": False,
                    "metadata": params.get("metadata", {}),
                    "reversals": {"object": "list", "data": [], "has_more": False,
                                  "total_count": 0,
                                  "url": f"/v1/transfers/{transfer_id}/reversals"},
                    "reversed": False, "source_transaction": None, "source_type": "card",
                    "transfer_group": params.get("transfer_group")}
        self.state.transfers[transfer_id] = transfer
        self._event("transfer.created", transfer)
        return 200, transfer

    def _reverse(self, transfer_id: str, params: dict) -> tuple[int, dict]:
        transfer = self.state.transfers.get(transfer_id)
        if transfer is None:
            return missing("transfer", transfer_id)
        left = transfer["amount"] - transfer["amount_reversed"]
        try:
            amount = int(params["amount"]) if params.get("amount") else left
        except ValueError:
            return 400, error_body("invalid_request_error", "Invalid integer: amount",
                                   "parameter_invalid_integer", "amount")
        if amount <= 0 or amount > left:
            return 400, error_body(
                "invalid_request_error",
                f"You have already reversed {transfer['amount_reversed']} of this transfer; "
                f"you can reverse at most {left} more.", "transfer_reversal_amount_invalid",
                "amount")
        account = transfer["destination"]
        if amount > self.account_balance(account):
            return 400, error_body("invalid_request_error",
                                   "The connected account has insufficient funds to cover "
                                   "this reversal.", "balance_insufficient")
        refund_id = self._id("pyr")
        self.state.connected[account].reversal_payments[refund_id] = {
            "id": refund_id, "object": "refund", "amount": amount,
            "charge": transfer["destination_payment"]}
        self._balance_transaction(account, "payment_refund", -amount, refund_id)
        self.state.balance_pence += amount
        reversal = {"id": self._id("trr"), "object": "transfer_reversal", "amount": amount,
                    "created": self.now(), "currency": "gbp",
                    "destination_payment_refund": refund_id, "metadata": {},
                    "transfer": transfer_id}
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        transfer["reversals"]["data"].insert(0, reversal)
        transfer["reversals"]["total_count"] += 1
        self._event("transfer.reversed", transfer)
        return 200, reversal

    def _create_payout(self, account_id: str, reconciled: bool) -> dict | None:
        connected = self.state.connected[account_id]
        carried = [bt for bt in connected.balance_transactions
                   if bt["id"] not in connected.paid_out and bt["type"] != "payout"]
        amount = sum(bt["amount"] for bt in carried)
        if amount <= 0:
            return None
        payout_id = self._id("po")
        own = self._balance_transaction(account_id, "payout", -amount, payout_id)
        for bt in [*carried, own]:
            connected.paid_out[bt["id"]] = payout_id
        payout = {"id": payout_id, "object": "payout", "amount": amount,
                  "arrival_date": self.now() + 2 * DAY, "automatic": True,
                  "balance_transaction": own["id"], "created": self.now(), "currency": "gbp",
                  "description": "STRIPE PAYOUT", "destination": "ba_test_6789",
                  "failure_balance_transaction": None, "failure_code": None,
                  "failure_message": None, "livemode": False, "metadata": {},
                  "method": "standard",
                  "reconciliation_status": "completed" if reconciled else "in_progress",
                  "source_type": "card", "statement_descriptor": None, "status": "in_transit",
                  "type": "bank_account"}
        connected.payouts[payout_id] = payout
        self._event("payout.created", payout, account=account_id)
        return payout

    # -- request handling ---------------------------------------------------------------------

    def _page(self, items: list[dict], params: dict, url: str) -> tuple[int, dict]:
        """Stripe's list envelope: newest first, `limit` (1-100, default 10), `starting_after`."""
        try:
            limit = max(1, min(int(params.get("limit") or 10), 100))
        except ValueError:
            return 400, error_body("invalid_request_error", "Invalid integer: limit",
                                   "parameter_invalid_integer", "limit")
        items = list(reversed(items))
        after = params.get("starting_after")
        if after:
            ids = [i["id"] for i in items]
            if after not in ids:
                return 400, error_body("invalid_request_error",
                                       f"No such object: '{after}'", "resource_missing",
                                       "starting_after")
            items = items[ids.index(after) + 1:]
        return 200, {"object": "list", "data": items[:limit], "has_more": len(items) > limit,
                     "url": url}

    def _expanded_source(self, account_id: str, bt: dict) -> dict:
        connected = self.state.connected[account_id]
        source = bt["source"]
        found = (connected.charges.get(source) or connected.payouts.get(source)
                 or connected.reversal_payments.get(source))
        return {**bt, "source": dict(found) if found else source}

    def _balance_transactions(self, account_id: str, params: dict) -> tuple[int, dict]:
        connected = self.state.connected[account_id]
        rows = connected.balance_transactions
        if params.get("payout"):
            payout = connected.payouts.get(params["payout"])
            if payout is None:
                return missing("payout", params["payout"], "payout")
            if payout["reconciliation_status"] != "completed":
                rows = []  # not reconciled yet: Stripe cannot say what it carried
            else:
                rows = [bt for bt in rows if connected.paid_out.get(bt["id"]) == payout["id"]]
        if params.get("type"):
            rows = [bt for bt in rows if bt["type"] == params["type"]]
        if "data.source" in (params.get("expand") or []):
            rows = [self._expanded_source(account_id, bt) for bt in rows]
        return self._page(rows, params, "/v1/balance_transactions")

    def handle(self, method: str, path: str, params: dict, host: str,
               account: str | None = None) -> tuple[int, dict]:
        parts = [p for p in urlparse(path).path.split("/") if p]
        if account is not None:
            if account not in self.state.accounts:
                return 403, error_body("invalid_request_error",
                                       "The provided key does not have access to account "
                                       f"'{account}' (or that account does not exist).")
            return self._handle_on_account(method, parts, params, account)
        if method == "POST" and parts == ["v1", "accounts"]:
            return 200, self._new_account(params)
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "accounts"]:
            account_obj = self.state.accounts.get(parts[2])
            return (200, account_obj) if account_obj else missing("account", parts[2])
        if method == "POST" and len(parts) == 4 and parts[1] == "accounts" and (
                parts[3] == "login_links"):
            if parts[2] not in self.state.accounts:
                return missing("account", parts[2], "account")
            return 200, {"object": "login_link", "created": self.now(),
                         "url": f"http://{host}/connect/express/{parts[2]}"}
        if method == "POST" and parts == ["v1", "account_links"]:
            account_id = params.get("account", "")
            if account_id not in self.state.accounts:
                return 400, error_body("invalid_request_error",
                                       f"No such account: '{account_id}'", "resource_missing",
                                       "account")
            query = urlencode({"return_url": params.get("return_url", "")})
            return 200, {"object": "account_link", "created": self.now(),
                         "expires_at": self.now() + 300,
                         "url": f"http://{host}/connect/onboard/{account_id}?{query}"}
        if parts == ["v1", "transfers"]:
            if method == "POST":
                return self._create_transfer(params)
            rows = [t for t in self.state.transfers.values()
                    if (not params.get("transfer_group")
                        or t["transfer_group"] == params["transfer_group"])
                    and (not params.get("destination")
                         or t["destination"] == params["destination"])]
            return self._page(rows, params, "/v1/transfers")
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "transfers"]:
            transfer = self.state.transfers.get(parts[2])
            return (200, transfer) if transfer else missing("transfer", parts[2])
        if method == "POST" and len(parts) == 4 and parts[1] == "transfers" and (
            parts[3] == "reversals"
        ):
            return self._reverse(parts[2], params)
        if method == "GET" and parts == ["v1", "balance"]:
            return 200, {"object": "balance", "livemode": False,
                         "available": [{"amount": self.state.balance_pence, "currency": "gbp"}],
                         "pending": [{"amount": 0, "currency": "gbp"}]}
        return 404, error_body("invalid_request_error",
                               f"Unrecognized request URL ({method}: {urlparse(path).path}).")

    def _handle_on_account(self, method: str, parts: list[str], params: dict,
                           account: str) -> tuple[int, dict]:
        """Requests made on a connected account (the Stripe-Account header)."""
        connected = self.state.connected[account]
        if method == "GET" and parts == ["v1", "balance_transactions"]:
            return self._balance_transactions(account, params)
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "payouts"]:
            payout = connected.payouts.get(parts[2])
            return (200, payout) if payout else missing("payout", parts[2])
        if method == "GET" and parts == ["v1", "balance"]:
            unpaid = sum(bt["amount"] for bt in connected.balance_transactions)
            return 200, {"object": "balance", "livemode": False,
                         "available": [{"amount": unpaid, "currency": "gbp"}],
                         "pending": [{"amount": 0, "currency": "gbp"}]}
        return 404, error_body("invalid_request_error",
                               f"Unrecognized request URL ({method}: /{'/'.join(parts)}).")

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.state.faults:
            if fault.remaining > 0 and urlparse(path).path.startswith(fault.path_prefix):
                fault.remaining -= 1
                return fault
        return None

    def _remembered(self, key: tuple[str, str, str]):
        found = self.state.idempotency.get(key)
        if found is not None and self.now() - found[3] >= IDEMPOTENCY_SECONDS:
            del self.state.idempotency[key]  # Stripe has forgotten it
            return None
        return found

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Answers go out at once: with Nagle's algorithm on, the body written after the
            # headers waits for the client's delayed ACK, about 40 ms a call.
            disable_nagle_algorithm = True

            def log_message(self, format, *args):  # quiet
                return

            def _send(self, status: int, body: bytes, headers: dict | None = None,
                      content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def do_GET(self):
                if self.path.startswith("/connect/"):
                    return self._connect_page("GET")
                self._api("GET")

            def do_POST(self):
                if self.path.startswith("/connect/"):
                    return self._connect_page("POST")
                self._api("POST")

            def _connect_page(self, method: str):
                """Stand-ins for Stripe's hosted onboarding and Express dashboard pages."""
                url = urlparse(self.path)
                kind, account_id = url.path.split("/")[2:4]
                with server.lock:
                    known = account_id in server.state.accounts
                if not known or kind not in ("onboard", "express"):
                    return self._send(404, b"Not found", content_type="text/plain")
                if kind == "onboard" and method == "POST":
                    length = int(self.headers.get("Content-Length") or 0)
                    form = dict(parse_qsl(self.rfile.read(length).decode()))
                    server.complete_onboarding(account_id)
                    self.send_response(303)
                    self.send_header("Location", form.get("return_url") or "/")
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                return_url = dict(parse_qsl(url.query)).get("return_url", "")
                self._send(200, connect_page(kind, account_id, return_url),
                           content_type="text/html; charset=utf-8")

            def _api(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer " + server.api_key_prefix):
                    body = error_body("invalid_request_error", "Invalid API Key provided.")
                    return self._send(401, json.dumps(body).encode())
                params = parse_form(raw if method == "POST" else urlparse(self.path).query)
                account = self.headers.get("Stripe-Account") or None
                key = self.headers.get("Idempotency-Key")
                fingerprint = hashlib.sha256(f"{method} {self.path} {raw}".encode()).hexdigest()
                memory = (auth, account or "", key or "")
                with server.lock:
                    server.state.requests.append((method, self.path))
                    fault = server._take_fault(self.path)
                    if fault is not None and fault.status:
                        return self._send(fault.status, json.dumps(fault.body).encode())
                    replay = server._remembered(memory) if key else None
                    if replay is not None:
                        if replay[0] != fingerprint:
                            body = error_body(
                                "idempotency_error",
                                "Keys for idempotent requests can only be used with the same "
                                "parameters they were first used with. Try using a key other "
                                f"than '{key}' if you meant to execute a different request.")
                            return self._send(400, json.dumps(body).encode())
                        status, body_bytes = replay[1], replay[2]
                        headers = {"Idempotent-Replayed": "true"}
                    else:
                        status, body = server.handle(method, self.path, params,
                                                     self.headers.get("Host", ""), account)
                        body_bytes = json.dumps(body).encode()
                        headers = {}
                        if key and method == "POST" and status < 500:
                            server.state.idempotency[memory] = (fingerprint, status,
                                                                body_bytes, server.now())
                if fault is not None and fault.stall_seconds:
                    time.sleep(fault.stall_seconds)  # the work is done; the answer is late
                self._send(status, body_bytes, headers)

        return Handler


FAILURE_MESSAGES = {
    "account_closed": "The bank account has been closed.",
    "no_account": "The bank account details on file are probably incorrect. No bank account "
                  "could be located with those details.",
    "account_frozen": "The bank account has been frozen.",
}


def connect_page(kind: str, account_id: str, return_url: str) -> bytes:
    """A plain page for onboarding (one button that finishes it and goes back) or the Express
    dashboard (shows the account)."""
    if kind == "onboard":
        title = "Test onboarding"
        body = (f'<p>Account {html.escape(account_id)}: enter your bank details (test mode).</p>'
                f'<form method="post"><input type="hidden" name="return_url" '
                f'value="{html.escape(return_url)}">'
                f'<button type="submit">Agree and submit</button></form>')
    else:
        title = "Test Express dashboard"
        body = f"<p>Account {html.escape(account_id)}: bank account ending 6789.</p>"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'</head><body><main><h1>{title}</h1>{body}</main></body></html>').encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", default="http://127.0.0.1:5000/payments/stripe/webhook")
    parser.add_argument("--webhook-secret", default="whsec_dev")
    parser.add_argument("--account", action="append", default=[],
                        help="connected account ids to create ready (for demo data)")
    parser.add_argument("--payout-every", type=float, default=30,
                        help="seconds between automatic bank payouts of every connected "
                             "account's balance (0: never)")
    args = parser.parse_args()
    server = StripeServer(port=args.port, webhook_url=args.webhook_url,
                          webhook_secret=args.webhook_secret, auto_webhooks=True)
    for account_id in args.account:
        server.state.accounts[account_id] = {
            "id": account_id, "object": "account", "type": "express", "country": "GB",
            "details_submitted": True, "payouts_enabled": True, "charges_enabled": False,
            "metadata": {}, "created": int(time.time())}
        server.state.connected[account_id] = Connected()
    print(f"Stripe-compatible test server on {server.api_base}; webhooks to {args.webhook_url}")
    server.start()
    if args.payout_every:
        threading.Thread(target=server.pay_out_every, args=(args.payout_every,),
                         daemon=True).start()
    try:
        server.thread.join()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
