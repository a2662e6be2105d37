"""`bench/dashboard.py` times every figure of the dashboard on its own. This keeps its list in
step with the page: each entry runs with the page's filters and the list names every figure
the page shows, so a figure added to the page, or a changed signature, cannot leave the bench
broken or silently missing a figure."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

from engage.dashboard.sections import Figure, Filters, build_sections

BENCH = Path(__file__).resolve().parents[2] / "bench" / "dashboard.py"


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_dashboard", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_times_every_figure_on_the_page(db, request_ctx):
    filters = Filters(start=date(2026, 4, 1), end=date(2026, 6, 30))
    on_page = [f.key for s in build_sections(filters) for f in s.figures]
    timed = []
    for label, function in _bench_module().figure_functions():
        result = function(filters)
        assert isinstance(result, Figure), label
        timed.append(result.key)
    assert timed == on_page
