"""Question types people expect: dropdown, date, ranking and matrix (rating several
statements). Built through the staff form, answered through the answer page, saved and shown
again, counted in results with small numbers hidden, and written in words in the CSV."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from engage.consultations import services
from engage.consultations.models import ConsultationState, Question
from engage.core.permissions import Role
from engage.extensions import db as _db
from tests.factories import make_member, make_staff
from tests.factories_consultations import add_question_types, make_consultation
from tests.factories_panels import PersonClient, make_membership, make_panel


def _html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def people(db):
    facilitator = make_staff(Role.FACILITATOR)
    member = make_member(display_name="River")
    panel = make_panel(facilitators=[facilitator])
    make_membership(panel, member)
    db.session.commit()
    return {"facilitator": facilitator, "member": member, "panel": panel}


def _answers(made, *, area="2", day=("27", "3", "2024"), ranks=("2", "1", ""),
             matrix=("3", "prefer_not_to_say")) -> MultiDict:
    data = MultiDict()
    data.add(f"q{made['dropdown'].id}", area)
    for part, value in zip(("day", "month", "year"), day, strict=True):
        data.add(f"q{made['date'].id}-{part}", value)
    for key, rank in zip(("1", "2", "3"), ranks, strict=True):
        data.add(f"q{made['ranking'].id}-rank-{key}", rank)
    for key, rating in zip(("1", "2"), matrix, strict=True):
        data.add(f"q{made['matrix'].id}-{key}", rating)
    return data


def test_staff_add_dropdown_date_ranking_and_matrix_questions(app, db, people):
    consultation = make_consultation(panel=people["panel"], state=ConsultationState.DRAFT,
                                     created_by=people["facilitator"])
    db.session.commit()
    staff = PersonClient(app, people["facilitator"])
    manage = f"/consultations/{consultation.id}/manage"
    page = _html(staff.get(manage))
    for label in ("Dropdown list", "Date", "Ranking (put options in order)",
                  "Matrix (rate several statements)"):
        assert label in page
    url = f"/consultations/{consultation.id}/questions"
    part = str(consultation.parts[0].id)
    base = {"part_id": part, "max_length": "1500"}
    for fields in (
        {"kind": "dropdown", "text": "Which area?", "options": "North\nSouth"},
        {"kind": "date", "text": "When did it start?"},
        {"kind": "ranking", "text": "What matters most?", "options": "Speed\nKindness\nPrivacy"},
        {"kind": "matrix", "text": "How much do you agree?",
         "options": "Staff listened\nI felt safe", "columns": ""},
    ):
        response = staff.post(url, {**base, **fields}, form_url=manage)
        assert response.status_code == 302, _html(response)
    made = {q.kind: q for q in _db.session.scalars(select(Question)) if q.text in (
        "Which area?", "When did it start?", "What matters most?", "How much do you agree?")}
    assert [o["label"] for o in made["ranking"].options] == ["Speed", "Kindness", "Privacy"]
    ratings = [c["label"] for c in made["matrix"].columns]
    assert len(ratings) == 5 and ratings[0] == "Strongly disagree", (
        "an empty list of ratings gives the usual five")
    assert made["date"].options == [] and made["dropdown"].columns == []
    assert "Ratings: Strongly disagree, Disagree" in _html(staff.get(manage))

    response = staff.post(url, {**base, "kind": "matrix", "text": "Rate these",
                                "options": "", "columns": "Yes\nNo"}, form_url=manage)
    assert response.status_code == 400
    page = _html(response)
    assert "Enter the statements to rate, one on each line." in page
    assert 'value="Rate these"' in page, "what was typed is kept"


def test_member_answers_each_kind_saves_and_sees_the_answers_again(app, db, people):
    consultation = make_consultation(panel=people["panel"])
    made = add_question_types(consultation)
    db.session.commit()
    member = PersonClient(app, people["member"])
    url = f"/consultations/{consultation.id}/answer"
    page = _html(member.get(url))
    assert f'<select class="nhsuk-select" id="q{made["dropdown"].id}"' in page
    assert f'id="q{made["date"].id}-day"' in page and f'id="q{made["date"].id}-year"' in page
    assert f'id="q{made["ranking"].id}-rank-3"' in page and "Not ranked" in page
    assert f'name="q{made["matrix"].id}-2"' in page and "I felt safe" in page

    data = _answers(made)
    data.add("action", "save")
    response = member.post(url, data)
    assert response.status_code == 302, _html(response)
    page = _html(member.get(url))
    assert '<option value="2" selected>South</option>' in page
    assert f'name="q{made["date"].id}-day" type="text" value="27"' in page
    assert 'value="2024"' in page
    rank_speed = page.split(f'id="q{made["ranking"].id}-rank-1"')[1].split("</select>")[0]
    assert '<option value="2" selected>2</option>' in rank_speed
    assert f'id="q{made["matrix"].id}-1-3" name="q{made["matrix"].id}-1" type="radio" ' \
           'value="3" checked' in page

    response = member.post(url, _answers(made))
    assert response.status_code == 302
    answers = {a.question_id: a for a in
               services.own_response(people["member"], consultation).answers}
    assert answers[made["date"].id].text == "2024-03-27"
    assert answers[made["ranking"].id].choices == ["2", "1"], "Kindness first, then Speed"
    assert answers[made["matrix"].id].choices == ["1:3", "2:prefer_not_to_say"]


@pytest.mark.parametrize("day, ranks, message", [
    (("31", "2", "2024"), ("1", "2", "3"), "Enter a real date, for example 27 3 2024."),
    (("27", "", "2024"), ("1", "2", "3"), "The date must include a month."),
    (("27", "3", "2024"), ("1", "1", ""), "Give each option a different number."),
    (("27", "3", "2024"), ("1", "", "3"), "Number the options you rank from 1, without gaps"),
])
def test_a_date_or_ranking_that_cannot_be_taken_keeps_what_was_typed(app, db, people, day,
                                                                     ranks, message):
    consultation = make_consultation(panel=people["panel"])
    made = add_question_types(consultation)
    db.session.commit()
    member = PersonClient(app, people["member"])
    url = f"/consultations/{consultation.id}/answer"
    response = member.post(url, _answers(made, day=day, ranks=ranks))
    assert response.status_code == 400
    page = _html(response)
    assert message in page
    assert f'value="{day[0]}"' in page and 'value="2024"' in page
    assert '<option value="2" selected>South</option>' in page, "other answers are kept"
    assert services.own_response(people["member"], consultation) is None


def test_a_required_matrix_needs_every_statement(app, db, people):
    consultation = make_consultation(panel=people["panel"])
    made = add_question_types(consultation)
    made["matrix"].required = True
    db.session.commit()
    member = PersonClient(app, people["member"])
    response = member.post(f"/consultations/{consultation.id}/answer",
                           _answers(made, matrix=("3", "")))
    assert response.status_code == 400
    assert "Answer each statement, or choose &#34;Prefer not to say&#34; for it." in _html(response)
    assert f'href="#q{made["matrix"].id}-1"' in _html(response), "the summary links to it"


def test_results_count_each_kind_and_hide_small_numbers(app, db, people, request_ctx):
    consultation = make_consultation(panel=people["panel"])
    made = add_question_types(consultation)
    members = [make_member() for _ in range(7)]
    for person in members:
        make_membership(people["panel"], person)
    db.session.commit()
    for n, person in enumerate(members):
        parsed, errors = services.parse_answers(consultation, _answers(
            made, area="1" if n < 6 else "3", day=("1", str(1 + n % 2), "2024"),
            ranks=("1", "2", "3") if n < 4 else ("2", "1", ""),
            matrix=("3", "1")), enforce_required=True)
        assert not errors, errors
        services.submit_answers(person, consultation, parsed)
    db.session.commit()

    staff = {r.question.id: r for r in services.results(consultation, published=False)}
    area = {o.label: o.count for o in staff[made["dropdown"].id].options}
    assert area == {"North": 6, "South": 0, "East": 1, "Prefer not to say": 0}
    months = {o.label: o.count for o in staff[made["date"].id].options}
    assert months == {"January 2024": 4, "February 2024": 3}
    ranking = staff[made["ranking"].id].ranking
    assert [(r.label, r.average_text(False)) for r in ranking] == [
        ("Speed", "1.4"), ("Kindness", "1.6"), ("Privacy", "3.0")]
    listened, safe = staff[made["matrix"].id].rows
    assert {o.label: o.count for o in listened.options}["Agree"] == 7
    assert {o.label: o.count for o in safe.options}["Disagree"] == 7

    public = {r.question.id: r for r in services.results(consultation, published=True)}
    shown = {o.label: o.published for o in public[made["dropdown"].id].options}
    assert shown["East"] == "fewer than 5" and shown["North"] == "6"
    shown = {o.label: o.published for o in public[made["date"].id].options}
    assert shown == {"January 2024": "fewer than 5", "February 2024": "fewer than 5"}
    firsts = {o.label: o.published for o in public[made["ranking"].id].options}
    assert firsts["Speed"] == "fewer than 5" and firsts["Kindness"] == "fewer than 5"
    assert [r.average_text(True) for r in public[made["ranking"].id].ranking] == [
        "1.4", "1.6", "not shown"], "an option ranked by fewer than 5 people has no average"


def test_results_page_and_csv_show_the_new_kinds_in_words(app, db, people):
    consultation = make_consultation(panel=people["panel"], created_by=people["facilitator"])
    made = add_question_types(consultation)
    db.session.commit()
    member = PersonClient(app, people["member"])
    assert member.post(f"/consultations/{consultation.id}/answer",
                       _answers(made)).status_code == 302
    staff = PersonClient(app, people["facilitator"])
    manage = f"/consultations/{consultation.id}/manage"
    staff.post(f"/consultations/{consultation.id}/close", {}, form_url=manage)
    answers = _html(staff.get(f"/consultations/{consultation.id}/responses"))
    assert "Average place (1 is first)" in answers and "Staff listened" in answers
    body = staff.get(f"/consultations/{consultation.id}/export.csv").get_data().decode()
    assert "1. Kindness; 2. Speed" in body
    assert "Staff listened: Agree; I felt safe: Prefer not to say" in body
    assert "2024-03-27" in body and ",South," in body
    staff.post(f"/consultations/{consultation.id}/publish", {}, form_url=manage)
    results = _html(member.get(f"/consultations/{consultation.id}/results"))
    assert "Ranked first: What matters most?" in results
    assert "I felt safe" in results and "March 2024" in results
