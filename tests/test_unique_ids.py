"""No two elements on a page share an id, on every page each kind of user can reach.

A repeated id sends a label, an error-summary link or a screen reader to the wrong field. The
test client checks every HTML page any test renders (tests/conftest.py); this walk makes sure
the pages are rendered with real content for every role: it signs in as each demo person and
follows every link on the site, as a curious user would.
"""

from __future__ import annotations

import re
from collections import deque

import pytest

from engage.accounts.services import find_by_username
from engage.demo import DEMO_PASSWORD, seed_demo
from tests.conftest import FormClient
from tests.factories import sign_in
from tests.html_checks import duplicate_ids

LINK = re.compile(r'href="(/[^"#]*)')
NOT_PAGES = re.compile(r"^/(leave|assets/|static/)|\.(csv|ics|json|atom|pdf)(\?|$)|/receipts/|"
                       r"/export$|/payroll-exports/")
PAGES_PER_ROLE = 90
ROLES = ["anonymous", "demo-member", "demo-facilitator", "demo-lead", "demo-finance",
         "demo-safeguarding", "demo-admin"]


def _walk(visitor: FormClient, start: list[str]) -> dict[str, list[str]]:
    """Breadth first from `start`, each page once; returns the pages with repeated ids."""
    seen, queue, problems = set(start), deque(start), {}
    visited = 0
    while queue and visited < PAGES_PER_ROLE:
        url = queue.popleft()
        response = visitor.client.get(url)
        visited += 1
        if response.mimetype != "text/html" or response.status_code != 200:
            continue
        page = response.get_data(as_text=True)
        if repeated := duplicate_ids(page):
            problems[url] = repeated
        for link in LINK.findall(page):
            link = link.replace("&amp;", "&")
            if link not in seen and not NOT_PAGES.search(link):
                seen.add(link)
                queue.append(link)
    assert visited > 10, "the walk should reach many pages"
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_no_two_elements_share_an_id_on_any_page(app, db, role):
    seed_demo()
    db.session.commit()
    visitor = FormClient(app.test_client())
    if role != "anonymous":
        assert sign_in(visitor, find_by_username(role), DEMO_PASSWORD).status_code == 302
    problems = _walk(visitor, ["/", "/staff/feedback", "/staff/changes", "/payments/",
                               "/payments/lead", "/payments/finance", "/events/",
                               "/staff/safeguarding/feedback", "/admin/"])
    assert not problems, f"{role}: pages with ids used more than once: {problems}"
