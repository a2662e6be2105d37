"""Largest Contentful Paint of the home, log and feedback pages in headless Chromium.

    .venv/bin/python bench/lcp.py [--runs 5] [--backend sqlite|postgresql]

Starts Engage as bench/pages.py does (production configuration, gunicorn, the same cached data
set with 1,000,000 feedback items and 10,000 entries), opens each page in a fresh browser
context (nothing cached) with Debian's Chromium through Playwright, and prints the median
and slowest LCP over the runs against the 1 s target.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pages  # bench/pages.py
from playwright.sync_api import sync_playwright

PATHS = ["/", "/you-said-we-did", "/feedback"]
TARGET_MS = 1000
LCP_SCRIPT = """() => new Promise(resolve => {
  new PerformanceObserver(list => {
    const entries = list.getEntries();
    resolve(entries[entries.length - 1].startTime);
  }).observe({type: 'largest-contentful-paint', buffered: true});
})"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    store = (pages.SQLiteStore(False) if args.backend == "sqlite"
             else pages.PostgresStore(pages.DEFAULT_POSTGRES_URL, False))
    url = store.prepare("log")
    instance = Path(tempfile.mkdtemp(prefix="engage-lcp-instance-"))
    server = pages.engage_server(url, instance)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            print(f"{'page':<20}{'median LCP':>12}{'slowest':>10}{'target':>9}")
            for path in PATHS:
                times = []
                for _ in range(args.runs):
                    context = browser.new_context()
                    page = context.new_page()
                    page.goto(server.base + path, wait_until="load")
                    times.append(page.evaluate(LCP_SCRIPT))
                    context.close()
                median = statistics.median(times)
                verdict = "pass" if max(times) < TARGET_MS else "short"
                print(f"{path:<20}{median:>9.0f} ms{max(times):>7.0f} ms  < {TARGET_MS} ms "
                      f"{verdict}")
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
