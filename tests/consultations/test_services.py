"""Consultation rules: states, building, answering, anonymity, results, tags, export,
notifications."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select
from werkzeug.datastructures import MultiDict

from engage.consultations import services
from engage.consultations.models import (
    AnonymousAnswer,
    AnonymousResponse,
    ConsultationState,
    ParticipationReceipt,
    QuestionKind,
    Response,
)
from engage.consultations.tallies import fewer_than_five
from engage.core import clock
from engage.core.csv import to_csv
from engage.core.models import AuditEvent, Notification, OutboxMessage
from engage.core.permissions import Role
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.extensions import db as _db
from engage.panels import services as panel_services
from engage.panels.models import Attribution, MembershipState
from engage.worker import jobs_of
from tests.factories import make_member, make_staff
from tests.factories_consultations import make_consultation, question
from tests.factories_panels import make_membership, make_panel

pytestmark = pytest.mark.usefixtures("request_ctx")


@pytest.fixture
def facilitator(db):
    return make_staff(Role.FACILITATOR)


@pytest.fixture
def panel(db, facilitator):
    return make_panel(facilitators=[facilitator])


@pytest.fixture
def member(db, panel):
    person = make_member(display_name="River")
    make_membership(panel, person)
    return person


def form(consultation, **answers) -> MultiDict:
    """Answers keyed by question kind: single/multiple/scale/text/consent."""
    data = MultiDict()
    kinds = {"single": QuestionKind.SINGLE_CHOICE, "multiple": QuestionKind.MULTIPLE_CHOICE,
             "scale": QuestionKind.SCALE, "text": QuestionKind.FREE_TEXT}
    for key, value in answers.items():
        if key == "token":
            continue
        if key == "consent":
            data.add(f"q{question(consultation, QuestionKind.FREE_TEXT).id}-consent", value)
            continue
        name = f"q{question(consultation, kinds[key]).id}"
        for item in value if isinstance(value, list) else [value]:
            data.add(name, item)
    return data


def answer(user, consultation, **answers):
    parsed, errors = services.parse_answers(consultation, form(consultation, **answers),
                                            enforce_required=True)
    assert not errors, errors
    return services.submit_answers(user, consultation, parsed,
                                   form_token=answers.get("token"))


def settle(consultation):
    """Add waiting anonymous answers now, as the worker does at the latest at the close."""
    services.settle_anonymous_answers(consultation)
    return consultation


# --- building and states --------------------------------------------------------------------


def _details(**overrides):
    now = clock.now()
    values = dict(title="Waiting times", opens_at=now, closes_at=now + timedelta(days=10),
                  summary="Tell us", background="<p>Why</p><img src=x onerror=alert(1)>")
    values.update(overrides)
    return services.ConsultationDetails(**values)


def test_build_open_close_publish(db, facilitator, panel):
    consultation = services.create_consultation(facilitator, panel, _details())
    assert consultation.state == ConsultationState.DRAFT
    assert consultation.background_html == "<p>Why</p>"
    part = consultation.parts[0]
    with pytest.raises(InvalidState, match="at least one question"):
        services.open_consultation(facilitator, consultation)
    for kind, extra in [
        (QuestionKind.FREE_TEXT, {"max_length": 300}),
        (QuestionKind.SINGLE_CHOICE, {"options": ["Yes", "No"]}),
        (QuestionKind.MULTIPLE_CHOICE, {"options": ["A", "B", "C"]}),
        (QuestionKind.SCALE, {"scale_low_label": "Not at all", "scale_high_label": "Very"}),
    ]:
        services.add_question(facilitator, consultation, services.QuestionDetails(
            kind=kind, text=f"A {kind} question", part_id=part.id, **extra))
    assert [q.kind for q in consultation.ordered_questions()] == [
        "free_text", "single_choice", "multiple_choice", "scale"]
    services.open_consultation(facilitator, consultation)
    assert consultation.state == ConsultationState.OPEN
    with pytest.raises(InvalidState):
        services.open_consultation(facilitator, consultation)
    with pytest.raises(InvalidState, match="once the consultation has closed"):
        services.publish_results(facilitator, consultation)
    services.close_consultation(facilitator, consultation)
    services.publish_results(facilitator, consultation)
    assert consultation.state == ConsultationState.PUBLISHED and consultation.published_at
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "consultation")).all()
    assert {"consultation.opened", "consultation.closed",
            "consultation.results_published"} <= set(actions)


def test_choice_questions_need_two_distinct_options(db, facilitator, panel):
    consultation = services.create_consultation(facilitator, panel, _details())
    part_id = consultation.parts[0].id
    for options in (["Only one"], ["Same", "same"]):
        with pytest.raises(ValidationFailed):
            services.add_question(facilitator, consultation, services.QuestionDetails(
                kind=QuestionKind.SINGLE_CHOICE, text="Q", part_id=part_id, options=options))


def test_questions_after_a_content_note_are_never_required(db, facilitator, panel):
    consultation = services.create_consultation(facilitator, panel, _details())
    part = services.add_part(facilitator, consultation, "Reporting",
                             content_note="Mentions reporting to the police.")
    added = services.add_question(facilitator, consultation, services.QuestionDetails(
        kind=QuestionKind.FREE_TEXT, text="Tell us", part_id=part.id, required=True))
    assert added.required is False


def test_questions_lock_once_anyone_has_answered_but_close_can_be_extended(
        db, facilitator, panel, member):
    consultation = make_consultation(panel=panel)
    services.add_question(facilitator, consultation, services.QuestionDetails(
        kind=QuestionKind.FREE_TEXT, text="Still editable", part_id=consultation.parts[0].id))
    answer(member, consultation, single="1")
    with pytest.raises(InvalidState, match="started answering"):
        services.add_question(facilitator, consultation, services.QuestionDetails(
            kind=QuestionKind.FREE_TEXT, text="Too late", part_id=consultation.parts[0].id))
    with pytest.raises(InvalidState):
        services.delete_question(facilitator, consultation,
                                 consultation.ordered_questions()[0].id)
    later = consultation.closes_at + timedelta(days=7)
    with pytest.raises(ValidationFailed, match="later than the current one"):
        services.extend_closing(facilitator, consultation, consultation.closes_at)
    services.extend_closing(facilitator, consultation, later)
    assert consultation.closes_at == later


def test_only_the_panels_staff_manage_its_consultations(db, facilitator, panel, member):
    consultation = make_consultation(panel=panel)
    other = make_staff(Role.FACILITATOR)
    assert services.can_manage(facilitator, consultation)
    assert services.can_manage(make_staff(Role.PROGRAMME_LEAD), consultation)
    assert not services.can_manage(other, consultation)
    assert not services.can_manage(member, consultation)
    with pytest.raises(NotFound):
        services.close_consultation(other, consultation)
    with pytest.raises(NotFound):
        services.create_consultation(other, panel, _details())


def test_panel_consultations_are_for_members_only(db, panel, member):
    consultation = make_consultation(panel=panel)
    assert services.can_see(member, consultation)
    assert not services.can_see(make_member(), consultation)
    assert not services.can_see(None, consultation)
    with pytest.raises(NotFound):
        services.check_can_answer(make_member(), consultation)
    draft = make_consultation(panel=panel, state=ConsultationState.DRAFT)
    assert not services.can_see(member, draft)


# --- answering -------------------------------------------------------------------------------


def test_field_level_errors(db, panel, member):
    consultation = make_consultation(panel=panel, required_text=True)
    data = form(consultation, single=["1", "2"], multiple=["1", "prefer_not_to_say"],
                scale="9")
    _parsed, errors = services.parse_answers(consultation, data, enforce_required=True)
    by_kind = {q.kind: errors.get(q.id) for q in consultation.ordered_questions()}
    assert by_kind["single_choice"] == "Choose one option."
    assert "not both" in by_kind["multiple_choice"]
    assert by_kind["scale"] == "Choose from the options shown."
    assert "Answer this question" in by_kind["free_text"]
    too_long = form(consultation, text="x" * 201)
    _, errors = services.parse_answers(consultation, too_long, enforce_required=False)
    assert "201 characters long" in errors[question(consultation, "free_text").id]
    _, errors = services.parse_answers(consultation, MultiDict(), enforce_required=False)
    assert errors == {}, "a saved draft may leave required questions for later"


def test_prefer_not_to_say_is_an_answer_to_a_required_choice(db, panel):
    consultation = make_consultation(panel=panel)
    single = question(consultation, QuestionKind.SINGLE_CHOICE)
    single.required = True
    parsed, errors = services.parse_answers(
        consultation, form(consultation, single="prefer_not_to_say"), enforce_required=True)
    assert errors == {} and parsed[single.id].prefer_not_to_say


def test_save_come_back_then_send_then_edit_until_close(db, panel, member):
    consultation = make_consultation(panel=panel)
    parsed, _ = services.parse_answers(consultation, form(consultation, text="First thoughts"),
                                       enforce_required=False)
    services.save_draft(member, consultation, parsed)
    response = services.own_response(member, consultation)
    assert response.status == "draft"
    assert not services.has_taken_part(member, consultation)
    answer(member, consultation, text="Final thoughts", single="2")
    answer(member, consultation, text="Changed my mind", single="1")
    assert services.response_count(consultation) == 1
    rows = {a.question_id: a for a in services.own_response(member, consultation).answers}
    assert rows[question(consultation, "free_text").id].text == "Changed my mind"
    consultation.state = ConsultationState.CLOSED
    with pytest.raises(InvalidState, match="closed on"):
        answer(member, consultation, text="Too late")


def test_not_yet_open_refuses_with_the_opening_time(db, panel, member):
    consultation = make_consultation(panel=panel, opens_at=clock.now() + timedelta(days=2),
                                     closes_at=clock.now() + timedelta(days=9))
    with pytest.raises(InvalidState, match="opens on"):
        answer(member, consultation, single="1")


def test_named_consultations_need_an_account(db):
    consultation = make_consultation(anonymous=False)
    with pytest.raises(NotAllowed, match="sign in"):
        answer(None, consultation, single="1")


def test_double_submit_from_two_sessions_makes_one_named_response(db, panel, member):
    consultation = make_consultation(panel=panel)
    answer(member, consultation, single="1")
    _db.session.expunge_all()  # a second tab: nothing cached from the first
    answer(member, consultation, single="2")
    assert _db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_the_database_refuses_a_second_named_response(db, panel, member):
    from sqlalchemy.exc import IntegrityError

    consultation = make_consultation(panel=panel)
    _db.session.add(Response(consultation_id=consultation.id, user_id=member.id))
    _db.session.flush()
    with pytest.raises(IntegrityError), _db.session.begin_nested():
        _db.session.add(Response(consultation_id=consultation.id, user_id=member.id))


# --- anonymity ---------------------------------------------------------------------------------


def test_anonymous_answers_keep_no_link_to_the_person(db, panel, member):
    consultation = make_consultation(panel=panel, anonymous=True)
    parsed, _ = services.parse_answers(consultation, form(consultation, text="Draft"),
                                       enforce_required=False)
    services.save_draft(member, consultation, parsed)
    assert _db.session.scalar(select(func.count()).select_from(Response)) == 1
    result = answer(member, consultation, text="Honest answer", single="1")
    assert result.anonymous and not result.already_had_it
    assert _db.session.scalar(select(func.count()).select_from(Response)) == 0, \
        "the named draft is gone"
    receipt = _db.session.scalar(select(ParticipationReceipt))
    assert receipt.user_id == member.id and services.has_taken_part(member, consultation)
    assert _db.session.scalar(select(AnonymousResponse)) is None, "not written beside the receipt"
    assert services.waiting_count(consultation) == 1
    settle(consultation)
    stored = _db.session.scalar(select(AnonymousResponse))
    assert stored.submitted_on == clock.today_london()
    assert {a.text for a in stored.answers} == {None, "Honest answer"}
    assert services.waiting_count(consultation) == 0
    assert _db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "consultation.answered_anonymously")) is None


def test_answering_an_anonymous_consultation_twice_is_refused_quietly(db, panel, member):
    consultation = make_consultation(panel=panel, anonymous=True)
    answer(member, consultation, single="1")
    again = answer(member, consultation, single="2")
    assert again.already_had_it
    settle(consultation)
    assert _db.session.scalar(select(func.count()).select_from(AnonymousResponse)) == 1


def test_public_anonymous_consultation_without_an_account(db):
    consultation = make_consultation(anonymous=True)
    answer(None, consultation, single="1", token="page-token-1")
    repeat = answer(None, consultation, single="1", token="page-token-1")
    assert repeat.already_had_it, "a double click or the back button sends once"
    answer(None, consultation, single="2", token="page-token-2")
    settle(consultation)
    assert services.response_count(consultation) == 2
    again = answer(None, consultation, single="1", token="page-token-1")
    assert again.already_had_it, "also once the answers have been added"
    with pytest.raises(ValidationFailed, match="reload the page"):
        answer(None, consultation, single="1")


ANONYMOUS_TABLES = {"anonymous_responses", "anonymous_answers"}
# Tables with one row per consultation (shared by everyone who answers it), not per person.
CONSULTATION_LEVEL = {"consultations", "consultation_questions", "consultation_parts"}
IDENTIFYING = ("user", "ip", "address", "agent", "referrer", "created", "updated", "_at")


def test_no_path_from_an_anonymous_answer_to_a_person_in_the_schema(db):
    inspector = inspect(_db.engine)
    for table in ANONYMOUS_TABLES:
        referred = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
        assert referred <= ANONYMOUS_TABLES | CONSULTATION_LEVEL, (table, referred)
        for column in inspector.get_columns(table):
            assert not any(word in column["name"] for word in IDENTIFYING), column["name"]
            if column["name"] in ("id", "response_id"):
                assert "CHAR" in str(column["type"]).upper(), "random ids, not a sequence"
    for table in inspector.get_table_names():
        if table in ANONYMOUS_TABLES:
            continue
        referred = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
        assert not referred & ANONYMOUS_TABLES, f"{table} points at anonymous answers"
    receipt_columns = {c["name"] for c in inspector.get_columns("participation_receipts")}
    assert receipt_columns == {"consultation_id", "user_id", "took_part_on"}


def test_anonymous_order_of_arrival_is_not_kept(db):
    consultation = make_consultation(anonymous=True)
    for n in range(12):
        answer(None, consultation, text=f"answer {n}", token=f"t{n}")
    settle(consultation)
    listed = [r.values.text for r in services.answer_rows(consultation) if r.values.text]
    assert sorted(listed) == sorted(f"answer {n}" for n in range(12))
    assert listed != [f"answer {n}" for n in range(12)], "ordered by random id, not arrival"


# --- results --------------------------------------------------------------------------------------


def _many_answers(consultation, count, **answers):
    for n in range(count):
        answer(None, consultation, token=f"{consultation.id}-{n}-{answers}", **answers)
    settle(consultation)


def test_published_results_suppress_small_numbers_and_honour_consent(db):
    consultation = make_consultation(anonymous=True)
    _many_answers(consultation, 6, single="1", text="Quote me", consent="public")
    _many_answers(consultation, 2, single="2", text="Keep it in", consent="internal")
    _many_answers(consultation, 1, single="prefer_not_to_say")
    published = {r.question.kind: r for r in services.results(consultation, published=True)}
    single = published["single_choice"]
    assert [(o.label, o.published) for o in single.options] == [
        ("Yes", "6"), ("No", "fewer than 5"), ("Prefer not to say", "fewer than 5")]
    chart = str(single.chart)
    assert 'role="img"' in chart and "<title" in chart and "fewer than 5" in chart
    assert chart.count("<rect") == 1, "suppressed counts draw no bar that gives them away"
    texts = [r.values.text for r in published["free_text"].texts]
    assert texts == ["Quote me"] * 6
    staff = {r.question.kind: r for r in services.results(consultation, published=False)}
    assert [o.count for o in staff["single_choice"].options] == [6, 2, 1]
    assert len(staff["free_text"].texts) == 8


def test_quotes_are_credited_as_each_person_chose_and_never_when_anonymous(db, panel, member):
    named = make_consultation(panel=panel)
    panel_services.set_attribution(member, Attribution.PSEUDONYM, "Blue Heron")
    answer(member, named, text="Listen more", consent="public")
    row = services.results(named, published=True)[-1].texts[0]
    assert services.credit_line(row) == "Blue Heron"
    anonymous = make_consultation(panel=panel, anonymous=True)
    answer(member, anonymous, text="Listen more", consent="public")
    row = services.results(settle(anonymous), published=True)[-1].texts[0]
    assert services.credit_line(row) is None


def test_tags_and_filters(db, facilitator, panel):
    consultation = make_consultation(anonymous=True, created_by=facilitator)
    _many_answers(consultation, 2, text="Long waits")
    _many_answers(consultation, 1, text="Kind staff", consent="public")
    rows = [r for r in services.answer_rows(consultation) if r.values.text == "Long waits"]
    services.tag_answer(facilitator, consultation, rows[0].id, "  waiting   times ")
    services.tag_answer(facilitator, consultation, rows[0].id, "Waiting times")
    assert rows[0].values.tags == ["waiting times"]
    assert services.all_tags(consultation) == ["waiting times"]
    filtered = services.results(consultation, published=False, tag="waiting times")
    assert [r.values.text for r in filtered[-1].texts] == ["Long waits"]
    by_consent = services.results(consultation, published=False, consent="public")
    assert [r.values.text for r in by_consent[-1].texts] == ["Kind staff"]
    services.untag_answer(facilitator, consultation, rows[0].id, "waiting times")
    assert services.all_tags(consultation) == []
    with pytest.raises(NotFound):
        services.tag_answer(make_staff(Role.FACILITATOR), consultation, rows[0].id, "x")
    other = make_consultation(panel=panel)
    with pytest.raises(NotFound):
        services.tag_answer(facilitator, other, rows[0].id, "x")


def test_csv_export_is_formula_safe_and_carries_nothing_about_anonymous_people(
        db, facilitator, panel, member):
    consultation = make_consultation(panel=panel, anonymous=True)
    answer(member, consultation, text="=HYPERLINK(\"http://evil\")", single="1")
    second = make_member(display_name="Kit")
    make_membership(panel, second)
    answer(second, consultation, text="+1 -2 @3 café ✓")
    settle(consultation)
    rows = services.export_rows(facilitator, consultation)
    body = to_csv(services.CSV_HEADER, rows)
    assert body.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert parsed[0] == services.CSV_HEADER
    texts = [row[4] for row in parsed[1:] if row[3] == "What should change?"]
    assert "'=HYPERLINK(\"http://evil\")" in texts and "'+1 -2 @3 café ✓" in texts
    assert all(row[1] == "" for row in parsed[1:]), "no names for anonymous answers"
    assert "River" not in body and "Kit" not in body
    assert {row[0] for row in parsed[1:]} == {"Response 1", "Response 2"}
    assert _db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "consultation.exported")) == "consultation.exported"


def test_csv_export_of_a_named_consultation_names_people(db, facilitator, panel, member):
    consultation = make_consultation(panel=panel)
    answer(member, consultation, single="2")
    rows = services.export_rows(facilitator, consultation)
    assert rows[0][1] == "River" and rows[0][4] == "No"


# --- notifications and the schedule -------------------------------------------------------------


def test_panel_members_hear_about_a_new_consultation_once(db, panel, member):
    resting = make_member()
    make_membership(panel, resting, state=MembershipState.ON_BREAK)
    make_member()  # not on the panel
    consultation = make_consultation(panel=panel)
    assert services.send_due_notices() == 1
    assert services.send_due_notices() == 0, "never twice"
    notes = _db.session.scalars(select(Notification)).all()
    assert [n.user_id for n in notes] == [member.id]
    assert notes[0].link == f"/consultations/{consultation.id}"
    assert "Taking part is your choice" in notes[0].body


def test_a_new_consultation_notice_is_not_sent_to_someone_who_has_already_answered(
        db, panel, member):
    named_early, anonymous_early = make_member(), make_member()
    for person in (named_early, anonymous_early):
        make_membership(panel, person)
    named = make_consultation(panel=panel, title="Named")
    anonymous = make_consultation(panel=panel, title="Anonymous", anonymous=True)
    answer(named_early, named, single="1")
    answer(anonymous_early, anonymous, single="2")
    services.send_due_notices()
    told = {(n.user_id, n.link) for n in _db.session.scalars(select(Notification))}
    assert (member.id, f"/consultations/{named.id}") in told
    assert (member.id, f"/consultations/{anonymous.id}") in told
    assert (named_early.id, f"/consultations/{named.id}") not in told
    assert (anonymous_early.id, f"/consultations/{anonymous.id}") not in told
    assert (named_early.id, f"/consultations/{anonymous.id}") in told


def test_reminders_a_week_and_a_day_before_close_only_to_those_yet_to_answer(db, panel, member):
    answered = make_member(email="a@example.org", email_is_safe=True)
    make_membership(panel, answered)
    start = clock.now()
    consultation = make_consultation(panel=panel, opens_at=start,
                                     closes_at=start + timedelta(days=20))
    answer(answered, consultation, single="1")
    services.send_due_notices()  # the opening notice
    _db.session.query(Notification).delete()
    with clock.frozen(start + timedelta(days=14)):
        assert services.send_due_notices() == 1
        assert services.send_due_notices() == 0
    with clock.frozen(start + timedelta(days=19, hours=2)):
        assert services.send_due_notices() == 1
        assert services.send_due_notices() == 0
    reminders = _db.session.scalars(select(Notification)).all()
    assert [n.user_id for n in reminders] == [member.id, member.id]
    assert all(n.title == "A consultation closes soon" for n in reminders)
    assert "that is fine too" in reminders[0].body
    emails = _db.session.scalars(select(OutboxMessage.user_id)).all()
    assert answered.id not in emails, "answered before the opening notice: nothing at all"


def test_close_due_consultations(db, panel, member):
    start = clock.now()
    consultation = make_consultation(panel=panel, anonymous=True, opens_at=start,
                                     closes_at=start + timedelta(hours=1))
    parsed, _ = services.parse_answers(consultation, form(consultation, text="unsent"),
                                       enforce_required=False)
    services.save_draft(member, consultation, parsed)
    assert services.close_due_consultations() == 0
    with clock.frozen(start + timedelta(hours=2)):
        assert services.close_due_consultations() == 1
        assert services.close_due_consultations() == 0
    _db.session.refresh(consultation)
    assert consultation.state == ConsultationState.CLOSED
    assert _db.session.scalar(select(func.count()).select_from(Response)) == 0, \
        "unsent named drafts of an anonymous consultation are deleted at the close"


def test_worker_runs_the_jobs(app, db, panel, member):
    make_consultation(panel=panel)
    _db.session.commit()
    jobs = {job.name: job.run for job in jobs_of(app)}
    assert jobs["consultations_notices"]("w1") == 1
    assert jobs["consultations_close_due"]("w1") == 0


def test_anonymous_answers_are_not_in_anyones_data_export(db, panel, member):
    from engage.core.personal_data import export_all

    consultation = make_consultation(panel=panel, anonymous=True)
    answer(member, consultation, text="Secret words")
    settle(consultation)
    exported = str(export_all(member))
    assert "Secret words" not in exported
    assert consultation.title in exported, "the receipt says they took part"
    assert _db.session.scalar(select(func.count()).select_from(AnonymousAnswer)) >= 1


def test_fewer_than_five_formatting():
    assert fewer_than_five(0) == "fewer than 5"
    assert fewer_than_five(4) == "fewer than 5"
    assert fewer_than_five(5) == "5"


def test_datetimes_are_utc():
    assert clock.from_london(datetime(2026, 7, 1, 9, 0)) == datetime(2026, 7, 1, 8, 0,
                                                                     tzinfo=UTC)


def test_sending_anonymously_leaves_none_of_the_named_draft_behind(db, panel, member):
    from engage.consultations.models import Answer

    consultation = make_consultation(panel=panel, anonymous=True)
    parsed, _ = services.parse_answers(consultation, form(consultation, text="draft words"),
                                       enforce_required=False)
    services.save_draft(member, consultation, parsed)
    assert _db.session.scalar(select(func.count()).select_from(Answer)) == 1
    answer(member, consultation, text="final words")
    assert _db.session.scalar(select(func.count()).select_from(Answer)) == 0
    assert _db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_closing_an_account_erases_named_answers_and_receipts(db, panel, member):
    from engage.consultations.models import Answer
    from engage.core.personal_data import erase_all

    named = make_consultation(panel=panel)
    anonymous = make_consultation(panel=panel, anonymous=True)
    answer(member, named, text="my named words")
    answer(member, anonymous, text="my anonymous words")
    settle(anonymous)
    erase_all(member)
    _db.session.flush()
    assert _db.session.scalar(select(func.count()).select_from(Answer)) == 0
    assert _db.session.scalar(select(func.count()).select_from(ParticipationReceipt)) == 0
    assert _db.session.scalar(select(func.count()).select_from(AnonymousAnswer)) == 1, \
        "anonymous answers stay: nothing links them to the person"
    assert panel.member_count == 0


def test_withdrawing_named_answers_only_while_open(db, panel, member):
    from engage.consultations.models import Answer

    consultation = make_consultation(panel=panel)
    answer(member, consultation, text="words")
    services.withdraw_response(member, consultation)
    assert _db.session.scalar(select(func.count()).select_from(Answer)) == 0
    assert services.own_response(member, consultation) is None
    with pytest.raises(NotFound):
        services.withdraw_response(member, consultation)
    answer(member, consultation, text="words again")
    consultation.state = ConsultationState.CLOSED
    with pytest.raises(InvalidState, match="contact the panel"):
        services.withdraw_response(member, consultation)


def test_a_lone_small_count_is_protected_by_hiding_the_next_smallest(db):
    consultation = make_consultation(anonymous=True)
    _many_answers(consultation, 9, single="1")
    _many_answers(consultation, 6, single="2", scale="3")
    _many_answers(consultation, 1, single="prefer_not_to_say", scale="4")
    single, _multiple, scale, _text = services.results(consultation, published=True)
    assert [(o.label, o.published) for o in single.options] == [
        ("Yes", "9"), ("No", "not shown"), ("Prefer not to say", "fewer than 5")]
    assert str(single.chart).count("<rect") == 1
    assert [o.published for o in scale.options] == [
        "fewer than 5", "fewer than 5", "6", "fewer than 5", "fewer than 5", "fewer than 5"], \
        "several small counts already protect each other"
    staff = services.results(consultation, published=False)[0]
    assert [o.count for o in staff.options] == [9, 6, 1]
