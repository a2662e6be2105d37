"""CSV exports that are safe to open in a spreadsheet.

Every text cell that a spreadsheet could treat as a formula (starting with = + - @, a tab or a
carriage return) is prefixed with a single quote, so a cell like `=HYPERLINK(...)` typed by
someone is shown as text and never run. Numbers (including negative ones) stay numbers.
Downloads for people (`to_csv`, `csv_response`) start with a UTF-8 byte-order mark so Excel reads
accents and non-Latin scripts correctly; `write_csv` gives plain UTF-8 bytes for files in a fixed
layout that other systems read (the payroll export).
"""

from __future__ import annotations

import csv as _csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from flask import Response

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value: Any) -> str:
    """One cell as text, neutralised if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def _rows_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    writer = _csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def to_csv(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """The whole file as text (with the byte-order mark); encode it as UTF-8 to send it."""
    return BOM + _rows_text(header, rows)


def write_csv(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """UTF-8 bytes with CRLF line endings and no byte-order mark, for fixed layouts."""
    return _rows_text(header, rows).encode("utf-8")


def csv_response(filename: str, header: Iterable[Any], rows: Iterable[Iterable[Any]]):
    """A Flask response that downloads the CSV as an attachment."""
    body = to_csv(header, rows).encode("utf-8")
    response = Response(body, mimetype="text/csv")  # Flask adds "; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
