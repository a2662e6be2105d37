"""The public log, its open data (JSON, Atom, CSV) and the staff measures."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from sqlalchemy import event

from engage.changes import services
from engage.changes.feeds import CSV_COLUMNS, JSON_ENTRY_FIELDS
from engage.changes.models import ChangeStatus
from engage.core.clock import frozen
from engage.core.permissions import Role
from engage.feedback import services as feedback_services
from engage.feedback.models import FeedbackStatus
from tests.factories import make_member, make_staff
from tests.factories_feedback import days_ago, make_entry, make_feedback, publish


@pytest.fixture
def lead(db):
    return make_staff(Role.PROGRAMME_LEAD)


def _published(lead, n: int, **fields):
    entries = []
    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    for i in range(n):
        entry = make_entry(lead, said=f"People said thing number {i}.", **fields)
        with frozen(start + timedelta(hours=i)):
            publish(entry)
        entries.append(entry)
    return entries


def test_only_published_entries_are_public(db, client, lead):
    draft = make_entry(lead, said="A private draft")
    shown = _published(lead, 1)[0]
    db.session.commit()
    html = client.get("/you-said-we-did").get_data(as_text=True)
    assert "People said thing number 0." in html and "A private draft" not in html
    assert client.get(f"/you-said-we-did/{draft.id}").status_code == 404
    assert client.get(f"/you-said-we-did/{shown.id}").status_code == 200


def test_newest_first_with_keyset_pages_that_neither_skip_nor_repeat(db, client, lead):
    entries = _published(lead, 45)
    db.session.commit()
    seen, url = [], "/you-said-we-did.json"
    while url:
        body = client.get(url).get_json()
        seen.extend(e["id"] for e in body["entries"])
        url = body["next"]
    assert seen == [e.id for e in reversed(entries)]
    first = client.get("/you-said-we-did").get_data(as_text=True)
    assert "People said thing number 44." in first and "People said thing number 24." not in first
    assert "Older changes" in first


def test_filters_and_search(db, client, lead):
    done = make_entry(lead, said="Longer opening hours", status=ChangeStatus.DONE,
                      organisation="City SARC",
                      theme_id=feedback_services.ensure_theme("Access").id)
    planned = make_entry(lead, said="Quieter waiting room", organisation="Police")
    publish(done)
    publish(planned)
    db.session.commit()

    def ids(query: str) -> list[int]:
        return [e["id"] for e in client.get(f"/you-said-we-did.json?{query}").get_json()[
            "entries"]]

    assert ids("status=done") == [done.id]
    assert ids("organisation=Police") == [planned.id]
    assert ids(f"theme={done.theme_id}") == [done.id]
    assert ids("q=waiting") == [planned.id]
    assert ids("q=100%25") == []
    html = client.get("/you-said-we-did?status=done").get_data(as_text=True)
    assert "Longer opening hours" in html and "Quieter waiting room" not in html


def test_small_counts_are_not_shown_exactly_and_quotes_need_permission(db, client, lead):
    small, large = make_entry(lead, said="Small"), make_entry(lead, said="Large")
    quoted = make_feedback(may_quote=True, quote="The nurse believed me.")
    unredacted = make_feedback(may_quote=True, body="Private words")
    refused = make_feedback(may_quote=False, quote="Must never appear")
    for item in (quoted, unredacted, refused):
        services.link_feedback(lead, small, item.id)
    for _ in range(6):
        services.link_feedback(lead, large, make_feedback().id)
    publish(small)
    publish(large)
    db.session.commit()
    small_page = client.get(f"/you-said-we-did/{small.id}").get_data(as_text=True)
    assert "Fewer than 5 pieces of feedback" in small_page
    assert "The nurse believed me." in small_page
    assert "Must never appear" not in small_page and "Private words" not in small_page
    assert "6 pieces of feedback" in client.get(f"/you-said-we-did/{large.id}").get_data(
        as_text=True)
    records = {e["id"]: e for e in client.get("/you-said-we-did.json").get_json()["entries"]}
    assert records[small.id]["feedback_count"] is None
    assert records[large.id]["feedback_count"] == 6


def test_json_entries_have_exactly_the_documented_fields_and_no_personal_data(db, client,
                                                                             lead):
    member = make_member(display_name="Unique Person Name")
    given = feedback_services.give_feedback(member, body="Secret feedback words",
                                            attach_name=True)
    entry = make_entry(lead, said="You said this", target_on=days_ago(-30))
    services.link_feedback(lead, entry, given.item.id)
    publish(entry)
    db.session.commit()
    response = client.get("/you-said-we-did.json")
    body = response.get_json()
    assert set(body) == {"entries", "withdrawn", "next", "fields_documentation"}
    record = body["entries"][0]
    assert set(record) == set(JSON_ENTRY_FIELDS)
    assert record["you_said"] == "You said this" and record["status"] == "planned"
    assert record["url"].endswith(f"/you-said-we-did/{entry.id}")
    assert record["target_date"] == days_ago(-30).isoformat()
    assert [h["kind"] for h in record["history"]] == ["published"]
    documented = client.get("/you-said-we-did").get_data(as_text=True)
    assert all(f"<code>{name}</code>" in documented for name in JSON_ENTRY_FIELDS)
    raw = response.get_data(as_text=True)
    for secret in ("Unique Person Name", "Secret feedback words", member.username, lead.username,
                   "created_by", "approved_by"):
        assert secret not in raw


def test_atom_feed_is_valid_atom(db, client, lead):
    entries = _published(lead, 3)
    db.session.commit()
    response = client.get("/you-said-we-did.atom")
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.get_data())
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title.startswith("You said, we did")
    assert [e.link for e in feed.entries] == [
        f"http://localhost/you-said-we-did/{e.id}" for e in reversed(entries)]
    assert "We did:" in feed.entries[0].summary
    assert feed.entries[0].published_parsed is not None


def test_csv_download_is_escaped_for_spreadsheets(db, client, lead):
    entry = make_entry(lead, said="=HYPERLINK(\"http://bad.example\")", organisation="Clinic")
    publish(entry)
    db.session.commit()
    response = client.get("/you-said-we-did.csv")
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1][CSV_COLUMNS.index("you_said")].startswith("'=")


def test_query_count_per_page_does_not_grow_with_the_page(db, client, lead, app):
    few = _published(lead, 2)
    for entry in few:
        services.link_feedback(lead, entry, make_feedback().id)
    db.session.commit()

    def queries(url: str) -> int:
        statements = []

        def count(*args):
            statements.append(1)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    small = queries("/you-said-we-did")
    many = _published(lead, 30)
    for entry in many:
        services.link_feedback(lead, entry, make_feedback().id)
    db.session.commit()
    assert queries("/you-said-we-did") == small
    assert queries("/you-said-we-did.json") <= small
    assert small <= 6


def test_measures(db, lead):
    today = days_ago(0)
    linked_done = make_feedback(received_on=days_ago(20))
    linked_planned = make_feedback(received_on=days_ago(5))
    make_feedback(received_on=days_ago(45))  # waiting, no reply
    replied = make_feedback(received_on=days_ago(50))
    feedback_services.reply_to_feedback(make_staff(Role.FACILITATOR), replied, "Thanks")
    closed = make_feedback(received_on=days_ago(60), status=FeedbackStatus.CLOSED)
    assert closed.status == FeedbackStatus.CLOSED
    done = make_entry(lead, status=ChangeStatus.DONE, completed_on=days_ago(10))
    planned = make_entry(lead)
    services.link_feedback(lead, done, linked_done.id)
    services.link_feedback(lead, planned, linked_planned.id)
    publish(done)
    publish(planned)
    result = services.measures(today)
    assert result.total_feedback == 5 and result.linked_feedback == 2
    assert result.linked_share == pytest.approx(0.4)
    assert result.median_days_to_done == 10
    assert result.waiting_over_30_days == 1


def test_measures_page_for_staff(browser_like, db):
    from tests.factories import sign_in

    facilitator = make_staff(Role.FACILITATOR)
    make_feedback(received_on=days_ago(40))
    db.session.commit()
    sign_in(browser_like, facilitator)
    html = browser_like.get("/staff/changes/measures").get_data(as_text=True)
    assert "Feedback waiting more than 30 days without a reply" in html
    assert 'id="measure-waiting">1' in html
    assert "0% (0 of 1)" in html
