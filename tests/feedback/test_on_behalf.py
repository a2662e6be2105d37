"""Staff enter anonymous feedback on someone's behalf (by phone, on paper, in an interview),
with the person's agreement: the item keeps only how it reached us."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import func, select

from engage.core.permissions import Role
from engage.errors import NotAllowed, ValidationFailed
from engage.extensions import db as _db
from engage.feedback import services
from engage.feedback.models import ANONYMOUS_TABLES, EntryMethod, FeedbackGiver, FeedbackItem
from tests.anonymity import TimeFinder, raw_rows, times_in_anonymous_tables
from tests.conftest import csrf_from
from tests.factories import make_member, make_staff, sign_in
from tests.feedback.helpers import TOKEN_RE, check_code, code_from

URL = "/staff/feedback/on-behalf"
SAID = "The phone line was kind and the wait was short."


@pytest.fixture
def facilitator(db):
    person = make_staff(Role.FACILITATOR)
    db.session.commit()
    return person


@pytest.fixture
def staff_browser(browser_like, facilitator):
    assert sign_in(browser_like, facilitator).status_code == 302
    return browser_like


def _post_page(client, page: str, **fields):
    data = {"csrf_token": csrf_from(page), "form_token": TOKEN_RE.search(page)[1],
            "method": "phone", "body": SAID, "may_quote": "no", "consent": "y", **fields}
    data = {key: value for key, value in data.items() if value is not None}
    return client.client.post(URL, data=data)


def _enter(client, **fields):
    return _post_page(client, client.get(URL).get_data(as_text=True), **fields)


def _items():
    return list(_db.session.scalars(select(FeedbackItem)))


def test_a_facilitator_enters_phone_feedback_and_can_pass_the_code_on(staff_browser, client):
    response = _enter(staff_browser)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "entered by staff by phone" in page
    code = code_from(response)
    [item] = _items()
    assert item.body == SAID and item.entry_method == EntryMethod.PHONE
    # The person uses the code like any other feedback code.
    checked = check_code(client, code).get_data(as_text=True)
    assert SAID in checked


def test_triage_shows_entered_by_staff_and_how(staff_browser):
    _enter(staff_browser, method="paper")
    [item] = _items()
    queue = staff_browser.get("/staff/feedback").get_data(as_text=True)
    assert "Entered by staff: on paper" in queue
    detail = staff_browser.get(f"/staff/feedback/{item.id}").get_data(as_text=True)
    assert "Entered by staff: on paper" in detail
    assert "Anonymous" in detail


def test_feedback_given_by_the_person_themselves_is_not_marked_as_entered_by_staff(db):
    given = services.give_feedback(None, body="I sent this myself.")
    assert given.item.entry_method is None
    assert given.item.entered_by_staff_label is None


def test_feedback_is_not_entered_without_the_persons_agreement(staff_browser):
    response = _enter(staff_browser, consent=None)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "confirm the person agreed to you entering this" in page
    assert SAID in page  # what was typed is kept
    assert _items() == []


def test_choosing_how_the_feedback_was_taken_is_required(staff_browser):
    response = _enter(staff_browser, method=None)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose how the person gave you their feedback." in page
    assert SAID in page
    assert _items() == []


def test_sending_the_page_twice_keeps_one_item_and_shows_the_same_code(staff_browser):
    page = staff_browser.get(URL).get_data(as_text=True)
    first = _post_page(staff_browser, page)
    again = _post_page(staff_browser, page)
    assert code_from(first) == code_from(again)
    assert "already been sent" in again.get_data(as_text=True)
    assert len(_items()) == 1


def test_only_staff_who_triage_feedback_can_enter_it_for_someone(db):
    for person in (make_member(), make_staff(Role.FINANCE), make_staff(Role.SAFEGUARDING_LEAD)):
        with pytest.raises(NotAllowed):
            services.give_feedback_on_behalf(person, method="phone", consented=True, body=SAID)
    assert _items() == []


def test_the_service_refuses_an_unknown_method_or_no_consent(db, facilitator):
    with pytest.raises(ValidationFailed):
        services.give_feedback_on_behalf(facilitator, method="email", consented=True, body=SAID)
    with pytest.raises(ValidationFailed):
        services.give_feedback_on_behalf(facilitator, method="phone", consented=False,
                                         body=SAID)
    assert _items() == []


def _every_other_table() -> dict[str, list[tuple]]:
    return {table.name: sorted(map(repr, raw_rows(table.name)))
            for table in _db.metadata.sorted_tables if table.name not in ANONYMOUS_TABLES}


def test_assisted_anonymous_feedback_carries_no_staff_id_and_nothing_lining_it_up_with_the_sign_in(
        staff_browser, facilitator):
    page = staff_browser.get(URL).get_data(as_text=True)
    started = time.time()
    before = _every_other_table()
    response = _post_page(staff_browser, page, method="interview")
    assert response.status_code == 200
    _db.session.expire_all()
    # Nothing outside the anonymous tables changed: no audit row, no giver, no link, no
    # "last seen" time, so nothing names the member of staff or the moment they entered it.
    assert _every_other_table() == before
    assert _db.session.scalar(select(func.count()).select_from(FeedbackGiver)) == 0
    # The item itself holds the method label and nothing about who or when (beyond the day).
    [row] = raw_rows("feedback_items")
    columns = [c.name for c in FeedbackItem.__table__.columns]
    stored = dict(zip(columns, row, strict=True))
    assert stored["entry_method"] == "interview"
    for name in ("body", "code_lookup"):
        assert facilitator.username not in str(stored[name])
    assert not any("user" in name or "staff" in name or "by_id" in name for name in columns)
    assert times_in_anonymous_tables(TimeFinder(started, time.time())) == {}


def test_the_request_log_keeps_no_time_for_feedback_entered_on_someones_behalf(
        staff_browser, caplog):
    caplog.set_level(logging.INFO, logger="engage.request")
    _enter(staff_browser)
    logged = [r for r in caplog.records if r.name == "engage.request"
              and getattr(r, "route", "") == URL]
    assert [r.method for r in logged] == ["GET", "POST"]
    assert all(r.untimed for r in logged)
