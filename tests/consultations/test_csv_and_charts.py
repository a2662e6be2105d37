"""The shared safe CSV writer and SVG bar chart (engage.core.csv, engage.core.charts)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from engage.core.charts import Bar, bar_chart
from engage.core.csv import safe_cell, to_csv


@pytest.mark.parametrize("dangerous", ["=1+1", "+44 7700", "-5", "@SUM(A1)", "\tTab", "\rCR"])
def test_cells_a_spreadsheet_would_run_are_quoted(dangerous):
    assert safe_cell(dangerous) == "'" + dangerous


@pytest.mark.parametrize("value, expected", [("plain", "plain"), (None, ""), (True, "yes"),
                                             (12, "12"), ("a=b", "a=b")])
def test_ordinary_cells_are_untouched(value, expected):
    assert safe_cell(value) == expected


def test_csv_is_utf8_with_bom_and_round_trips():
    body = to_csv(["Name", "Answer"], [["Zoë", "=2+2"], ["李", "line\nbreak, comma"]])
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows == [["Name", "Answer"], ["Zoë", "'=2+2"], ["李", "line\nbreak, comma"]]
    body.encode("utf-8")


def test_bar_chart_is_accessible_and_escapes_labels():
    svg = str(bar_chart("Q <1>", [Bar("Yes & no", 10, "10"), Bar("<b>No</b>", 5, "5"),
                                  Bar("Few", None, "fewer than 5")], chart_id="c1"))
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-labelledby="c1-title c1-desc"' in svg
    assert "<title id=\"c1-title\">Q &lt;1&gt;</title>" in svg
    assert "Yes &amp; no" in svg and "&lt;b&gt;No&lt;/b&gt;" in svg
    assert "Few: fewer than 5" in svg, "the description reads the numbers out"
    widths = [int(w) for w in re.findall(r'<rect[^>]* width="(\d+)"', svg)]
    assert widths == [320, 160], "bars are to scale; the suppressed one is not drawn"
    assert "style=" not in svg
