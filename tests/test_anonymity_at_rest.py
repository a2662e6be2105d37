"""Anonymity against someone who holds the database file or a backup, but not the keys
(SECRET_KEY, FIELD_ENCRYPTION_KEY).

They can read every clear column, row ids, the physical order of rows (SQLite's rowid,
PostgreSQL's ctid), PostgreSQL's transaction id of each row (xmin: rows written in one
transaction share it, and it grows with time), and every stored byte. These tests play that
person. They run on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set (CI runs both).
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from werkzeug.datastructures import MultiDict

from engage.consultations import services as consultations
from engage.consultations.models import AnonymousAnswer, AnonymousResponse, QuestionKind
from engage.core.anonymity import ANONYMOUS_TABLES, vacuum_anonymous_tables
from engage.core.crypto import FieldCipher
from engage.core.models import AnonymousActivityCount, AuditEvent
from engage.core.permissions import Role
from engage.equality import services as equality
from engage.extensions import db as _db
from engage.feedback import services as feedback
from engage.feedback.models import FeedbackItem
from tests.anonymity import EXPECTED_ANONYMOUS_TABLES, TimeFinder, times_in_anonymous_tables
from tests.factories import make_member, make_staff
from tests.factories_consultations import make_consultation, question
from tests.factories_panels import make_membership, make_panel
from tests.feedback.helpers import check_code, code_from, give_via_page

PEOPLE = 16
# A uniformly random order matches a guess at k of 16 places with probability about
# e^-1 / k!; 8 or more happens about once in 100,000 runs. An order that leaks does far better.
MOST_A_GUESS_MAY_MATCH = 7


@pytest.fixture
def request_ctx(app):
    with app.test_request_context("/"):
        yield


def postgres() -> bool:
    return _db.engine.dialect.name == "postgresql"


def _answer(user, consultation, words: str, choice: str, token: str | None = None):
    data = MultiDict({f"q{question(consultation, QuestionKind.FREE_TEXT).id}": words,
                      f"q{question(consultation, QuestionKind.SINGLE_CHOICE).id}": choice})
    parsed, errors = consultations.parse_answers(consultation, data, enforce_required=True)
    assert not errors
    return consultations.submit_answers(user, consultation, parsed, form_token=token)


def _worker_runs() -> None:
    consultations.add_waiting_answers()
    feedback.mix_recent_feedback()
    _db.session.commit()


# --- what the attacker can line up -----------------------------------------------------------


def _orders(table: str, key_column: str, text_column: str | None) -> dict[str, list]:
    """For each thing readable from the stored rows, the rows' keys in the order it gives."""
    orders = {
        "primary key": [r[0] for r in _db.session.execute(
            text(f'SELECT {key_column} FROM "{table}" ORDER BY {key_column}'))],  # noqa: S608
    }
    if postgres():
        orders["physical order (ctid)"] = [r[0] for r in _db.session.execute(
            text(f'SELECT {key_column} FROM "{table}" ORDER BY ctid'))]  # noqa: S608
    else:
        # A WITHOUT ROWID table has no rowid: it is stored in primary-key order.
        has_rowid = "WITHOUT ROWID" not in (_db.session.execute(text(
            "SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}).scalar() or "")
        if has_rowid:
            orders["physical order (rowid)"] = [r[0] for r in _db.session.execute(
                text(f'SELECT {key_column} FROM "{table}" ORDER BY rowid'))]  # noqa: S608
    if text_column:
        orders["ciphertext bytes"] = [r[0] for r in _db.session.execute(text(
            f'SELECT {key_column} FROM "{table}" WHERE {text_column} IS NOT NULL '  # noqa: S608
            f"ORDER BY {text_column}"))]
    return orders


def _transaction_ids(table: str) -> list[int]:
    return [r[0] for r in _db.session.execute(
        text(f'SELECT xmin::text::bigint FROM "{table}"'))]  # noqa: S608


def _best_guess(observed: list, person_of: dict) -> int:
    """How many people an attacker names rightly by taking the observed order (or its
    reverse) as the order people answered in."""
    ranks = [person_of[key] for key in observed if key in person_of]
    forwards = sum(1 for place, person in enumerate(ranks) if place == person)
    backwards = sum(1 for place, person in enumerate(reversed(ranks)) if place == person)
    return max(forwards, backwards)


def _assert_no_better_than_chance(table, key_column, text_column, person_of):
    for what, observed in _orders(table, key_column, text_column).items():
        guessed = _best_guess(observed, person_of)
        assert guessed <= MOST_A_GUESS_MAY_MATCH, (
            f"{table}: the {what} names {guessed} of {len(person_of)} people")
    if postgres():
        assert len(set(_transaction_ids(table))) == 1, f"{table}: rows carry their own xmin"


def _people_of_answers(consultation) -> tuple[dict, dict]:
    """Which person (by arrival) each stored response and answer belongs to, read with the
    key, as only the test can."""
    by_response, by_answer = {}, {}
    for answer in _db.session.scalars(select(AnonymousAnswer)):
        match = re.fullmatch(r"answer from person (\d+)", answer.text or "")
        if match:
            by_response[answer.response_id] = int(match[1])
    for answer in _db.session.scalars(select(AnonymousAnswer)):
        if answer.response_id in by_response and answer.text:
            by_answer[answer.id] = by_response[answer.response_id]
    return by_response, by_answer


# --- item 2 --------------------------------------------------------------------------------


def _members_answer_in_a_known_order(panel_size: int = PEOPLE):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator])
    consultation = make_consultation(panel=panel, anonymous=True)
    people = []
    for n in range(panel_size):
        person = make_member(display_name=f"Person {n}")
        make_membership(panel, person)
        equality.save_answers(person, {"sex": "female" if n % 2 else "male"})
        people.append(person)
    _db.session.commit()
    for n, person in enumerate(people):
        _answer(person, consultation, f"answer from person {n}", "1" if n % 3 else "2")
        _db.session.commit()
        _worker_runs()  # the worker may run between any two answers
    return facilitator, consultation


def test_item_2_nobody_can_line_up_anonymous_answers_with_who_answered(db, request_ctx):
    facilitator, consultation = _members_answer_in_a_known_order()
    receipts = "participation_receipts"
    # The attacker's reference: the named receipts do show the order people answered in.
    if postgres():
        named = _transaction_ids(receipts)
        assert named == sorted(named) and len(set(named)) == PEOPLE
    consultations.close_consultation(facilitator, consultation)
    db.session.commit()

    by_response, by_answer = _people_of_answers(consultation)
    assert len(by_response) == PEOPLE
    _assert_no_better_than_chance("anonymous_responses", "id", None, by_response)
    _assert_no_better_than_chance("anonymous_answers", "id", "text", by_answer)
    if postgres():
        assert len(set(_transaction_ids("equality_snapshots"))) == 1
        assert not set(_transaction_ids("anonymous_responses")) & set(
            _transaction_ids(receipts)), "never written in step with a receipt"
    days = {r.submitted_on for r in db.session.scalars(select(AnonymousResponse))}
    assert len(days) == 1, "only the day is kept"


def test_item_2_while_open_answers_are_added_in_batches_of_at_least_five(db, request_ctx):
    _facilitator, consultation = _members_answer_in_a_known_order(12)
    added = consultations.response_count(consultation)
    waiting = consultations.waiting_count(consultation)
    assert added + waiting == 12
    assert added == 10 and waiting == 2, "two batches of five so far"
    if postgres():
        batches = Counter(_transaction_ids("anonymous_responses"))
        assert sorted(batches.values()) == [5, 5]
        assert not set(batches) & set(_transaction_ids("participation_receipts"))


def test_item_2_visitors_without_an_account_cannot_be_put_in_order_either(app, db, request_ctx):
    staff = make_staff(Role.PROGRAMME_LEAD)
    consultation = make_consultation(anonymous=True, created_by=staff)
    db.session.commit()
    for n in range(PEOPLE):
        _answer(None, consultation, f"answer from person {n}", "1", token=f"page-{n}")
        db.session.commit()
        _worker_runs()
    consultations.close_consultation(staff, consultation)
    db.session.commit()
    by_response, by_answer = _people_of_answers(consultation)
    assert len(by_response) == PEOPLE
    _assert_no_better_than_chance("anonymous_responses", "id", None, by_response)
    _assert_no_better_than_chance("anonymous_answers", "id", "text", by_answer)


def test_item_2_anonymous_feedback_cannot_be_put_in_order_of_arrival(app, db, client):
    app.config["FEEDBACK_CODE_SCRYPT_N"] = 2**4
    app.config["FEEDBACK_GIVE_LIMIT"] = "100 per hour"  # sixteen people, one test client
    for n in range(PEOPLE):
        assert give_via_page(client, f"feedback from person {n}").status_code == 200
    _worker_runs()
    person_of = {}
    for item in db.session.scalars(select(FeedbackItem)):
        person_of[item.id] = int(re.fullmatch(r"feedback from person (\d+)", item.body)[1])
    assert len(person_of) == PEOPLE
    _assert_no_better_than_chance("feedback_items", "id", "body", person_of)


# --- item 1 --------------------------------------------------------------------------------


def test_item_1_no_stored_byte_of_an_anonymous_record_decodes_to_a_time_finer_than_the_day(
        app, db, client, request_ctx):
    app.config["FEEDBACK_CODE_SCRYPT_N"] = 2**4
    started = time.time()
    facilitator, consultation = _members_answer_in_a_known_order(6)
    public = make_consultation(anonymous=True, created_by=facilitator)
    db.session.commit()
    _answer(None, public, "a visitor's answer", "2", token="visitor-page")
    given = give_via_page(client, "The waiting room felt safe.")
    item = db.session.scalar(select(FeedbackItem))
    triage = make_staff(Role.FACILITATOR)
    feedback.reply_to_feedback(triage, item, "Thank you for telling us.")
    feedback.set_themes(triage, item, ["Waiting rooms"])
    db.session.commit()
    second = give_via_page(client, "Please open later in the evening.")
    check_code(client, code_from(second), "/feedback/check/withdraw", confirmed="yes")
    check_code(client, code_from(given), "/feedback/check/delete-replies")
    consultations.close_consultation(facilitator, consultation)
    _worker_runs()
    equality.build_tallies()
    db.session.commit()
    finder = TimeFinder(started, time.time())
    assert finder.in_value(Fernet(Fernet.generate_key()).encrypt(b"x").decode()), \
        "the search finds the time a Fernet token carries"
    assert not finder.in_value(FieldCipher(app.config["FIELD_ENCRYPTION_KEY"]).encrypt("x"))

    assert set(ANONYMOUS_TABLES) == EXPECTED_ANONYMOUS_TABLES
    assert times_in_anonymous_tables(finder) == {}
    counted = {r.action for r in db.session.scalars(select(AnonymousActivityCount))}
    assert counted, "the anonymous tables held something to search"


# --- item 3 --------------------------------------------------------------------------------


def test_item_3_anonymous_actions_leave_a_daily_count_and_no_audit_row_with_a_time(
        app, db, client, request_ctx):
    app.config["FEEDBACK_CODE_SCRYPT_N"] = 2**4
    facilitator, consultation = _members_answer_in_a_known_order(6)
    given = give_via_page(client, "The nurse was kind.")
    item = db.session.scalar(select(FeedbackItem))
    feedback.reply_to_feedback(make_staff(Role.FACILITATOR), item, "Thank you.")
    db.session.commit()
    check_code(client, code_from(given), "/feedback/check/delete-replies")
    check_code(client, code_from(given), "/feedback/check/withdraw", confirmed="yes")
    consultations.close_consultation(facilitator, consultation)
    db.session.commit()

    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert not {a for a in actions if "anonym" in a or "by_giver" in a}, actions
    counts = {(r.action, r.count) for r in db.session.scalars(select(AnonymousActivityCount))}
    assert counts == {("consultation.answered_anonymously", 6),
                      ("feedback.replies_deleted_by_giver", 1),
                      ("feedback.withdrawn_by_giver", 1)}
    days = {r.day for r in db.session.scalars(select(AnonymousActivityCount))}
    assert len(days) == 1


def test_item_2_the_daily_vacuum_runs_on_a_database_file(app, db, tmp_path):
    """Old row versions and first-written byte order go once a day (a file or a server: an
    in-memory database has nothing to clean)."""
    from tests.conftest import make_app

    if postgres():
        assert vacuum_anonymous_tables() is True
        return
    assert vacuum_anonymous_tables() is False, "nothing to clean in memory"
    on_file = make_app(f"sqlite:///{tmp_path / 'vacuum.sqlite3'}")
    with on_file.app_context():
        _db.create_all()
        assert vacuum_anonymous_tables() is True
        _db.session.remove()
        _db.engine.dispose()
