"""Checks on every page the tests render: no two elements share an id.

A repeated id breaks labels (a <label for> reaches only the first field), error-summary links
and aria references, so a screen reader user lands on the wrong field. The test client
(tests/conftest.py) runs this on every HTML response, so each route walk and each test that
renders a page checks it.
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser


class _IdCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: Counter[str] = Counter()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids[value] += 1

    handle_startendtag = handle_starttag


def duplicate_ids(html: str) -> list[str]:
    collector = _IdCollector()
    collector.feed(html)
    collector.close()
    return sorted(value for value, count in collector.ids.items() if count > 1)


def assert_no_duplicate_ids(html: str, where: str) -> None:
    repeated = duplicate_ids(html)
    assert not repeated, f"{where}: these ids are used more than once: {repeated}"
