"""Rate-limit keys: a hash of the client address that rotates daily, never the address itself."""

from __future__ import annotations

import hashlib

from flask import current_app, request
from limits import parse

from engage.core import clock


def daily_client_hash(extra: str = "") -> str:
    day = clock.today_london().isoformat()
    secret = current_app.config["SECRET_KEY"]
    raw = f"{secret}|{day}|{request.remote_addr or ''}|{extra}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def client_key() -> str:
    return "client:" + daily_client_hash()


def account_key() -> str:
    """Counts sign-in attempts per account name typed, whoever sends them."""
    username = (request.form.get("username") or "").strip().lower()
    day = clock.today_london().isoformat()
    raw = f"{current_app.config['SECRET_KEY']}|{day}|account|{username}"
    return "account:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def address_key(email: str) -> str:
    """Counts requests about one email address (password resets), whoever sends them; keyed
    by a daily-rotating hash, never the address itself."""
    day = clock.today_london().isoformat()
    raw = f"{current_app.config['SECRET_KEY']}|{day}|address|{email.strip().lower()}"
    return "address:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def allowance_left(limit: str, scope: str, key: str) -> bool:
    """Count one request against `limit` for this key without answering 429: for limits the
    visitor must not be able to notice (the page says the same whatever happens)."""
    # engage.extensions imports this module (client_key), so the limiter is imported here.
    from engage.extensions import limiter

    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    return limiter.limiter.hit(parse(limit), scope, key)
