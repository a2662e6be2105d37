"""Equality monitoring: optional answers, encrypted, snapshots without a link to the person."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from engage.consultations import services as consultation_services
from engage.core.permissions import Role
from engage.core.personal_data import export_all
from engage.equality import services
from engage.equality.models import EqualityAnswers, EqualitySnapshot, PopulationFigure
from engage.errors import ValidationFailed
from engage.panels import services as panels
from engage.panels.models import MembershipState
from tests.consultations.test_services import answer
from tests.factories import make_member, make_staff, sign_in
from tests.factories_consultations import make_consultation
from tests.factories_panels import make_membership, make_panel


def snapshots(kind: str | None = None) -> list[dict]:
    query = select(EqualitySnapshot)
    if kind:
        query = query.where(EqualitySnapshot.context_kind == kind)
    from engage.extensions import db

    return [json.loads(s.answers) for s in db.session.scalars(query)]


def test_answers_are_stored_encrypted_and_read_back(db):
    person = make_member()
    services.save_answers(person, {"ethnicity": "black", "armed_forces": "prefer_not_to_say",
                                   "age": ""})
    db.session.commit()
    raw = db.session.execute(text("SELECT answers FROM equality_answers")).scalar_one()
    assert "black" not in raw and "ethnicity" not in raw
    assert services.answers_of(person) == {"ethnicity": "black",
                                           "armed_forces": "prefer_not_to_say"}


def test_an_answer_that_is_not_a_choice_is_refused(db):
    person = make_member()
    with pytest.raises(ValidationFailed):
        services.save_answers(person, {"ethnicity": "martian"})
    with pytest.raises(ValidationFailed):
        services.save_answers(person, {"shoe_size": "9"})


def test_joining_a_panel_takes_a_snapshot_unaffected_by_later_changes(db, request_ctx):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator])
    person = make_member()
    services.save_answers(person, {"sex": "female", "care_experience": "yes"})
    membership = make_membership(panel, person, state=MembershipState.APPLIED)
    panels.accept_application(facilitator, membership)
    services.save_answers(person, {"sex": "male"})
    db.session.commit()
    assert snapshots("panel") == [{"sex": "female", "care_experience": "yes"}]
    snapshot = db.session.scalar(select(EqualitySnapshot))
    assert snapshot.context_id == panel.id
    assert len(snapshot.month) == 7  # "YYYY-MM": no day, no time
    # Deleting answers later does not change the record of who took part either.
    services.delete_answers(person)
    db.session.commit()
    assert snapshots("panel") == [{"sex": "female", "care_experience": "yes"}]


def test_snapshot_table_has_no_way_back_to_a_person(db):
    columns = set(EqualitySnapshot.__table__.columns.keys())
    assert columns == {"id", "context_kind", "context_id", "month", "answers", "tallied"}
    assert not EqualitySnapshot.__table__.foreign_keys


def test_someone_without_answers_is_counted_as_not_answered(db):
    person = make_member()
    services.take_equality_snapshot(person, "consultation", 1)
    counts = services.snapshot_counts("consultation")
    assert counts["ethnicity"]["not_answered"] == 1


def test_answering_a_consultation_takes_one_snapshot_not_on_changes(db, request_ctx):
    consultation = make_consultation()
    person = make_member()
    services.save_answers(person, {"disability": "yes"})
    answer(person, consultation, single="1")
    answer(person, consultation, single="2")  # changing the answers is not taking part again
    db.session.commit()
    assert snapshots("consultation") == [{"disability": "yes"}]
    assert services.snapshot_counts("consultation", [consultation.id])["disability"]["yes"] == 1


def test_anonymous_answers_take_a_snapshot_once(db, request_ctx):
    consultation = make_consultation(anonymous=True)
    person = make_member()
    services.save_answers(person, {"religion": "sikh"})
    answer(person, consultation, single="1")
    answer(person, consultation, single="1")  # sent twice: one receipt, one snapshot
    assert snapshots("consultation") == [], "taken when the worker adds the answers"
    consultation_services.settle_anonymous_answers(consultation)
    db.session.commit()
    assert snapshots("consultation") == [{"religion": "sikh"}]


def test_own_data_export_holds_own_answers_in_words(db):
    person = make_member()
    services.save_answers(person, {"first_language": "no"})
    exported = export_all(person)["equality_answers"]
    assert exported == [{"Is English your first language?": "No"}]


def test_population_figures_are_saved_in_tenths_of_a_percent(db):
    admin = make_staff(Role.ADMIN)
    services.set_population_figures(admin, {("ethnicity", "white"): 815,
                                            ("ethnicity", "asian"): None})
    assert db.session.get(PopulationFigure, ("ethnicity", "white")).per_mille == 815
    with pytest.raises(ValidationFailed):
        services.set_population_figures(admin, {("ethnicity", "white"): 1001})


# --- pages ------------------------------------------------------------------------------------


def test_questionnaire_explains_it_is_optional_and_who_sees_it(db, browser_like):
    person = make_member()
    db.session.commit()
    sign_in(browser_like, person)
    page = browser_like.get("/account/equality").get_data(as_text=True)
    assert "optional" in page
    assert "No one sees your answers individually" in page
    assert page.count('value="prefer_not_to_say"') == 15


def test_member_saves_changes_and_deletes_answers(db, browser_like):
    person = make_member()
    db.session.commit()
    sign_in(browser_like, person)
    saved = browser_like.post("/account/equality", {"ethnicity": "mixed", "marriage": "no"},
                              follow_redirects=True)
    assert "Your answers are saved" in saved.get_data(as_text=True)
    assert services.answers_of(person) == {"ethnicity": "mixed", "marriage": "no"}
    # The saved answers are shown ticked when they come back.
    page = browser_like.get("/account/equality").get_data(as_text=True)
    assert 'value="mixed" checked' in page
    browser_like.post("/account/equality/delete", form_url="/account/equality")
    db.session.expire_all()
    assert db.session.get(EqualityAnswers, person.id) is None


def test_a_made_up_choice_is_refused_and_nothing_is_saved(db, browser_like):
    person = make_member()
    db.session.commit()
    sign_in(browser_like, person)
    response = browser_like.post("/account/equality", {"ethnicity": "martian"})
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert db.session.get(EqualityAnswers, person.id) is None


def test_admin_enters_population_figures(db, browser_like):
    admin = make_staff(Role.ADMIN)
    db.session.commit()
    sign_in(browser_like, admin)
    done = browser_like.post("/admin/equality/population",
                             {"ethnicity__white": "81.5", "sex__female": "51"},
                             follow_redirects=True)
    assert "figures are saved" in done.get_data(as_text=True)
    assert services.population_figures()[("ethnicity", "white")] == 815
    page = browser_like.get("/admin/equality/population").get_data(as_text=True)
    assert 'value="81.5"' in page and 'value="51"' in page
    bad = browser_like.post("/admin/equality/population", {"sex__female": "lots"})
    assert "Enter a percentage between 0 and 100" in bad.get_data(as_text=True)


def test_tallies_count_each_snapshot_exactly_once(db):
    from engage.equality.tasks import tally_snapshots

    for value, context_id in [("white", 1), ("white", 1), ("black", 2)]:
        person = make_member()
        services.save_answers(person, {"ethnicity": value})
        services.take_equality_snapshot(person, "panel", context_id)
    db.session.commit()
    before = services.snapshot_counts("panel")
    assert tally_snapshots("worker") == 3
    assert services.snapshot_counts("panel") == before
    assert tally_snapshots("worker") == 0  # nothing counted twice
    later = make_member()
    services.take_equality_snapshot(later, "panel", 2)  # not tallied yet: counted from itself
    counts = services.snapshot_counts("panel", [2])
    assert counts["ethnicity"]["black"] == 1 and counts["ethnicity"]["not_answered"] == 1
    assert services.snapshot_counts("panel", [1])["ethnicity"]["white"] == 2
    assert services.snapshot_counts("panel", months=("2000-01", "2000-12"))["ethnicity"] == {}
    raw = db.session.execute(text("SELECT counts FROM equality_tallies")).scalar_one()
    assert "white" not in raw  # encrypted like the snapshots
