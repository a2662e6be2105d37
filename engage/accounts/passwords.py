"""Password rules and hashing (Argon2id)."""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

MIN_LENGTH = 8
MAX_LENGTH = 256


@cache
def _hasher(kind: str) -> PasswordHasher:
    if kind == "fast":  # tests only: the same algorithm with tiny costs
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()  # Argon2id, RFC 9106 low-memory profile


def hasher() -> PasswordHasher:
    return _hasher(current_app.config["PASSWORD_HASHER"])


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: dict[str, str] = {}


def burn_time(password: str) -> None:
    """Spend as long as a real check, so timing does not tell whether an account exists."""
    kind = current_app.config["PASSWORD_HASHER"]
    if kind not in _DUMMY_HASH:
        _DUMMY_HASH[kind] = hasher().hash("not-a-real-password")
    verify_password(_DUMMY_HASH[kind], password)


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("engage").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def password_problem(password: str, username: str = "") -> str | None:
    """A kind explanation of what is wrong with a new password, or None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters. A few words together make a strong one."
    if len(password) > MAX_LENGTH:
        return f"Use {MAX_LENGTH} characters or fewer."
    if password.lower() in common_passwords():
        return (
            "That password is one of the most common ones, so it is easy to guess. "
            "Try a few unrelated words together."
        )
    if username and password.lower() == username.lower():
        return "Your password cannot be the same as your username."
    return None
