"""Assisted responses: staff enter a person's consultation answers for them (by phone, on
paper, in an interview), with the person's agreement. Named answers keep the method and the
audit log says who entered them; anonymous ones take the sealed path every anonymous answer
takes and keep only the method label."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from engage.consultations import services
from engage.consultations.answers import AnswerInput
from engage.consultations.models import (
    AnonymousResponse,
    ConsultationState,
    Response,
    ResponseStatus,
)
from engage.core.anonymity import ANONYMOUS_TABLES
from engage.core.entry_method import EntryMethod
from engage.core.models import AuditEvent
from engage.core.permissions import Role
from engage.errors import InvalidState, NotFound, ValidationFailed
from engage.extensions import db as _db
from tests.anonymity import TimeFinder, raw_rows, times_in_anonymous_tables
from tests.conftest import csrf_from
from tests.factories import make_member, make_staff
from tests.factories_consultations import make_consultation, make_routed, question
from tests.factories_panels import PersonClient, make_membership, make_panel

SAID = "The evening sessions suited me better."
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


@pytest.fixture
def people(db):
    facilitator = make_staff(Role.FACILITATOR)
    river = make_member(display_name="River")
    kit = make_member(display_name="Kit")
    outsider = make_member(display_name="Sam")
    panel = make_panel(facilitators=[facilitator])
    make_membership(panel, river)
    make_membership(panel, kit)
    db.session.commit()
    return {"facilitator": facilitator, "river": river, "kit": kit, "outsider": outsider,
            "panel": panel, "other_facilitator": make_staff(Role.FACILITATOR)}


def _answers(consultation, **by_kind) -> dict[int, AnswerInput]:
    """Every question, empty unless given: like services.parse_answers returns them."""
    answers = {q.id: AnswerInput() for q in consultation.ordered_questions()}
    for kind, answer in by_kind.items():
        answers[question(consultation, kind).id] = answer
    return answers


def _text(words: str = SAID) -> AnswerInput:
    return AnswerInput(text=words, consent="internal")


def _enter(actor, consultation, answers=None, **options):
    values = {"method": "phone", "consented": True, **options}
    return services.answer_on_behalf(
        actor, consultation, answers or _answers(consultation, free_text=_text()), **values)


def _responses() -> list[Response]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(Response)))


def _add_waiting(app) -> None:
    app.config["ANONYMOUS_BATCH_SIZE"] = 1
    services.add_waiting_answers()
    _db.session.expire_all()


# --- the service --------------------------------------------------------------------------------


def test_named_answers_entered_by_phone_are_the_members_and_say_how(db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"])
    result = _enter(people["facilitator"], consultation, member_id=people["river"].id)
    assert result.member == people["river"] and result.method == EntryMethod.PHONE
    [response] = _responses()
    assert response.user_id == people["river"].id
    assert response.status == ResponseStatus.SUBMITTED
    assert response.entry_method == EntryMethod.PHONE
    assert [a.text for a in response.answers] == [SAID]
    [event] = _db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "consultation.answered_on_behalf"))
    assert event.actor_id == people["facilitator"].id
    assert event.details == {"response_id": response.id, "method": "phone", "consent": True}
    # River now counts as having answered: nobody can enter answers for her twice, and she is
    # not offered again.
    assert people["river"] not in services.members_to_answer_for(consultation)
    assert people["kit"] in services.members_to_answer_for(consultation)


def test_anonymous_answers_entered_on_paper_keep_only_the_method(app, db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"], anonymous=True)
    result = _enter(people["facilitator"], consultation, method="paper", form_token="page-1")
    assert result.member is None and not result.already_had_it
    # Sealed, like every anonymous answer, until the worker adds it with others.
    assert services.waiting_count(consultation) == 1
    assert _db.session.scalars(select(AnonymousResponse)).all() == []
    _add_waiting(app)
    [row] = _db.session.scalars(select(AnonymousResponse)).all()
    assert row.entry_method == EntryMethod.PAPER
    assert [a.text for a in row.answers] == [SAID]
    assert _responses() == []
    assert _db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "consultation.answered_on_behalf")).all() == []
    # The same page sent again is kept once.
    again = _enter(people["facilitator"], consultation, method="paper", form_token="page-1")
    assert again.already_had_it


def test_nothing_is_entered_without_the_persons_agreement(db, people, request_ctx):
    named = make_consultation(panel=people["panel"])
    anonymous = make_consultation(panel=people["panel"], anonymous=True)
    with pytest.raises(ValidationFailed, match="agreed to you entering"):
        _enter(people["facilitator"], named, member_id=people["river"].id, consented=False)
    with pytest.raises(ValidationFailed, match="agreed to you entering"):
        _enter(people["facilitator"], anonymous, consented=False, form_token="page")
    assert _responses() == []
    assert services.waiting_count(anonymous) == 0


def test_the_method_must_be_one_of_the_known_ones(db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"])
    for method in (None, "", "email"):
        with pytest.raises(ValidationFailed, match="how the person gave you their answers"):
            _enter(people["facilitator"], consultation, member_id=people["river"].id,
                   method=method)
    assert _responses() == []


def test_a_member_who_has_already_answered_cannot_have_answers_entered(db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"])
    services.submit_answers(people["river"], consultation,
                            _answers(consultation, free_text=_text("My own words.")))
    with pytest.raises(InvalidState, match="River has already sent answers"):
        _enter(people["facilitator"], consultation, member_id=people["river"].id)
    [response] = _responses()
    assert [a.text for a in response.answers] == ["My own words."]
    assert response.entry_method is None


def test_someone_outside_the_panel_cannot_be_chosen(db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"])
    for member_id in (people["outsider"].id, people["facilitator"].id, 999999, None):
        with pytest.raises(ValidationFailed):
            _enter(people["facilitator"], consultation, member_id=member_id)
    assert _responses() == []


def test_an_unsent_draft_is_replaced_by_what_the_person_gave_staff(db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"])
    services.save_draft(people["river"], consultation, _answers(
        consultation, free_text=_text("Half a thought"), scale=AnswerInput(choices=["2"])))
    _enter(people["facilitator"], consultation, member_id=people["river"].id)
    [response] = _responses()
    assert response.status == ResponseStatus.SUBMITTED
    assert [a.text for a in response.answers] == [SAID]


def test_the_member_changing_their_answers_later_makes_them_their_own(db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"])
    _enter(people["facilitator"], consultation, member_id=people["river"].id)
    services.submit_answers(people["river"], consultation,
                            _answers(consultation, free_text=_text("Changed by me.")))
    [response] = _responses()
    assert response.entry_method is None
    assert [a.text for a in response.answers] == ["Changed by me."]


def test_only_staff_who_run_the_consultation_can_enter_answers(db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"])
    for person in (people["other_facilitator"], people["river"], make_staff(Role.FINANCE)):
        with pytest.raises(NotFound):
            _enter(person, consultation, member_id=people["kit"].id)
    assert _responses() == []


def test_answers_are_entered_only_while_the_consultation_is_open(db, people, request_ctx):
    closed = make_consultation(panel=people["panel"], state=ConsultationState.CLOSED)
    public_named = make_consultation(created_by=people["facilitator"])
    with pytest.raises(InvalidState, match="not open for answers"):
        _enter(people["facilitator"], closed, member_id=people["river"].id)
    with pytest.raises(InvalidState, match="own account"):
        _enter(people["facilitator"], public_named, member_id=people["river"].id)
    assert _responses() == []


def test_routing_drops_answers_in_sections_the_persons_route_skips(db, people, request_ctx):
    consultation = make_routed(people["panel"])
    first, reporting, support, detail = consultation.ordered_questions()
    answers = {first.id: AnswerInput(choices=["2"]),  # "No": skips "Reporting"
               reporting.id: _text("Typed in a section they skip."),
               support.id: AnswerInput(choices=["2"]),  # "Nowhere": ends here
               detail.id: _text("After the end of their route.")}
    _enter(people["facilitator"], consultation, answers, member_id=people["river"].id)
    [response] = _responses()
    assert {a.question_id: (a.choices, a.text) for a in response.answers} == {
        first.id: (["2"], None), support.id: (["2"], None)}


def test_required_questions_on_the_persons_route_need_an_answer(db, people, request_ctx):
    consultation = make_routed(people["panel"])
    first, _reporting, support, _detail = consultation.ordered_questions()
    yes = {first.id: AnswerInput(choices=["1"]), support.id: AnswerInput(choices=["1"])}
    with pytest.raises(ValidationFailed, match="required questions have no answer"):
        _enter(people["facilitator"], consultation, yes, member_id=people["river"].id)
    assert _responses() == []
    # Answering "No" routes past the required question, so it is not needed.
    no = {first.id: AnswerInput(choices=["2"]), support.id: AnswerInput(choices=["1"])}
    _enter(people["facilitator"], consultation, no, member_id=people["river"].id)
    assert len(_responses()) == 1


def test_an_empty_page_is_not_sent(db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"])
    with pytest.raises(ValidationFailed, match="at least one"):
        _enter(people["facilitator"], consultation, _answers(consultation),
               member_id=people["river"].id)


# --- results ------------------------------------------------------------------------------------


def test_results_say_how_many_were_entered_by_staff_and_how(app, db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"], anonymous=True)
    for n, method in enumerate(("phone", "phone", "paper")):
        _enter(people["facilitator"], consultation, method=method, form_token=f"page-{n}")
    services.submit_answers(people["kit"], consultation,
                            _answers(consultation, free_text=_text("Sent myself.")))
    _add_waiting(app)
    counts = services.entered_by_staff(consultation)
    assert counts == {EntryMethod.PHONE: 2, EntryMethod.PAPER: 1}
    assert services.entered_by_staff_line(counts) == (
        "3 responses were entered by staff on someone's behalf: 2 by phone, 1 on paper.")
    assert services.entered_by_staff_line({EntryMethod.INTERVIEW: 1}) == (
        "1 response was entered by staff on someone's behalf: 1 in an interview.")
    # Published results follow the small-number rule like every other count.
    assert services.entered_by_staff_line(counts, published=True) == (
        "Fewer than 5 responses were entered by staff on someone's behalf.")
    assert services.entered_by_staff_line(
        {EntryMethod.PHONE: 6, EntryMethod.PAPER: 1}, published=True) == (
        "7 responses were entered by staff on someone's behalf: 6 by phone, "
        "fewer than 5 on paper.")
    assert services.entered_by_staff_line({}) is None
    rows = services.export_rows(people["facilitator"], consultation)
    column = services.CSV_HEADER.index("Entered by staff")
    assert sorted(row[column] for row in rows) == ["", "by phone", "by phone", "on paper"]


def test_the_csv_says_which_answers_staff_entered_and_how(app, db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"])
    _enter(people["facilitator"], consultation, method="interview", member_id=people["river"].id)
    services.submit_answers(people["kit"], consultation,
                            _answers(consultation, free_text=_text("Sent myself.")))
    rows = services.export_rows(people["facilitator"], consultation)
    column = services.CSV_HEADER.index("Entered by staff")
    name = services.CSV_HEADER.index("Name")
    assert sorted((row[name], row[column]) for row in rows) == [
        ("Kit", ""), ("River", "in an interview")]


# --- the page -----------------------------------------------------------------------------------


def _page(person: PersonClient, consultation) -> str:
    response = person.get(f"/consultations/{consultation.id}/on-behalf")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _send(person: PersonClient, consultation, page: str, **fields):
    free_text = f"q{question(consultation, 'free_text').id}"
    data = {"csrf_token": csrf_from(page), "form_token": TOKEN.search(page)[1],
            "method": "phone", "consent": "y", free_text: SAID,
            f"{free_text}-consent": "internal", **fields}
    return person.raw_post(f"/consultations/{consultation.id}/on-behalf",
                           data=MultiDict([(k, v) for k, v in data.items() if v is not None]))


def test_a_facilitator_enters_a_members_answers_on_the_page(app, db, people):
    consultation = make_consultation(panel=people["panel"])
    db.session.commit()
    staff = PersonClient(app, people["facilitator"])
    manage = staff.get(f"/consultations/{consultation.id}/manage").get_data(as_text=True)
    assert f"/consultations/{consultation.id}/on-behalf" in manage
    page = _page(staff, consultation)
    assert "Who are you entering answers for?" in page
    assert ">River<" in page and ">Kit<" in page and ">Sam<" not in page
    sent = _send(staff, consultation, page, member=str(people["river"].id))
    assert sent.status_code == 302
    after = staff.get(sent.headers["Location"]).get_data(as_text=True)
    assert "nhsuk-notification-banner--success" in after
    assert "River&#39;s answers are sent, marked as entered by staff by phone." in after
    assert ">River<" not in after  # she has answered now
    [response] = _responses()
    assert response.entry_method == EntryMethod.PHONE


def test_mistakes_on_the_page_are_explained_and_keep_everything_typed(app, db, people):
    consultation = make_consultation(panel=people["panel"], required_text=True)
    db.session.commit()
    staff = PersonClient(app, people["facilitator"])
    page = _page(staff, consultation)
    scale = f"q{question(consultation, 'scale').id}"
    sent = _send(staff, consultation, page, consent=None, member=None, method=None,
                 **{scale: "4"})
    body = sent.get_data(as_text=True)
    assert sent.status_code == 400
    assert "There is a problem" in body
    assert "Choose the person you are entering answers for." in body
    assert "Choose how the person gave you their answers." in body
    assert "agreed to you entering their answers" in body
    assert SAID in body and f'name="{scale}" type="radio" value="4" checked' in body
    # A member who has answered meanwhile: the page says so kindly and keeps the answers.
    services.submit_answers(people["river"], consultation,
                            _answers(consultation, free_text=_text("Mine.")))
    db.session.commit()
    sent = _send(staff, consultation, page, member=str(people["river"].id))
    body = sent.get_data(as_text=True)
    assert sent.status_code == 409
    assert "River has already sent answers to this consultation" in body
    assert SAID in body
    assert [r.entry_method for r in _responses()] == [None]


def test_an_anonymous_consultation_chooses_nobody(app, db, people):
    consultation = make_consultation(panel=people["panel"], anonymous=True)
    db.session.commit()
    staff = PersonClient(app, people["facilitator"])
    page = _page(staff, consultation)
    assert "Who are you entering answers for?" not in page and ">River<" not in page
    sent = _send(staff, consultation, page, method="interview")
    assert sent.status_code == 302
    after = staff.get(sent.headers["Location"]).get_data(as_text=True)
    assert "sent anonymously, marked only as entered by staff in an interview" in after
    again = _send(staff, consultation, page, method="interview")  # the same page twice
    assert "already been sent" in staff.get(again.headers["Location"]).get_data(as_text=True)
    assert services.waiting_count(consultation) == 1


def test_a_closed_consultation_says_answers_cannot_be_entered(app, db, people):
    consultation = make_consultation(panel=people["panel"], state=ConsultationState.CLOSED)
    db.session.commit()
    page = _page(PersonClient(app, people["facilitator"]), consultation)
    assert "not open for answers at the moment" in page
    assert "Send their answers" not in page


def test_the_answers_page_shows_the_staff_entered_line(app, db, people):
    consultation = make_consultation(panel=people["panel"])
    db.session.commit()
    staff = PersonClient(app, people["facilitator"])
    _send(staff, consultation, _page(staff, consultation), member=str(people["river"].id),
          method="paper")
    body = staff.get(f"/consultations/{consultation.id}/responses").get_data(as_text=True)
    assert "1 response was entered by staff on someone&#39;s behalf: 1 on paper." in body


# --- anonymity ----------------------------------------------------------------------------------


def _every_other_table() -> dict[str, list[str]]:
    return {table.name: sorted(map(repr, raw_rows(table.name)))
            for table in _db.metadata.sorted_tables if table.name not in ANONYMOUS_TABLES}


def test_anonymous_answers_entered_on_behalf_carry_no_staff_id_and_nothing_lining_them_up(
        app, db, people):
    consultation = make_consultation(panel=people["panel"], anonymous=True)
    db.session.commit()
    staff = PersonClient(app, people["facilitator"])
    page = _page(staff, consultation)
    started = time.time()
    before = _every_other_table()
    sent = _send(staff, consultation, page, method="interview")
    assert sent.status_code == 302
    _db.session.expire_all()
    # Nothing outside the anonymous tables changed: no audit row, no response or receipt, no
    # "last seen" time: nothing names the member of staff, or the person, or the moment.
    assert _every_other_table() == before
    _add_waiting(app)
    [row] = raw_rows("anonymous_responses")
    columns = [c.name for c in AnonymousResponse.__table__.columns]
    stored = dict(zip(columns, row, strict=True))
    assert stored["entry_method"] == "interview"
    assert not any("user" in name or "staff" in name or "by_id" in name for name in columns)
    for table in ("anonymous_responses", "anonymous_answers"):
        for value in (v for r in raw_rows(table) for v in r):
            assert people["facilitator"].username not in str(value)
    assert times_in_anonymous_tables(TimeFinder(started, time.time())) == {}


def test_the_request_log_keeps_no_time_for_answers_entered_on_someones_behalf(
        app, db, people, caplog):
    consultation = make_consultation(panel=people["panel"], anonymous=True)
    db.session.commit()
    staff = PersonClient(app, people["facilitator"])
    caplog.set_level(logging.INFO, logger="engage.request")
    _send(staff, consultation, _page(staff, consultation))
    url = "/consultations/<int:consultation_id>/on-behalf"
    logged = [r for r in caplog.records if r.name == "engage.request"
              and getattr(r, "route", "") == url]
    assert [r.method for r in logged] == ["GET", "POST"]
    assert all(r.untimed for r in logged)


def test_a_named_on_behalf_answer_is_kept_without_the_name_with_only_its_method(
        app, db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"])
    _enter(people["facilitator"], consultation, method="phone", member_id=people["river"].id)
    [response] = _responses()
    services.keep_without_name(response)
    services.settle_anonymous_answers(consultation)
    _db.session.expire_all()
    [row] = _db.session.scalars(select(AnonymousResponse)).all()
    assert row.entry_method == EntryMethod.PHONE
    assert [a.text for a in row.answers] == [SAID]


def test_the_member_sees_that_staff_entered_their_answers_and_how(app, db, people):
    consultation = make_consultation(panel=people["panel"])
    db.session.commit()
    staff = PersonClient(app, people["facilitator"])
    _send(staff, consultation, _page(staff, consultation), member=str(people["river"].id),
          method="interview")
    river = PersonClient(app, people["river"])
    page = river.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "A member of staff entered your answers for you in an interview" in page
    exported = json.loads(river.post("/account/export", form_url="/account").get_data(
        as_text=True))
    [response] = exported["data"]["consultation_responses"]
    assert response["entered_by_staff"] == "in an interview"
