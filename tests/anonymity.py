"""What someone holding the database (but not the keys) can read, for the anonymity tests."""

from __future__ import annotations

import base64
import binascii
import re
import struct
from datetime import date, datetime

from sqlalchemy import text

from engage.core.anonymity import ANONYMOUS_TABLES
from engage.extensions import db

# Every table meant to carry no link to a person, and no time finer than the day.
EXPECTED_ANONYMOUS_TABLES = {
    "feedback_items", "feedback_replies", "feedback_themes", "feedback_item_themes",
    "anonymous_responses", "anonymous_answers", "equality_snapshots", "equality_tallies",
    "sealed_envelopes", "anonymous_activity_counts",
}

CLOCK_TEXT = re.compile(r"\d{1,2}:\d{2}")
DIGITS = re.compile(r"\d{9,19}")


def raw_rows(table: str) -> list[tuple]:
    """The rows exactly as stored, without the models' types decoding or decrypting them."""
    return [tuple(row) for row in db.session.execute(
        text(f'SELECT * FROM "{table}"'))]  # noqa: S608 - our own table names


def _byte_forms(value: str) -> list[bytes]:
    forms = [value.encode("utf-8", "replace")]
    for candidate in re.findall(r"[A-Za-z0-9_\-+/=]{16,}", value):
        padded = candidate + "=" * (-len(candidate) % 4)
        for decode in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                forms.append(decode(padded))
            except (binascii.Error, ValueError):
                continue
    return forms


class TimeFinder:
    """Finds any byte sequence or text that decodes to a moment between `start` and `end`
    (seconds since the epoch, widened a little): the time the test's records were written."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = int(start) - 2, int(end) + 2

    def _is_moment(self, number: int) -> bool:
        for scale in (1, 1000, 1_000_000, 1_000_000_000):
            if self.start * scale <= number <= self.end * scale + scale:
                return True
        return False

    def in_bytes(self, data: bytes) -> list[int]:
        found = []
        for offset in range(len(data)):
            for size, formats in ((8, (">Q", "<Q")), (4, (">I", "<I"))):
                chunk = data[offset:offset + size]
                if len(chunk) < size:
                    continue
                for fmt in formats:
                    if self._is_moment(struct.unpack(fmt, chunk)[0]):
                        found.append(offset)
        return found

    def in_value(self, value) -> list[str]:
        if value is None or isinstance(value, bool):
            return []
        if isinstance(value, datetime):
            return [f"a stored time {value.isoformat()}"]
        if isinstance(value, date):
            return []
        if isinstance(value, int | float):
            return [f"the number {value}"] if self._is_moment(int(value)) else []
        if isinstance(value, bytes | bytearray | memoryview):
            return [f"bytes at {o}" for o in self.in_bytes(bytes(value))]
        value = str(value)
        problems = [f"the text {m!r}" for m in CLOCK_TEXT.findall(value)]
        problems += [f"the digits {m}" for m in DIGITS.findall(value)
                     if self._is_moment(int(m))]
        for form in _byte_forms(value)[1:]:
            problems += [f"decoded bytes at {o}" for o in self.in_bytes(form)]
        return problems


def times_in_anonymous_tables(finder: TimeFinder) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for table in ANONYMOUS_TABLES:
        for row in raw_rows(table):
            for value in row:
                problems = finder.in_value(value)
                if problems:
                    found.setdefault(table, []).extend(problems)
    return found
