"""Counts read naturally: "1 claim", "2 claims". Every number next to a noun goes through
ngettext, so the singular is right in English and each language can choose its own forms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engage.changes.links import LINK_KINDS, count_text
from engage.changes.models import LinkKind
from engage.dashboard.programme import days_text
from engage.lifecycle.retention import period_text

ENGAGE = Path(__file__).resolve().parents[2] / "engage"
COUNTED_NOUNS = ("claims", "days", "minutes", "hours", "panels", "members", "events", "pieces",
                 "changes", "consultations", "places", "miles", "codes", "accounts", "replies",
                 "responses", "entries", "items", "months", "years", "people", "answers")
# A single gettext call (not ngettext) whose text puts a placeholder before a counted noun.
SINGLE_FORM = re.compile(
    r"(?<![n\w])_l?\(\s*\"[^\"]*%\((?P<var>\w+)\)[sd] (?P<noun>" + "|".join(COUNTED_NOUNS)
    + r")\b")


def test_no_number_meets_a_noun_without_ngettext():
    found = []
    for path in [*ENGAGE.rglob("*.py"), *ENGAGE.rglob("*.html")]:
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for match in SINGLE_FORM.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(ENGAGE)}:{line}: {match.group(0)}")
    assert not found, "use ngettext for these counts:\n" + "\n".join(found)


@pytest.mark.parametrize(("count", "kind", "expected"), [
    (1, LinkKind.CONSULTATION, "1 consultation"),
    (2, LinkKind.CONSULTATION, "2 consultations"),
    (0, LinkKind.FEEDBACK, "No pieces of feedback linked yet"),
    (3, LinkKind.FEEDBACK, "Fewer than 5 pieces of feedback"),
    (7, LinkKind.FEEDBACK, "7 pieces of feedback"),
    (5, LinkKind.CONSULTATION_ANSWER, "5 consultation responses"),
])
def test_link_counts_read_naturally(app, count, kind, expected):
    with app.test_request_context():
        assert count_text(count, LINK_KINDS[kind]) == expected


def test_periods_and_days_read_naturally(app):
    with app.test_request_context():
        assert [period_text(m) for m in (1, 7, 12, 36)] == ["1 month", "7 months", "1 year",
                                                          "3 years"]
        assert [days_text(d) for d in (1, 2, 2.5)] == ["1 day", "2 days", "2.5 days"]


def test_one_claim_in_the_finance_queue_reads_as_one_claim(app, db):
    from engage.core.permissions import Role
    from engage.payments import services
    from tests.conftest import FormClient
    from tests.factories import make_member, make_staff, sign_in
    from tests.factories_payments import make_claim

    member, lead = make_member(), make_staff(Role.FACILITATOR)
    claim = make_claim(member, lead)
    services.submit_claim(member, claim)
    services.lead_approve(lead, claim)
    finance = make_staff(Role.FINANCE)
    db.session.commit()
    visitor = FormClient(app.test_client())
    sign_in(visitor, finance)
    page = visitor.get("/payments/finance").get_data(as_text=True)
    assert re.search(r'id="queue-totals">1 claim found, total', page)
