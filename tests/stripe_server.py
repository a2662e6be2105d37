"""A Stripe-compatible HTTP server on 127.0.0.1 for tests, benchmarks and the local demo.

It implements what Engage uses, with Stripe's behaviour:
- POST/GET /v1/accounts, POST /v1/account_links (the link's page completes onboarding),
  POST/GET /v1/transfers, POST /v1/transfers/{id}/reversals, GET /v1/balance;
- bearer-key authentication (401), form-encoded nested parameters, Stripe's error JSON
  ({"error": {"type", "code", "message", "param"}}) and status codes;
- idempotency keys: the same key and parameters replay the first response (with the
  Idempotent-Replayed header); the same key with other parameters is a 400 idempotency_error;
- faults on demand: `stall_next` accepts and performs a request, then stalls before answering
  (the client times out although Stripe did the work); `fail_next` answers with an error;
- signed webhooks: `Stripe-Signature: t=...,v1=HMAC-SHA256(secret, "t.body")`, delivered by
  `deliver()` / `deliver_pending()` or automatically in the background.

Run it for the demo:  python -m tests.stripe_server --port 12111 \
    --webhook-url http://127.0.0.1:5000/payments/stripe/webhook --webhook-secret whsec_dev
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
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


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's nested form encoding: a[b][c]=1 → {"a": {"b": {"c": "1"}}}."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result


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


@dataclass
class Fault:
    path_prefix: str
    remaining: int
    stall_seconds: float = 0.0
    status: int = 0
    body: dict | None = None


@dataclass
class State:
    accounts: dict[str, dict] = field(default_factory=dict)
    transfers: dict[str, dict] = field(default_factory=dict)
    balance_pence: int = 10_000_000_00
    idempotency: dict[tuple[str, str], tuple[str, int, bytes]] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    delivered: set[str] = field(default_factory=set)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)


class StripeServer:
    """Start with `start()`; `api_base` is the URL to give the SDK."""

    def __init__(self, *, api_key_prefix: str = "sk_test_", webhook_url: str | None = None,
                 webhook_secret: str = "whsec_test",  # noqa: S107 - a test secret
                 auto_webhooks: bool = False,
                 port: int = 0) -> None:
        self.state = State()
        self.lock = threading.RLock()
        self.api_key_prefix = api_key_prefix
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.auto_webhooks = auto_webhooks
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
            self._event("account.updated", dict(account))

    def reverse(self, transfer_id: str) -> None:
        with self.lock:
            self._reverse(transfer_id)

    def transfers_for(self, destination: str | None = None) -> list[dict]:
        with self.lock:
            return [t for t in self.state.transfers.values()
                    if destination is None or t["destination"] == destination]

    def pending_events(self) -> list[dict]:
        with self.lock:
            return [e for e in self.state.events if e["id"] not in self.state.delivered]

    def deliver(self, event: dict, *, secret: str | None = None, url: str | None = None,
                client=None) -> int:
        """POST a signed event to the webhook URL (or through a Flask test client). Like Stripe,
        an event that was not answered with 2xx stays pending and is sent again later."""
        payload = json.dumps(event).encode()
        header = sign(payload, secret or self.webhook_secret)
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

    def deliver_pending(self, *, client=None) -> list[int]:
        return [self.deliver(e, client=client) for e in self.pending_events()]

    # -- Stripe objects -----------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}{secrets.token_hex(6)}"

    def _new_account(self, params: dict) -> dict:
        account = {
            "id": self._id("acct"), "object": "account", "type": params.get("type", "express"),
            "country": params.get("country", "GB"), "details_submitted": False,
            "payouts_enabled": False, "charges_enabled": False,
            "metadata": params.get("metadata", {}), "created": int(time.time()),
        }
        self.state.accounts[account["id"]] = account
        return account

    def _event(self, kind: str, obj: dict) -> dict:
        event = {"id": self._id("evt"), "object": "event", "type": kind,
                 "created": int(time.time()), "livemode": False, "api_version": "2024-06-20",
                 "data": {"object": obj}}
        self.state.events.append(event)
        if self.auto_webhooks and self.webhook_url:
            threading.Timer(0.2, self.deliver, args=(event,)).start()
        return event

    def _reverse(self, transfer_id: str) -> dict:
        transfer = self.state.transfers[transfer_id]
        transfer["reversed"] = True
        transfer["amount_reversed"] = transfer["amount"]
        self.state.balance_pence += transfer["amount"]
        self._event("transfer.reversed", dict(transfer))
        return {"id": self._id("trr"), "object": "transfer_reversal",
                "amount": transfer["amount"], "transfer": transfer_id}

    # -- request handling ---------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict, host: str) -> tuple[int, dict]:
        parts = [p for p in urlparse(path).path.split("/") if p]
        if method == "POST" and parts == ["v1", "accounts"]:
            return 200, self._new_account(params)
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "accounts"]:
            account = self.state.accounts.get(parts[2])
            if account is None:
                return 404, error_body("invalid_request_error",
                                       f"No such account: '{parts[2]}'", "resource_missing",
                                       "id")
            return 200, account
        if method == "POST" and parts == ["v1", "account_links"]:
            account_id = params.get("account", "")
            if account_id not in self.state.accounts:
                return 400, error_body("invalid_request_error",
                                       f"No such account: '{account_id}'", "resource_missing",
                                       "account")
            query = urlencode({"return_url": params.get("return_url", "")})
            return 200, {"object": "account_link", "created": int(time.time()),
                         "expires_at": int(time.time()) + 300,
                         "url": f"http://{host}/connect/onboard/{account_id}?{query}"}
        if method == "POST" and parts == ["v1", "transfers"]:
            return self._create_transfer(params)
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "transfers"]:
            transfer = self.state.transfers.get(parts[2])
            if transfer is None:
                return 404, error_body("invalid_request_error",
                                       f"No such transfer: '{parts[2]}'", "resource_missing",
                                       "id")
            return 200, transfer
        if method == "POST" and len(parts) == 4 and parts[1] == "transfers" and (
            parts[3] == "reversals"
        ):
            if parts[2] not in self.state.transfers:
                return 404, error_body("invalid_request_error", "No such transfer",
                                       "resource_missing", "id")
            return 200, self._reverse(parts[2])
        if method == "GET" and parts == ["v1", "balance"]:
            return 200, {"object": "balance", "livemode": False,
                         "available": [{"amount": self.state.balance_pence, "currency": "gbp"}],
                         "pending": [{"amount": 0, "currency": "gbp"}]}
        return 404, error_body("invalid_request_error",
                               f"Unrecognized request URL ({method}: {urlparse(path).path}).")

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
        transfer = {"id": self._id("tr"), "object": "transfer", "amount": amount,
                    "amount_reversed": 0, "currency": "gbp", "destination": destination,
                    "metadata": params.get("metadata", {}), "reversed": False,
                    "transfer_group": params.get("transfer_group"),
                    "created": int(time.time()), "livemode": False}
        self.state.transfers[transfer["id"]] = transfer
        self._event("transfer.created", dict(transfer))
        return 200, transfer

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.state.faults:
            if fault.remaining > 0 and urlparse(path).path.startswith(fault.path_prefix):
                fault.remaining -= 1
                return fault
        return None

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # quiet
                return

            def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def do_GET(self):
                if self.path.startswith("/connect/onboard/"):
                    return self._onboard()
                self._api("GET")

            def do_POST(self):
                self._api("POST")

            def _onboard(self):
                url = urlparse(self.path)
                account_id = url.path.rsplit("/", 1)[-1]
                with server.lock:
                    if account_id in server.state.accounts:
                        server.complete_onboarding(account_id)
                target = dict(parse_qsl(url.query)).get("return_url", "/")
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _api(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer " + server.api_key_prefix):
                    body = error_body("invalid_request_error", "Invalid API Key provided.")
                    return self._send(401, json.dumps(body).encode())
                params = parse_form(raw)
                key = self.headers.get("Idempotency-Key")
                fingerprint = hashlib.sha256(f"{method} {self.path} {raw}".encode()).hexdigest()
                with server.lock:
                    server.state.requests.append((method, self.path))
                    fault = server._take_fault(self.path)
                    if fault is not None and fault.status:
                        return self._send(fault.status, json.dumps(fault.body).encode())
                    replay = server.state.idempotency.get((auth, key)) if key else None
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
                                                     self.headers.get("Host", ""))
                        body_bytes = json.dumps(body).encode()
                        headers = {}
                        if key and method == "POST" and status < 500:
                            server.state.idempotency[(auth, key)] = (fingerprint, status,
                                                                     body_bytes)
                if fault is not None and fault.stall_seconds:
                    time.sleep(fault.stall_seconds)  # the work is done; the answer is late
                self._send(status, body_bytes, headers)

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", default="http://127.0.0.1:5000/payments/stripe/webhook")
    parser.add_argument("--webhook-secret", default="whsec_dev")
    parser.add_argument("--account", action="append", default=[],
                        help="connected account ids to create ready (for demo data)")
    args = parser.parse_args()
    server = StripeServer(port=args.port, webhook_url=args.webhook_url,
                          webhook_secret=args.webhook_secret, auto_webhooks=True)
    for account_id in args.account:
        server.state.accounts[account_id] = {
            "id": account_id, "object": "account", "type": "express", "country": "GB",
            "details_submitted": True, "payouts_enabled": True, "charges_enabled": False,
            "metadata": {}, "created": int(time.time())}
    print(f"Stripe-compatible test server on {server.api_base}; webhooks to {args.webhook_url}")
    server.start()
    try:
        server.thread.join()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
