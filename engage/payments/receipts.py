"""Receipt files: PDF, JPEG or PNG up to 10 MB, type checked by content (magic bytes), stored
outside the web root (instance/receipts) under random names with no extension."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

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


def receipts_dir() -> Path:
    path = Path(current_app.config.get("RECEIPTS_DIR") or
                Path(current_app.instance_path) / "receipts")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    kind: FileType
    size: int
    sha256: str


def store(data: bytes, kind: FileType) -> StoredFile:
    stored_name = secrets.token_hex(24)
    target = receipts_dir() / stored_name
    with open(target, "xb") as handle:
        handle.write(data)
    target.chmod(0o600)
    return StoredFile(stored_name, kind, len(data), hashlib.sha256(data).hexdigest())


def path_of(stored_name: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{48}", stored_name):
        raise ValidationFailed("Unknown receipt.")
    return receipts_dir() / stored_name
