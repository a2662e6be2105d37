"""Receipt files: PDF, JPEG or PNG up to 10 MB, type checked by content (magic bytes), encrypted
with the field-encryption key and kept in the upload storage (engage/core/storage.py: a local
folder, or S3-compatible object storage shared by every node) under random names."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from engage.core.crypto import decrypt_bytes, encrypt_bytes
from engage.core.storage import storage
from engage.errors import ValidationFailed

MAX_RECEIPT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class FileType:
    extension: str
    content_type: str
    names: tuple[str, ...]  # file name endings that may carry this type


PDF = FileType("pdf", "application/pdf", (".pdf",))
JPEG = FileType("jpg", "image/jpeg", (".jpg", ".jpeg"))
PNG = FileType("png", "image/png", (".png",))

# Script inside a PDF (actions that run code when opened) or markup pretending to be an image.
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|OpenAction|AA)\b")
_MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|object)\b", re.IGNORECASE)


def detect(data: bytes) -> FileType | None:
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    return None


def check(filename: str, data: bytes) -> FileType:
    """The file's type, or ValidationFailed saying what to do instead."""
    if not data:
        raise ValidationFailed("The file is empty. Choose the receipt file again.")
    if len(data) > MAX_RECEIPT_BYTES:
        raise ValidationFailed("The file is larger than 10 MB. Take a smaller photo or scan, "
                               "or save it as a smaller PDF.")
    kind = detect(data)
    if kind is None:
        raise ValidationFailed("The receipt must be a PDF, JPEG or PNG file. This file is "
                               "something else: save it as one of those and try again.")
    name = (filename or "").lower()
    if not name.endswith(kind.names):
        raise ValidationFailed(f"The file's name does not match what is inside it (it is a "
                               f"{kind.extension.upper()} file). Rename it to end in "
                               f"{kind.names[0]} and try again.")
    if (kind is PDF and _PDF_ACTIVE.search(data)) or _MARKUP.search(data[:4096]):
        raise ValidationFailed("This file contains scripts or other active content, so we "
                               "cannot accept it. Print it to a new PDF or take a photo of "
                               "the receipt instead.")
    return kind


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    kind: FileType
    size: int
    sha256: str


PREFIX = "receipts/"


def key_of(stored_name: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{48}", stored_name):
        raise ValidationFailed("Unknown receipt.")
    return PREFIX + stored_name


def store(data: bytes, kind: FileType) -> StoredFile:
    """Encrypt and keep a checked receipt; the size and hash are of the file as uploaded."""
    stored_name = secrets.token_hex(24)
    storage().put(key_of(stored_name), encrypt_bytes(data))
    return StoredFile(stored_name, kind, len(data), hashlib.sha256(data).hexdigest())


def read(stored_name: str) -> bytes:
    """The receipt as uploaded (decrypted); FileMissing if it has gone."""
    return decrypt_bytes(storage().get(key_of(stored_name)))


def replace(stored_name: str, data: bytes) -> None:
    """Put back a receipt under its existing name (the demo data does this)."""
    storage().put(key_of(stored_name), encrypt_bytes(data))


def exists(stored_name: str) -> bool:
    return storage().exists(key_of(stored_name))


def delete(stored_name: str) -> None:
    storage().delete(key_of(stored_name))


def import_plain_files(folder: Path) -> tuple[int, int]:
    """Move receipts kept by earlier versions as plain files (instance/receipts/<name>) into
    the storage, encrypted: (imported, already there). Each plain file is removed once its
    encrypted copy is stored, so running it again after an interruption is safe."""
    imported = skipped = 0
    if not folder.is_dir():
        return imported, skipped
    for path in sorted(folder.iterdir()):
        if not (path.is_file() and re.fullmatch(r"[0-9a-f]{48}", path.name)):
            continue
        if exists(path.name):
            skipped += 1
        else:
            storage().put(key_of(path.name), encrypt_bytes(path.read_bytes()))
            imported += 1
        path.unlink()
    return imported, skipped
