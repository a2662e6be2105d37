"""Routing: "if the answer is X, go to section Y". A person sees one section of their route at a
time (Continue / Back, no JavaScript), skipped sections are neither required nor sent, a changed
answer drops what a skipped section held, and save and return keeps the route."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from engage.consultations import routing, services
from engage.consultations.answers import AnswerInput
from engage.consultations.models import (
    AnonymousAnswer,
    Answer,
    ConsultationState,
    Question,
)
from engage.core.permissions import Role
from engage.errors import ValidationFailed
from engage.extensions import db as _db
from tests.conftest import csrf_from
from tests.factories import make_member, make_staff
from tests.factories_consultations import make_routed
from tests.factories_panels import PersonClient, make_membership, make_panel

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _html(response) -> str:
    return response.get_data(as_text=True)


def _q(consultation, index: int) -> Question:
    return consultation.ordered_questions()[index]


@pytest.fixture
def people(db):
    lead = make_staff(Role.FACILITATOR)
    member = make_member(display_name="River")
    panel = make_panel(facilitators=[lead])
    make_membership(panel, member)
    db.session.commit()
    return {"lead": lead, "member": member, "panel": panel}


def _press(person: PersonClient, url: str, page: str, action: str, **fields):
    """Press a button on the answer page as a browser does: its hidden fields, what is typed
    in the section shown, and the button's own name and value."""
    data = [(name, html.unescape(value)) for name, value in HIDDEN.findall(page)
            if name not in fields]
    data += [*fields.items(), ("action", action), ("csrf_token", csrf_from(page))]
    return person.raw_post(url, data=_multi(data))


def _multi(pairs):
    return MultiDict(pairs)


# --- the route ----------------------------------------------------------------------------------


def test_routing_skips_sections_the_answer_routes_past(app, db, people):
    consultation = make_routed(people["panel"])
    titles = [p.title for p in routing.route(consultation, {})]
    assert titles == ["About you", "Reporting", "Support", "Support in detail"]
    chosen = {_q(consultation, 0).id: ["2"], _q(consultation, 2).id: ["2"]}
    assert [p.title for p in routing.route(consultation, chosen)] == ["About you", "Support"]


def test_required_question_in_a_skipped_section_is_not_required(app, db, people):
    consultation = make_routed(people["panel"])
    db.session.commit()
    member = PersonClient(app, people["member"])
    url = f"/consultations/{consultation.id}/answer"
    page = _html(member.get(url))
    assert "Section 1 of 4" in page and "Did you report to the police?" in page
    assert "How did reporting go?" not in page, "one section at a time"
    page = _html(_press(member, url, page, "continue", **{f"q{_q(consultation, 0).id}": "2"}))
    assert "Section 2 of 3" in page and "Where did you find support?" in page
    page = _html(_press(member, url, page, "continue", **{f"q{_q(consultation, 2).id}": "2"}))
    assert "Last step: send your answers" in page
    assert "What did the support do for you?" not in page
    response = _press(member, url, page, "submit")
    assert response.status_code == 302, "the required question was in a skipped section"
    sent = {a.question_id: a.choices for a in db.session.scalars(select(Answer))}
    assert sent == {_q(consultation, 0).id: ["2"], _q(consultation, 2).id: ["2"]}


def test_required_question_on_the_route_is_still_required(app, db, people):
    consultation = make_routed(people["panel"])
    db.session.commit()
    member = PersonClient(app, people["member"])
    url = f"/consultations/{consultation.id}/answer"
    page = _html(member.get(url))
    page = _html(_press(member, url, page, "continue", **{f"q{_q(consultation, 0).id}": "1"}))
    assert "Section 2 of 4" in page and "How did reporting go?" in page
    response = _press(member, url, page, "continue")
    assert response.status_code == 400
    assert "Answer this question" in _html(response) and "Section 2 of 4" in _html(response)
    page = _html(_press(member, url, _html(response), "back"))
    assert "Section 1 of 4" in page
    assert 'value="1" checked' in page, "going back keeps the answer"


def test_changed_answer_drops_answers_in_sections_now_skipped(app, db, people):
    consultation = make_routed(people["panel"])
    db.session.commit()
    member = PersonClient(app, people["member"])
    url = f"/consultations/{consultation.id}/answer"
    first, reporting = (f"q{_q(consultation, i).id}" for i in (0, 1))
    page = _html(member.get(url))
    page = _html(_press(member, url, page, "continue", **{first: "1"}))
    page = _html(_press(member, url, page, "continue", **{reporting: "Slow but kind"}))
    assert "Section 3 of 4" in page
    page = _html(_press(member, url, page, "back"))
    page = _html(_press(member, url, page, "back"))
    assert "Section 1 of 4" in page
    page = _html(_press(member, url, page, "continue", **{first: "2"}))
    assert "Section 2 of 3" in page and "Where did you find support?" in page
    page = _html(_press(member, url, page, "continue"))
    assert "Section 3 of 3" in page
    page = _html(_press(member, url, page, "continue"))
    assert "Last step: send your answers" in page
    assert _press(member, url, page, "submit").status_code == 302
    texts = [a.text for a in db.session.scalars(select(Answer))]
    assert "Slow but kind" not in texts, "the skipped section's answer is not sent"


def test_anonymous_answers_leave_out_skipped_sections(app, db, people, request_ctx):
    consultation = make_routed(people["panel"], anonymous=True)
    db.session.commit()
    answers = {_q(consultation, 0).id: AnswerInput(choices=["2"]),
               _q(consultation, 1).id: AnswerInput(text="Typed before changing my mind"),
               _q(consultation, 2).id: AnswerInput(choices=["1"])}
    kept = routing.skip_unrouted(consultation, answers)
    services.submit_answers(people["member"], consultation, kept)
    services.settle_anonymous_answers(consultation)
    stored = {a.question_id for a in db.session.scalars(select(AnonymousAnswer))}
    assert stored == {_q(consultation, 0).id, _q(consultation, 2).id}


def test_save_and_return_resumes_the_route(app, db, people):
    consultation = make_routed(people["panel"])
    db.session.commit()
    member = PersonClient(app, people["member"])
    url = f"/consultations/{consultation.id}/answer"
    first, support = (f"q{_q(consultation, i).id}" for i in (0, 2))
    page = _html(member.get(url))
    page = _html(_press(member, url, page, "continue", **{first: "2"}))
    response = _press(member, url, page, "save", **{support: "1"})
    assert response.status_code == 302
    page = _html(member.get(url))
    assert "Section 2 of 3" in page, "back at the section they were on, on the same route"
    assert "Where did you find support?" in page and 'value="1" selected' in page
    page = _html(_press(member, url, page, "back"))
    assert "Section 1 of 3" in page and 'value="2" checked' in page


# --- building -----------------------------------------------------------------------------------


def test_builder_sets_routes_forward_only_with_a_kind_error(app, db, people):
    consultation = make_routed(people["panel"], state=ConsultationState.DRAFT)
    consultation.created_by_id = people["lead"].id
    for question in consultation.ordered_questions():
        question.routes = {}
    db.session.commit()
    lead = PersonClient(app, people["lead"])
    manage = f"/consultations/{consultation.id}/manage"
    page = _html(lead.get(manage))
    assert "Routing: send people to another section" in page
    question, support = _q(consultation, 2), _q(consultation, 0)
    url = f"/consultations/{consultation.id}/questions/{question.id}/routes"
    backwards = lead.post(url, {"route-2": str(consultation.parts[0].id)}, form_url=manage)
    assert backwards.status_code == 400
    assert "only send people on to a later section" in _html(backwards)
    assert _db.session.get(Question, question.id).routes == {}
    response = lead.post(url, {"route-2": "end"}, form_url=manage)
    assert response.status_code == 302
    _db.session.expire_all()
    assert _db.session.get(Question, question.id).routes == {"2": "end"}
    page = _html(lead.get(manage))
    assert 'value="end" selected' in page
    forward = lead.post(
        f"/consultations/{consultation.id}/questions/{support.id}/routes",
        {"route-1": str(consultation.parts[3].id)}, form_url=manage)
    assert forward.status_code == 302


def test_builder_refuses_routes_on_other_kinds_and_unknown_options(app, db, people):
    consultation = make_routed(people["panel"], state=ConsultationState.DRAFT)
    end = {"1": "end"}
    with pytest.raises(ValidationFailed, match="Only single choice and dropdown"):
        routing.clean_routes(consultation, _q(consultation, 1), end)
    with pytest.raises(ValidationFailed, match="options of this question"):
        routing.clean_routes(consultation, _q(consultation, 0), {"9": "end"})
    same = {"1": str(consultation.parts[0].id)}
    with pytest.raises(ValidationFailed, match="later section"):
        routing.clean_routes(consultation, _q(consultation, 0), same)
