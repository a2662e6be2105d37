"""CSV exports that are safe to open in a spreadsheet.

UTF-8 with a byte-order mark (so Excel reads accents and non-Latin scripts correctly), and every
cell that a spreadsheet could treat as a formula (starting with = + - @, a tab or a carriage
return) is prefixed with a single quote, so a cell like `=HYPERLINK(...)` typed by someone
is shown as text and never run.
"""

from __future__ import annotations

import csv as _csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value: Any) -> str:
    """One cell as text, neutralised if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def to_csv(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """The whole file as text (with the byte-order mark); encode it as UTF-8 to send it."""
    buffer = io.StringIO()
    writer = _csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return BOM + buffer.getvalue()


def csv_response(filename: str, header: Iterable[Any], rows: Iterable[Iterable[Any]]):
    """A Flask response that downloads the CSV as an attachment."""
    from flask import Response

    body = to_csv(header, rows).encode("utf-8")
    response = Response(body, mimetype="text/csv")  # Flask adds "; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
