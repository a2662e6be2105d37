"""Each page type asks the database a fixed number of questions, however much data there is.

A page whose query count grows with the data (a query per entry, per event, per role) gets
slower for everyone as the programme grows; bench/pages.py measures the speed, these tests keep
the count where it was measured. Each test counts a page, adds more of what the page lists,
and counts again.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from engage.accounts.models import User
from engage.changes import services as change_services
from engage.consultations.models import Consultation
from engage.core.models import Notification
from engage.core.permissions import Role
from engage.demo import DEMO_PASSWORD, seed_demo
from engage.feedback import services as feedback_services
from engage.panels.models import Panel
from engage.payments import services as payment_services
from tests.conftest import FormClient
from tests.factories import make_member, make_staff, sign_in
from tests.factories_consultations import make_consultation
from tests.factories_events import make_event
from tests.factories_feedback import make_entry, make_feedback, publish
from tests.factories_panels import make_membership, make_panel
from tests.factories_payments import make_claim


def queries(db, client, path: str) -> int:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, path
    return len(statements)


@pytest.fixture
def demo(app, db):
    seed_demo()
    db.session.commit()


def signed_in(app, db, username: str) -> FormClient:
    client = FormClient(app.test_client())
    user = db.session.scalar(select(User).where(User.username == username))
    sign_in(client, user, DEMO_PASSWORD)
    db.session.expunge_all()  # each request loads what it needs, as in production
    return client


def more_entries(db, n: int = 12) -> None:
    lead = make_staff(Role.PROGRAMME_LEAD)
    for number in range(n):
        entry = make_entry(said=f"More entries to list, number {number}.",
                           organisation=f"Organisation {number}")
        publish(entry, lead)
        for _ in range(3):
            change_services.link_feedback(lead, entry, make_feedback().id)
    db.session.commit()
    db.session.expunge_all()


def more_for_member(db, username: str = "demo-member") -> None:
    member = db.session.scalar(select(User).where(User.username == username))
    for number in range(5):
        db.session.add(Notification(user_id=member.id, title=f"Message {number}",
                                    body="Something happened.", link="/account"))
        make_event(starts_in=timedelta(days=3 + number), title=f"Open event {number}")
    db.session.commit()
    db.session.expunge_all()


def test_public_log_asks_six_questions_then_one_while_nothing_changes(app, db, demo):
    visitor = app.test_client()
    assert queries(db, visitor, "/you-said-we-did") == 6  # version, entries, history, counts,
    assert queries(db, visitor, "/you-said-we-did") == 1  # organisations, themes; then version
    more_entries(db)
    assert queries(db, visitor, "/you-said-we-did") == 6
    assert queries(db, visitor, "/you-said-we-did") == 1


def test_a_visitors_kept_page_asks_only_its_version_and_makes_no_session(app, db, demo):
    """The one question a kept public page asks is answered without an ORM session
    (page_cache.current_version), and the request's end makes none to ask whether there is
    anything to commit (unit_of_work)."""
    made: list[bool] = []
    app.teardown_request(lambda _error: made.append(db.session.registry.has()))
    visitor = app.test_client()
    visitor.get("/you-said-we-did")
    db.session.remove()  # the tests share the request's app context: start it without one
    made.clear()
    assert queries(db, visitor, "/you-said-we-did") == 1
    assert made == [False]


def test_public_log_json_asks_five_questions_then_one(app, db, demo):
    visitor = app.test_client()
    # version, entries, history, counts, withdrawn entries' tombstones; then version
    assert queries(db, visitor, "/you-said-we-did.json") == 5
    assert queries(db, visitor, "/you-said-we-did.json") == 1
    more_entries(db)
    assert queries(db, visitor, "/you-said-we-did.json") == 5
    assert queries(db, visitor, "/you-said-we-did.json") == 1


def test_home_and_feedback_form_signed_out_ask_nothing(app, db, demo):
    visitor = app.test_client()
    more_entries(db)
    assert queries(db, visitor, "/") == 0
    assert queries(db, visitor, "/feedback") == 0


def test_signed_in_home_is_one_query_for_person_roles_and_messages(app, db, demo):
    member = signed_in(app, db, "demo-member")
    assert queries(db, member, "/") == 1
    more_for_member(db)
    assert queries(db, member, "/") == 1


def test_account_page_asks_one_question(app, db, demo):
    """The count of unused recovery codes is read with the person (wiring.read_with_person)."""
    member = signed_in(app, db, "demo-member")
    assert queries(db, member, "/account") == 1
    more_for_member(db)
    assert queries(db, member, "/account") == 1


def test_events_page_asks_two_questions_then_one_while_its_list_is_unchanged(app, db, demo):
    """The person with the filter's panels and what the list shows (as text, the kept page's
    key) in one query; when the page is drawn, the events with the person's bookings too
    (events/views.py)."""
    member = signed_in(app, db, "demo-member")
    assert queries(db, member, "/events/") == 2
    assert queries(db, member, "/events/") == 1
    more_for_member(db)
    assert queries(db, member, "/events/") == 2
    assert queries(db, member, "/events/") == 1


def test_consultation_page_asks_one_question(app, db, demo):
    """The person, the consultation (with its panel), their response and their receipt in one
    query: the page shows no questions, so its sections and questions are not loaded."""
    member = signed_in(app, db, "demo-member")
    consultation_id = db.session.scalar(
        select(Consultation.id).where(Consultation.panel_id.is_(None)))
    assert queries(db, member, f"/consultations/{consultation_id}") == 1
    more_for_member(db)
    assert queries(db, member, f"/consultations/{consultation_id}") == 1


def test_a_panel_consultations_page_asks_about_the_persons_place_once(app, db, demo):
    """The person with the page's own read, then whether they hold a place on the panel:
    asked once for both who may see the page and who may answer."""
    person = db.session.scalar(select(User).where(User.username == "demo-member"))
    panel = make_panel()
    make_membership(panel, person)
    page = f"/consultations/{make_consultation(panel=panel).id}"
    db.session.commit()
    member = signed_in(app, db, "demo-member")
    assert "Start" in member.get(page).get_data(as_text=True)
    assert queries(db, member, page) == 2
    more_for_member(db)
    assert queries(db, member, page) == 2


def test_programme_dashboard_asks_a_fixed_number_of_questions(app, db, demo):
    lead = signed_in(app, db, "demo-lead")
    lead.get("/")  # where signing in leads: its navigation counts the lead's work queues
    first = queries(db, lead, "/dashboard")
    more_entries(db)
    more_for_member(db)
    more_queued_work(db)
    # 30 for the figures (worked out on every visit in tests), plus the person's own query,
    # with the filter's panels and organisations (one text value) and the count of the lead's
    # three work queues in the navigation (feedback to triage, entries to approve, claims to
    # check) joined to it.
    assert queries(db, lead, "/dashboard") == first == 31


def test_the_dashboard_with_its_figures_kept_asks_one_question(app, db, demo):
    app.config["DASHBOARD_FIGURES_MAX_AGE"] = 600
    lead = signed_in(app, db, "demo-lead")
    # The first visit works the figures out and keeps them; the lead's work queues, not yet
    # counted in this process, are counted on their own.
    assert queries(db, lead, "/dashboard") > 30
    # Then the person, the filter's choices, the kept figures and the work queues: one query.
    assert queries(db, lead, "/dashboard") == 1
    more_entries(db)
    more_for_member(db)
    more_queued_work(db)
    assert queries(db, lead, "/dashboard") == 1
    panel_id = db.session.scalar(select(Panel.id).order_by(Panel.id).limit(1))
    chosen = f"/dashboard?panel={panel_id}&organisation=Organisation+3&question=age"
    assert queries(db, lead, chosen) > 30  # other filters, other figures: worked out and kept
    assert queries(db, lead, chosen) == 1
    # A panel that is not among the choices: the page uses the default filters (as before),
    # whose kept figures are read again once the choices are known.
    assert queries(db, lead, "/dashboard?panel=999999") == 2


def more_queued_work(db, n: int = 6) -> None:
    """More of everything the staff work queues count: new and flagged feedback, entries
    waiting for a second person, claims sent to demo-lead and claims waiting for finance."""
    lead = db.session.scalar(select(User).where(User.username == "demo-lead"))
    writer = make_staff(Role.PROGRAMME_LEAD)
    for number in range(n):
        item = make_feedback(body=f"More feedback to triage, number {number}.")
        feedback_services.flag_safeguarding(writer, item)
        entry = make_entry(writer, said=f"Waiting for approval, number {number}.")
        change_services.submit_for_approval(writer, entry)
        member = make_member()
        claim = make_claim(member, lead)
        payment_services.submit_claim(member, claim)
        checked = make_claim(member, writer, ref_id=90_000 + number)
        payment_services.submit_claim(member, checked)
        payment_services.lead_approve(writer, checked)
    db.session.commit()
    db.session.expunge_all()


@pytest.mark.parametrize(("username", "queue_counts"), [
    ("demo-lead", 3),  # feedback to triage, entries to approve, claims to check
    ("demo-finance", 1),  # claims to approve for payment
    ("demo-safeguarding", 1),  # safeguarding queue
])
def test_staff_work_queues_are_counted_in_one_query_however_much_is_waiting(
        app, db, demo, username, queue_counts):
    staff = signed_in(app, db, username)
    assert queries(db, staff, "/") == 2  # the person, then every queue counted at once
    more_queued_work(db)
    assert queries(db, staff, "/") == 2
    badges = re.findall(r'engage-badge--queue" aria-hidden="true">(\d+)<',
                        staff.get("/").get_data(as_text=True))
    assert len(badges) == queue_counts and all(int(b) >= 6 for b in badges)  # the work grew


def more_answers_entered_by_staff(db, consultation_id: int, n: int = 8) -> None:
    from engage.consultations.models import AnonymousAnswer, AnonymousResponse, Question

    first = db.session.scalar(select(Question.id).where(
        Question.consultation_id == consultation_id).order_by(Question.id))
    for number in range(n):
        db.session.add(AnonymousResponse(
            consultation_id=consultation_id, submitted_on=date(2026, 6, 1),
            entry_method=("phone", "paper", "interview")[number % 3],
            answers=[AnonymousAnswer(question_id=first, choices=["1"])]))
    db.session.commit()
    db.session.expunge_all()


def test_results_pages_ask_a_fixed_number_of_questions_however_many_staff_entered(
        app, db, demo):
    consultation_id = db.session.scalar(
        select(Consultation.id).where(Consultation.state == "published"))
    member = signed_in(app, db, "demo-member")
    staff = signed_in(app, db, "demo-facilitator")
    public, answers = (f"/consultations/{consultation_id}/results",
                       f"/consultations/{consultation_id}/responses")
    # Each includes one query for "N responses were entered by staff: ..." (one GROUP BY).
    counts = (queries(db, member, public), queries(db, staff, answers))
    more_answers_entered_by_staff(db, consultation_id)
    assert (queries(db, member, public), queries(db, staff, answers)) == counts
    assert counts == (10, 14)  # the staff page's 14 include one counting the work queues
    assert "8 responses were entered by staff" in member.get(public).get_data(as_text=True)
