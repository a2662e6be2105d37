"""Field encryption and keyed hashes. Keys come from the environment only.

Encrypted fields use AES-256-GCM (from `cryptography`) with a random 96-bit nonce. A stored
value is base64url text of:

    version (1 byte, 0x01) | key id (1 byte) | nonce (12 bytes) | ciphertext and tag

Nothing in it records when it was written (Fernet tokens carry their creation second in
clear, which would put a time on anonymous records: see
docs/decisions/0015-anonymity-against-the-database-holder.md). The plaintext is padded
before encryption to a size bucket, so the length
of a stored value says little about the length of what was written (a draft and the
anonymous answer it became cannot be matched by length).

FIELD_ENCRYPTION_KEY stays the one secret operators keep. It may hold several comma-separated
keys: the first encrypts, all decrypt, so a key can be rotated without downtime. Each field
key is derived from one of them with HKDF-SHA256; the key id byte is derived the same way,
so the order of the keys in the setting does not matter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

FORMAT_VERSION = 1
NONCE_BYTES = 12
HEADER_BYTES = 2
_HKDF_SALT = b"engage field encryption"
MIN_BUCKET = 32
LINEAR_ABOVE = 4096


class FieldKeyError(RuntimeError):
    pass


def _derive(secret: str, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_HKDF_SALT,
                info=info).derive(secret.encode("utf-8"))


def padded_length(size: int) -> int:
    """The stored size for `size` bytes of plaintext plus one marker byte: the next power of
    two from 32 bytes up to 4 KiB, then the next multiple of 4 KiB."""
    needed = size + 1
    if needed > LINEAR_ABOVE:
        return -(-needed // LINEAR_ABOVE) * LINEAR_ABOVE
    bucket = MIN_BUCKET
    while bucket < needed:
        bucket *= 2
    return bucket


def _pad(data: bytes) -> bytes:
    # ISO/IEC 7816-4: a 0x80 marker, then zeros.
    return data + b"\x80" + b"\x00" * (padded_length(len(data)) - len(data) - 1)


def _unpad(data: bytes) -> bytes:
    stripped = data.rstrip(b"\x00")
    if not stripped.endswith(b"\x80"):
        raise FieldKeyError("A stored field is damaged (its padding is wrong).")
    return stripped[:-1]


class FieldCipher:
    """Encrypts and decrypts field values with the keys from one FIELD_ENCRYPTION_KEY value."""

    def __init__(self, keys: str) -> None:
        secrets = [k.strip() for k in (keys or "").split(",") if k.strip()]
        if not secrets:
            raise FieldKeyError("FIELD_ENCRYPTION_KEY is empty")
        self._keys: list[tuple[int, AESGCM]] = [
            (_derive(secret, b"engage key id v1", 1)[0],
             AESGCM(_derive(secret, b"engage aes-256-gcm v1", 32)))
            for secret in secrets
        ]

    def encrypt(self, value: str) -> str:
        key_id, aead = self._keys[0]
        header = bytes([FORMAT_VERSION, key_id])
        nonce = os.urandom(NONCE_BYTES)
        sealed = aead.encrypt(nonce, _pad(value.encode("utf-8")), header)
        return base64.urlsafe_b64encode(header + nonce + sealed).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise FieldKeyError("A stored field is not in the expected format") from exc
        if len(raw) < HEADER_BYTES + NONCE_BYTES + 16 or raw[0] != FORMAT_VERSION:
            raise FieldKeyError("A stored field is not in the expected format (was the "
                                "field encryption migration run?)")
        header, nonce, sealed = raw[:2], raw[2:14], raw[14:]
        for key_id, aead in self._keys:
            if key_id != header[1]:
                continue
            try:
                return _unpad(aead.decrypt(nonce, sealed, header)).decode("utf-8")
            except InvalidTag:
                continue
        raise FieldKeyError("A stored field could not be decrypted with the configured key")

    def encrypt_bytes(self, data: bytes) -> bytes:
        key_id, aead = self._keys[0]
        header = bytes([FORMAT_VERSION, key_id])
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + aead.encrypt(nonce, data, header)

    def decrypt_bytes(self, token: bytes) -> bytes:
        if len(token) < HEADER_BYTES + NONCE_BYTES + 16 or token[0] != FORMAT_VERSION:
            raise FieldKeyError("A stored file is not in the expected format")
        header, nonce, sealed = token[:2], token[2:14], token[14:]
        for key_id, aead in self._keys:
            if key_id != header[1]:
                continue
            try:
                return aead.decrypt(nonce, sealed, header)
            except InvalidTag:
                continue
        raise FieldKeyError("A stored file could not be decrypted with the configured key")

    @staticmethod
    def is_ours(token: str) -> bool:
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return False
        return len(raw) > HEADER_BYTES + NONCE_BYTES and raw[0] == FORMAT_VERSION


def _cipher() -> FieldCipher:
    return current_app.extensions["engage_field_cipher"]


def encrypt(value: str) -> str:
    return _cipher().encrypt(value)


def decrypt(token: str) -> str:
    return _cipher().decrypt(token)


def encrypt_bytes(data: bytes) -> bytes:
    """For files (receipts, backup chunks): the same keys as encrypted fields."""
    return _cipher().encrypt_bytes(data)


def decrypt_bytes(token: bytes) -> bytes:
    return _cipher().decrypt_bytes(token)


def keyed_hash(purpose: str, value: str) -> str:
    """A fast keyed hash (HMAC-SHA256) for high-entropy secrets such as tokens and codes."""
    key = _purpose_key(purpose, current_app.config["SECRET_KEY"])
    return hmac.digest(key, value.encode("utf-8"), "sha256").hex()


@lru_cache(maxsize=64)
def _purpose_key(purpose: str, secret: str) -> bytes:
    """The key for one purpose, worked out once per secret (the session cookie's is needed on
    every signed-in request)."""
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()
