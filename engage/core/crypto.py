"""Field encryption and keyed hashes. Keys come from the environment only."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class FieldKeyError(RuntimeError):
    pass


def build_fernet(keys: str) -> MultiFernet:
    """FIELD_ENCRYPTION_KEY may hold several comma-separated keys: the first encrypts, all
    decrypt, so a key can be rotated without downtime."""
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise FieldKeyError("FIELD_ENCRYPTION_KEY is empty")
    return MultiFernet([Fernet(k.encode()) for k in parts])


def _fernet() -> MultiFernet:
    return current_app.extensions["engage_fernet"]


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise FieldKeyError("A stored field could not be decrypted with the configured key") \
            from exc


def encrypt_bytes(data: bytes) -> bytes:
    """For files (receipts): the same keys as encrypted fields."""
    return _fernet().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _fernet().decrypt(token)
    except InvalidToken as exc:
        raise FieldKeyError("A stored file could not be decrypted with the configured key") \
            from exc


def keyed_hash(purpose: str, value: str) -> str:
    """A fast keyed hash (HMAC-SHA256) for high-entropy secrets such as tokens and codes."""
    key = hashlib.sha256(f"{purpose}:{current_app.config['SECRET_KEY']}".encode()).digest()
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
