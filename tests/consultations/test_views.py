"""Consultation pages: building, answering, results and export, through real forms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engage.consultations import services
from engage.consultations.models import (
    AnonymousResponse,
    Consultation,
    ConsultationState,
    QuestionKind,
    Response,
)
from engage.core import clock
from engage.core.permissions import Role
from tests.factories import make_member, make_staff
from tests.factories_consultations import make_consultation, question
from tests.factories_panels import PersonClient, make_membership, make_panel


def _html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def people(db):
    people = {
        "facilitator": make_staff(Role.FACILITATOR),
        "other_facilitator": make_staff(Role.FACILITATOR),
        "programme_lead": make_staff(Role.PROGRAMME_LEAD),
        "finance": make_staff(Role.FINANCE),
        "safeguarding": make_staff(Role.SAFEGUARDING_LEAD),
        "admin": make_staff(Role.ADMIN),
        "member": make_member(display_name="River"),
        "other_member": make_member(display_name="Kit"),
    }
    db.session.commit()
    return people


@pytest.fixture
def panel(db, people):
    panel = make_panel(facilitators=[people["facilitator"]])
    make_membership(panel, people["member"])
    db.session.commit()
    return panel


def _name(consultation, kind):
    return f"q{question(consultation, kind).id}"


def test_facilitator_builds_opens_closes_tags_exports_and_publishes(app, db, people, panel):
    staff = PersonClient(app, people["facilitator"])
    response = staff.post(f"/consultations/new?panel_id={panel.id}", {
        "title": "Support after reporting", "summary": "Tell us what helped.",
        "background": "We are reviewing services.", "content_note": "Mentions reporting.",
        "opens_at": "2026-01-01T09:00", "closes_at": "2099-01-01T17:00",
        "response_type": "named"})
    assert response.status_code == 302
    consultation = db.session.scalar(select(Consultation))
    manage = f"/consultations/{consultation.id}/manage"
    part_id = consultation.parts[0].id
    staff.post(f"/consultations/{consultation.id}/parts", {
        "title": "Reporting", "content_note": "Questions about the police."}, form_url=manage)
    questions = [
        {"kind": "free_text", "text": "What helped?", "max_length": "500"},
        {"kind": "single_choice", "text": "Did you report?", "options": "Yes\nNo",
         "max_length": "1500"},
        {"kind": "multiple_choice", "text": "Who helped?", "options": "Friends\nHelpline\nGP",
         "max_length": "1500"},
        {"kind": "scale", "text": "How safe did you feel?", "scale_low_label": "Not at all",
         "scale_high_label": "Completely", "max_length": "1500"},
    ]
    for q in questions:
        response = staff.post(f"/consultations/{consultation.id}/questions",
                              {**q, "part_id": str(part_id)}, form_url=manage)
        assert response.status_code == 302, _html(response)
    response = staff.post(f"/consultations/{consultation.id}/questions", {
        "kind": "single_choice", "text": "Bad", "options": "Only one", "max_length": "1500",
        "part_id": str(part_id)}, form_url=manage)
    assert response.status_code == 400 and "at least two options" in _html(response)
    assert 'value="Bad"' in _html(response), "what was typed is kept"

    preview = _html(staff.get(f"/consultations/{consultation.id}/preview"))
    assert "This is a preview" in preview and "Prefer not to say" in preview
    staff.post(f"/consultations/{consultation.id}/open", {}, form_url=manage)
    db.session.expire_all()
    assert db.session.get(Consultation, consultation.id).state == ConsultationState.OPEN

    member = PersonClient(app, people["member"])
    db.session.expire_all()
    consultation = db.session.get(Consultation, consultation.id)
    answer_url = f"/consultations/{consultation.id}/answer"
    member.post(answer_url, {_name(consultation, "free_text"): "=cmd|' /C calc'!A0",
                             f"{_name(consultation, 'free_text')}-consent": "public",
                             _name(consultation, "single_choice"): "1"})
    staff.post(f"/consultations/{consultation.id}/close", {}, form_url=manage)

    answers = _html(staff.get(f"/consultations/{consultation.id}/responses"))
    assert "River" in answers and "=cmd|" in answers
    answer_id = re.search(r'/answers/([0-9a-f]{32})/tags', answers).group(1)
    staff.post(f"/consultations/{consultation.id}/answers/{answer_id}/tags",
               {"label": "reporting"}, form_url=f"/consultations/{consultation.id}/responses")
    empty = staff.post(f"/consultations/{consultation.id}/answers/{answer_id}/tags",
                       {"label": ""}, form_url=f"/consultations/{consultation.id}/responses",
                       follow_redirects=True)
    assert "Enter a tag, for example" in _html(empty)
    filtered = _html(staff.get(f"/consultations/{consultation.id}/responses?tag=reporting"))
    assert "reporting" in filtered and "=cmd|" in filtered

    export = staff.get(f"/consultations/{consultation.id}/export.csv")
    assert export.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in export.headers["Content-Disposition"]
    body = export.get_data().decode("utf-8")
    assert body.startswith("\ufeff") and ",'=cmd|' /C calc'!A0," in body
    assert "reporting" in body

    staff.post(f"/consultations/{consultation.id}/publish", {}, form_url=manage)
    results = _html(member.get(f"/consultations/{consultation.id}/results"))
    assert "<svg" in results and "fewer than 5" in results and "<table" in results
    assert "=cmd|" in results, "the answer may be quoted: its author said so"


def test_member_answers_skipping_the_content_noted_part(app, db, people, panel):
    consultation = make_consultation(panel=panel, anonymous=True, content_note_part=True)
    db.session.commit()
    member = PersonClient(app, people["member"])
    page = _html(member.get(f"/consultations/{consultation.id}/answer"))
    assert "This part asks about reporting to the police." in page
    assert '<a href="#send-answers">Skip this part and go to sending your answers</a>' in page
    assert "<summary>" in page and "Show the questions in this part" in page
    response = member.post(f"/consultations/{consultation.id}/answer", {
        _name(consultation, "single_choice"): "2"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/consultations/{consultation.id}/thanks")
    thanks = _html(member.get(response.headers["Location"]))
    assert "nobody can tell which answers were yours" in thanks
    detail = _html(member.get(f"/consultations/{consultation.id}"))
    assert "You have already taken part" in detail
    assert member.get(f"/consultations/{consultation.id}/answer").status_code == 302


def test_double_submit_of_the_same_page_stores_one_response(app, db, people, panel):
    consultation = make_consultation(panel=panel, anonymous=True)
    db.session.commit()
    member = PersonClient(app, people["member"])
    page = _html(member.get(f"/consultations/{consultation.id}/answer"))
    data = {"csrf_token": re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                                    page).group(1),
            "form_token": re.search(r'name="form_token" value="([^"]+)"', page).group(1),
            _name(consultation, "single_choice"): "1"}
    first = member.raw_post(f"/consultations/{consultation.id}/answer", data=data)
    second = member.raw_post(f"/consultations/{consultation.id}/answer", data=data)
    assert first.status_code == second.status_code == 302
    assert services.waiting_count(consultation) == 1
    services.settle_anonymous_answers(consultation)
    assert db.session.scalar(select(func.count()).select_from(AnonymousResponse)) == 1
    flash = _html(member.get(second.headers["Location"]))
    assert "We already had your answers, so nothing was sent twice" in flash


def test_visitor_answers_a_public_anonymous_consultation_without_an_account(app, db):
    consultation = make_consultation(anonymous=True)
    db.session.commit()
    visitor = PersonClient(app)
    detail = _html(visitor.get(f"/consultations/{consultation.id}"))
    assert "You do not need an account to answer" in detail
    page = _html(visitor.get(f"/consultations/{consultation.id}/answer"))
    assert "Save and come back later" not in page
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    response = visitor.post(f"/consultations/{consultation.id}/answer", {
        "form_token": token, _name(consultation, "scale"): "4"},
        form_url=f"/consultations/{consultation.id}/answer")
    assert response.status_code == 302
    assert services.waiting_count(consultation) == 1
    services.settle_anonymous_answers(consultation)
    assert db.session.scalar(select(func.count()).select_from(AnonymousResponse)) == 1


def test_named_public_consultation_asks_visitors_to_sign_in(app, db):
    consultation = make_consultation(anonymous=False)
    db.session.commit()
    visitor = PersonClient(app)
    assert "Sign in to take part" in _html(visitor.get(f"/consultations/{consultation.id}"))
    response = visitor.get(f"/consultations/{consultation.id}/answer")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_bad_input_gives_field_errors_and_keeps_everything_typed(app, db, people, panel):
    consultation = make_consultation(panel=panel, required_text=True)
    db.session.commit()
    member = PersonClient(app, people["member"])
    text_name = _name(consultation, "free_text")
    response = member.post(f"/consultations/{consultation.id}/answer", {
        text_name: "x" * 250, _name(consultation, "single_choice"): "99",
        _name(consultation, "multiple_choice"): ["1", "3"]})
    page = _html(response)
    assert response.status_code == 400
    assert "There is a problem with some answers" in page
    assert "Your answer is 250 characters long" in page
    assert "Choose from the options shown." in page
    assert f'href="#{text_name}"' in page
    assert "x" * 250 in page
    assert re.search(rf'name="{_name(consultation, "multiple_choice")}" type="checkbox" '
                     r'value="3"\s+checked', page)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_closed_consultation_refuses_answers_and_keeps_the_text(app, db, people, panel):
    consultation = make_consultation(panel=panel)
    db.session.commit()
    member = PersonClient(app, people["member"])
    page = _html(member.get(f"/consultations/{consultation.id}/answer"))
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    consultation.state = ConsultationState.CLOSED
    consultation.closed_at = clock.now()
    db.session.commit()
    response = member.raw_post(f"/consultations/{consultation.id}/answer", data={
        "csrf_token": csrf, _name(consultation, "free_text"): "My careful words"})
    page = _html(response)
    assert response.status_code == 409
    assert "so we cannot accept answers any more" in page and "My careful words" in page


def test_not_yet_open_consultation_says_when(app, db, people, panel):
    consultation = make_consultation(panel=panel, opens_at=clock.now() + timedelta(days=3),
                                     closes_at=clock.now() + timedelta(days=10))
    db.session.commit()
    member = PersonClient(app, people["member"])
    assert "This consultation opens on" in _html(member.get(f"/consultations/{consultation.id}"))
    response = member.post(f"/consultations/{consultation.id}/answer", {
        _name(consultation, "free_text"): "Early thoughts"},
        form_url=f"/consultations/{consultation.id}")
    assert response.status_code == 409
    assert "opens on" in _html(response) and "Early thoughts" in _html(response)


def test_save_and_come_back_then_edit(app, db, people, panel):
    consultation = make_consultation(panel=panel, required_text=True)
    db.session.commit()
    member = PersonClient(app, people["member"])
    url = f"/consultations/{consultation.id}/answer"
    text_name = _name(consultation, "free_text")
    response = member.post(url, {"action": "save", text_name: "Half done"})
    assert response.status_code == 302, "a draft may skip required questions"
    assert "Half done" in _html(member.get(url))
    member.post(url, {"action": "submit", text_name: "All done"})
    page = _html(member.get(url))
    assert "All done" in page and "Update my answers" in page
    assert "Save and come back later" not in page
    member.post(url, {"action": "submit", text_name: "Changed"})
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_user_text_is_escaped_everywhere(app, db, people, panel):
    consultation = make_consultation(panel=panel)
    question(consultation, QuestionKind.SINGLE_CHOICE).text = "<script>alert(1)</script>"
    db.session.commit()
    member = PersonClient(app, people["member"])
    text_name = _name(consultation, "free_text")
    response = member.post(f"/consultations/{consultation.id}/answer", {
        text_name: "<img src=x onerror=alert(2)>" + "y" * 300})
    page = _html(response)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img src=x" not in page and "&lt;img src=x" in page


def test_published_results_hide_answers_without_consent(app, db, people, panel):
    consultation = make_consultation(panel=panel, state=ConsultationState.CLOSED)
    db.session.commit()
    from engage.consultations.models import Answer

    response = Response(consultation_id=consultation.id, user_id=people["member"].id,
                        status="submitted", submitted_at=clock.now())
    response.answers.append(Answer(question_id=question(consultation, "free_text").id,
                                   text="Please keep this private", quote_consent="internal",
                                   tags=[], choices=[]))
    db.session.add(response)
    consultation.state = ConsultationState.PUBLISHED
    db.session.commit()
    page = _html(PersonClient(app, people["member"]).get(
        f"/consultations/{consultation.id}/results"))
    assert "Please keep this private" not in page
    assert "No answers to this question can be quoted publicly" in page
    assert "Number of responses: fewer than 5." in page


ROLES = ["anonymous", "member", "other_member", "facilitator", "other_facilitator",
         "programme_lead", "finance", "safeguarding", "admin"]
STAFF_ONLY = {"anonymous": 302, "member": 403, "other_member": 403, "facilitator": 200,
              "other_facilitator": 404, "programme_lead": 200, "finance": 403,
              "safeguarding": 403, "admin": 403}
MEMBERS_AND_STAFF = {"anonymous": 404, "member": 200, "other_member": 404, "facilitator": 200,
                     "other_facilitator": 404, "programme_lead": 200, "finance": 404,
                     "safeguarding": 404, "admin": 404}


def test_every_consultation_route_for_every_role(app, db, people, panel):
    open_one = make_consultation(panel=panel, anonymous=False)
    published = make_consultation(panel=panel, state=ConsultationState.PUBLISHED)
    public = make_consultation(anonymous=True, created_by=people["facilitator"])
    draft = make_consultation(panel=panel, state=ConsultationState.DRAFT)
    db.session.commit()
    c = open_one.id
    routes = {
        "/consultations/": dict.fromkeys(ROLES, 200),
        f"/consultations/{c}": MEMBERS_AND_STAFF,
        f"/consultations/{c}/answer": {**dict.fromkeys(ROLES, 404), "member": 200},
        f"/consultations/{c}/thanks": MEMBERS_AND_STAFF,
        f"/consultations/{published.id}/results": MEMBERS_AND_STAFF,
        f"/consultations/{c}/results": dict.fromkeys(ROLES, 404),
        f"/consultations/{draft.id}": {**MEMBERS_AND_STAFF, "member": 404},
        f"/consultations/{public.id}": dict.fromkeys(ROLES, 200),
        f"/consultations/{public.id}/answer": {**dict.fromkeys(ROLES, 200)},
        "/consultations/new": {**STAFF_ONLY, "other_facilitator": 200},
        f"/consultations/new?panel_id={panel.id}": STAFF_ONLY,
        f"/consultations/{c}/manage": STAFF_ONLY,
        f"/consultations/{c}/edit": {**STAFF_ONLY, "facilitator": 302, "programme_lead": 302},
        # The facilitator opens the draft in the POSTs below, before the programme lead's turn.
        f"/consultations/{draft.id}/edit": {**STAFF_ONLY, "programme_lead": 302},
        f"/consultations/{c}/preview": STAFF_ONLY,
        f"/consultations/{c}/responses": STAFF_ONLY,
        f"/consultations/{c}/export.csv": STAFF_ONLY,
        f"/consultations/{c}/summary.pdf": STAFF_ONLY,
        f"/consultations/{public.id}/manage": {**STAFF_ONLY, "other_facilitator": 404},
        f"/consultations/{c}/withdraw": {**dict.fromkeys(ROLES, 404), "anonymous": 302},
        f"/consultations/{c}/on-behalf": STAFF_ONLY,
        f"/consultations/{public.id}/on-behalf": {**STAFF_ONLY, "other_facilitator": 404},
    }
    posts = {
        # Nothing chosen or ticked: the page comes back with its errors, and nothing is sent.
        f"/consultations/{c}/on-behalf": {**STAFF_ONLY, "facilitator": 400,
                                          "programme_lead": 400},
        f"/consultations/{draft.id}/open": {**STAFF_ONLY, "facilitator": 302,
                                            "programme_lead": 409},
        f"/consultations/{c}/extend": {**STAFF_ONLY, "facilitator": 400,
                                       "programme_lead": 400},
        f"/consultations/{c}/questions/{question(open_one, 'scale').id}/delete": {
            **STAFF_ONLY, "facilitator": 302, "programme_lead": 404},
        f"/consultations/{c}/questions/{question(open_one, 'single_choice').id}/routes": {
            **STAFF_ONLY, "facilitator": 302, "programme_lead": 302},
        f"/consultations/{c}/questions": {**STAFF_ONLY, "facilitator": 400,
                                          "programme_lead": 400},
        f"/consultations/{c}/parts": {**STAFF_ONLY, "facilitator": 400,
                                      "programme_lead": 400},
        f"/consultations/{c}/parts/{open_one.parts[0].id}/delete": {
            **STAFF_ONLY, "facilitator": 409, "programme_lead": 409},
        f"/consultations/{c}/answers/{'0' * 32}/tags": {**STAFF_ONLY, "facilitator": 302,
                                                        "programme_lead": 302},
        f"/consultations/{c}/withdraw": {**dict.fromkeys(ROLES, 404), "anonymous": 302},
        f"/consultations/{c}/answers/{'0' * 32}/tags/remove": {
            **STAFF_ONLY, "facilitator": 404, "programme_lead": 404},
    }
    adapter = app.url_map.bind("localhost")
    walked = {adapter.match(url.split("?")[0], method)[0]
              for urls, method in ((routes, "GET"), (posts, "POST")) for url in urls}
    blueprint = {r.endpoint for r in app.url_map.iter_rules()
                 if r.endpoint.startswith("consultations.")}
    assert walked == blueprint, f"walk these too: {sorted(blueprint - walked)}"
    for role in ROLES:
        client = PersonClient(app, None if role == "anonymous" else people[role])
        token_page = "/sign-in" if role == "anonymous" else "/consultations/"
        for url, expected in routes.items():
            assert client.get(url).status_code == expected[role], (role, url)
        for url, expected in posts.items():
            assert client.post(url, {}, form_url=token_page).status_code == expected[role], (
                role, url)


def test_visitors_answering_are_rate_limited_members_are_not(app, db, people, panel):
    app.config["CONSULTATION_ANSWER_LIMIT"] = "2 per hour"
    public = make_consultation(anonymous=True)
    own = make_consultation(panel=panel)
    db.session.commit()
    visitor = PersonClient(app)
    url = f"/consultations/{public.id}/answer"
    statuses = [visitor.post(url, {"form_token": f"t{n}", _name(public, "scale"): "3"}).status_code
                for n in range(3)]
    assert statuses == [302, 302, 429]
    member = PersonClient(app, people["member"])
    own_url = f"/consultations/{own.id}/answer"
    for _ in range(3):
        assert member.post(own_url, {_name(own, "scale"): "3"}).status_code == 302


def test_member_withdraws_named_answers_while_open(app, db, people, panel):
    consultation = make_consultation(panel=panel)
    db.session.commit()
    member = PersonClient(app, people["member"])
    url = f"/consultations/{consultation.id}"
    member.post(f"{url}/answer", {_name(consultation, "free_text"): "Changed my mind later"})
    assert "Withdraw your answers" in _html(member.get(url))
    assert "Nobody will see them" in _html(member.get(f"{url}/withdraw"))
    response = member.post(f"{url}/withdraw", {}, follow_redirects=True)
    assert "Your answers have been withdrawn and deleted." in _html(response)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    other = PersonClient(app, people["other_member"])
    assert other.get(f"{url}/withdraw").status_code == 404


@pytest.mark.parametrize("anonymous", [True, False])
def test_the_consultation_page_shows_each_person_only_their_own_part(app, db, people, panel,
                                                                      anonymous):
    make_membership(panel, people["other_member"])
    consultation = make_consultation(panel=panel, anonymous=anonymous)
    db.session.commit()
    member = PersonClient(app, people["member"])
    other = PersonClient(app, people["other_member"])
    sent = member.post(f"/consultations/{consultation.id}/answer", {
        _name(consultation, "single_choice"): "2"})
    assert sent.status_code == 302
    mine = _html(member.get(f"/consultations/{consultation.id}"))
    theirs = _html(other.get(f"/consultations/{consultation.id}"))
    told = "You have already taken part" if anonymous else "You sent your answers on"
    assert told in mine
    assert "You have already taken part" not in theirs
    assert "You sent your answers on" not in theirs
    assert ">Start<" in theirs


def test_the_kept_consultation_page_shows_changes_and_each_persons_own_times(app, db, people,
                                                                             panel):
    """The page is kept once drawn (consultations/views.py), keyed on what it shows: a new
    title and closing show on the next visit, and the time someone sent their answers is their
    own, put in on each visit."""
    make_membership(panel, people["other_member"])
    consultation = make_consultation(panel=panel, anonymous=False)
    db.session.commit()
    member = PersonClient(app, people["member"])
    other = PersonClient(app, people["other_member"])
    page = f"/consultations/{consultation.id}"
    for person in (member, other):
        person.get(page)
    assert member.post(f"{page}/answer", {_name(consultation, "single_choice"): "2"}
                       ).status_code == 302
    assert other.post(f"{page}/answer", {_name(consultation, "single_choice"): "1"}
                      ).status_code == 302
    sent = {}
    for label, person, ago in (("member", "member", timedelta(hours=3)),
                               ("other", "other_member", timedelta(hours=7, minutes=13))):
        response = db.session.scalar(select(Response).where(
            Response.consultation_id == consultation.id,
            Response.user_id == people[person].id))
        response.submitted_at = clock.now() - ago
        sent[label] = clock.format_london(response.submitted_at)
    db.session.commit()
    member.get(page)
    mine, theirs = _html(member.get(page)), _html(other.get(page))
    assert f"You sent your answers on {sent['member']}" in mine
    assert f"You sent your answers on {sent['other']}" in theirs
    assert sent["other"] not in mine and sent["member"] not in theirs
    consultation.title = "A new title for the consultation"
    services.close_consultation(people["facilitator"], consultation)
    db.session.commit()
    closed = _html(member.get(page))
    assert "A new title for the consultation" in closed
    assert "This consultation has closed" in closed
    assert "You sent your answers on" not in closed
