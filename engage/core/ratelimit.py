"""Rate-limit keys: a hash of the client address that rotates daily, never the address itself."""

from __future__ import annotations

import hashlib

from flask import current_app, request

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
