"""Entries link to consultations and consultation answers: counts, consent to quote, credit,
closing the loop for named respondents, and the pages staff use to link."""

from __future__ import annotations

import csv
import io

import feedparser
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engage.changes import services
from engage.changes.models import ChangeLink, ChangeStatus, LinkKind
from engage.consultations.models import (
    AnonymousAnswer,
    AnonymousResponse,
    Answer,
    ConsultationState,
    QuestionKind,
    Response,
    ResponseStatus,
)
from engage.core import clock
from engage.core.models import Notification
from engage.core.permissions import Role
from engage.errors import NotAllowed, ValidationFailed
from engage.extensions import db as _db
from engage.panels.models import Attribution, AttributionPreference
from tests.factories import make_member, make_staff, sign_in
from tests.factories_consultations import make_consultation, question
from tests.factories_feedback import give, make_entry, publish, publish_new_version


@pytest.fixture
def lead(db):
    return make_staff(Role.PROGRAMME_LEAD)


def named_answer(consultation, person, text, consent="public", status=ResponseStatus.SUBMITTED):
    response = Response(consultation_id=consultation.id, user_id=person.id, status=status,
                        submitted_at=clock.now())
    response.answers.append(Answer(question_id=question(consultation,
                                                        QuestionKind.FREE_TEXT).id,
                                   text=text, quote_consent=consent))
    _db.session.add(response)
    _db.session.flush()
    return response.answers[0]


def anonymous_answer(consultation, text, consent="public"):
    response = AnonymousResponse(consultation_id=consultation.id,
                                 submitted_on=clock.today_london())
    response.answers.append(AnonymousAnswer(
        question_id=question(consultation, QuestionKind.FREE_TEXT).id, text=text,
        quote_consent=consent))
    _db.session.add(response)
    _db.session.flush()
    return response.answers[0]


def published_consultation(**kwargs):
    return make_consultation(state=ConsultationState.PUBLISHED, **kwargs)


# --- services -------------------------------------------------------------------------------


def test_link_each_kind_once_and_unlink(db, lead):
    consultation = published_consultation()
    named = named_answer(consultation, make_member(), "More evening sessions")
    anon = anonymous_answer(consultation, "A quieter waiting room")
    entry = make_entry(lead)
    first = services.link_consultation(lead, entry, consultation.id)
    assert services.link_consultation(lead, entry, consultation.id) is first  # no duplicate
    services.link_consultation_answer(lead, entry, named.id)
    services.link_consultation_answer(lead, entry, named.id)
    services.link_consultation_answer(lead, entry, anon.id)
    kinds = [(str(link.kind), link.consultation_id, link.answer_id, link.anonymous_answer_id)
             for link in _db.session.scalars(select(ChangeLink))]
    assert len(kinds) == 3 and set(kinds) == {
        (LinkKind.CONSULTATION.value, consultation.id, None, None),
        (LinkKind.CONSULTATION_ANSWER.value, None, None, anon.id),
        (LinkKind.CONSULTATION_ANSWER.value, None, named.id, None)}
    assert services.link_counts([entry.id])[entry.id] == {
        "feedback": 0, "consultation_answer": 2, "consultation": 1}
    assert [a.anonymous for a in services.linked_answers(entry)] == [False, True]
    assert [c.id for c in services.linked_consultations(entry)] == [consultation.id]
    services.unlink_consultation_answer(lead, entry, anon.id)
    services.unlink_consultation(lead, entry, consultation.id)
    assert services.link_counts([entry.id])[entry.id]["consultation_answer"] == 1
    assert services.link_counts([entry.id])[entry.id]["consultation"] == 0


def test_only_published_results_and_sent_written_answers_can_be_linked(db, lead):
    still_open = make_consultation()
    entry = make_entry(lead)
    with pytest.raises(ValidationFailed, match="results are published"):
        services.link_consultation(lead, entry, still_open.id)
    with pytest.raises(ValidationFailed, match="results are published"):
        services.link_consultation_answer(
            lead, entry, named_answer(still_open, make_member(), "Too early").id)
    consultation = published_consultation()
    draft = named_answer(consultation, make_member(), "Not sent", status=ResponseStatus.DRAFT)
    with pytest.raises(ValidationFailed, match="cannot be linked"):
        services.link_consultation_answer(lead, entry, draft.id)
    with pytest.raises(ValidationFailed, match="cannot be linked"):
        services.link_consultation_answer(lead, entry, "nope")
    with pytest.raises(NotAllowed):
        services.link_consultation(make_staff(Role.FACILITATOR), entry, consultation.id)


def test_the_database_allows_exactly_one_target_per_link(db, lead):
    consultation = published_consultation()
    entry = make_entry(lead)
    _db.session.add(ChangeLink(entry_id=entry.id, kind=LinkKind.CONSULTATION_ANSWER,
                               consultation_id=consultation.id))
    with pytest.raises(IntegrityError):
        _db.session.flush()
    _db.session.rollback()


def test_erased_answers_stop_counting(db, lead):
    consultation = published_consultation()
    answers = [named_answer(consultation, make_member(), f"Answer {n}") for n in range(5)]
    entry = publish(make_entry(lead))
    for answer in answers:
        services.link_consultation_answer(lead, entry, answer.id)
    assert services.link_counts([entry.id])[entry.id]["consultation_answer"] == 5
    # The consultations domain deletes answers in bulk (SQLite applies no ON DELETE CASCADE).
    from engage.consultations.services import delete_responses

    delete_responses(Response.user_id == answers[0].response.user_id)
    assert services.link_counts([entry.id])[entry.id]["consultation_answer"] == 4


# --- public pages, feeds, consent -----------------------------------------------------------


def test_public_counts_include_consultation_responses(db, client, lead):
    consultation = published_consultation()
    small, large = publish(make_entry(lead)), publish(make_entry(lead, said="Large"))
    for n in range(3):
        services.link_consultation_answer(
            lead, small, anonymous_answer(consultation, f"small {n}").id)
    for n in range(6):
        services.link_consultation_answer(
            lead, large, named_answer(consultation, make_member(), f"large {n}").id)
    services.link_consultation(lead, large, consultation.id)
    _db.session.commit()
    small_page = client.get(f"/you-said-we-did/{small.id}").get_data(as_text=True)
    assert "Fewer than 5 consultation responses" in small_page
    large_page = client.get(f"/you-said-we-did/{large.id}").get_data(as_text=True)
    assert "6 consultation responses" in large_page and "1 consultation" in large_page
    log = client.get("/you-said-we-did").get_data(as_text=True)
    assert "Fewer than 5 consultation responses" in log and "6 consultation responses" in log
    records = {r["id"]: r for r in client.get("/you-said-we-did.json").get_json()["entries"]}
    assert records[small.id]["response_count"] is None
    assert records[large.id]["response_count"] == 6
    assert records[large.id]["consultation_count"] == 1
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(
        client.get("/you-said-we-did.csv").get_data(as_text=True).lstrip("\ufeff")))}
    assert rows[str(large.id)]["response_count"] == "6"
    assert rows[str(small.id)]["response_count"] == ""


def test_quotes_follow_each_answers_consent_and_the_persons_credit(db, client, lead):
    consultation = published_consultation()
    kestrel, named, shy = make_member(), make_member(display_name="Sam Jones"), make_member()
    _db.session.add_all([
        AttributionPreference(user_id=kestrel.id, choice=Attribution.PSEUDONYM,
                              pseudonym="Kestrel"),
        AttributionPreference(user_id=named.id, choice=Attribution.DISPLAY_NAME)])
    entry = publish(make_entry(lead))
    answers = [
        named_answer(consultation, kestrel, "Evening sessions would help me"),
        named_answer(consultation, named, "Please keep the quiet room"),
        named_answer(consultation, shy, "Being believed mattered most"),
        named_answer(consultation, make_member(), "SECRET-INTERNAL words", consent="internal"),
        named_answer(consultation, make_member(), "SECRET-COMMISSIONER words",
                     consent="commissioner"),
        anonymous_answer(consultation, "Anonymous and public"),
        anonymous_answer(consultation, "SECRET-ANON-INTERNAL words", consent="internal"),
    ]
    for answer in answers:
        services.link_consultation_answer(lead, entry, answer.id)
    _db.session.commit()
    quotes = {q.text: q.credit for q in services.public_quotes(entry)}
    assert quotes == {"Evening sessions would help me": "Kestrel",
                      "Please keep the quiet room": "Sam Jones",
                      "Being believed mattered most": None,
                      "Anonymous and public": None}
    page = client.get(f"/you-said-we-did/{entry.id}").get_data(as_text=True)
    assert "Evening sessions would help me" in page and "From Kestrel" in page
    assert "From Sam Jones" in page and "Anonymous and public" in page
    for url in (f"/you-said-we-did/{entry.id}", "/you-said-we-did", "/you-said-we-did.json",
                "/you-said-we-did.atom", "/you-said-we-did.csv"):
        body = client.get(url).get_data(as_text=True)
        assert "SECRET-" not in body, url
        assert shy.display_name not in body, url
    feed = feedparser.parse(client.get("/you-said-we-did.atom").get_data())
    assert not feed.bozo and len(feed.entries) == 1


def test_feedback_quotes_still_need_staff_redaction(db, client, lead):
    from engage.feedback import services as feedback_services

    given = give("My name is Alex and the drop-in closes too early", may_quote=True)
    entry = publish(make_entry(lead))
    services.link_feedback(lead, entry, given.item.id)
    assert services.public_quotes(entry) == []
    feedback_services.set_quote(lead, given.item, "The drop-in closes too early")
    assert [q.text for q in services.public_quotes(entry)] == ["The drop-in closes too early"]


# --- closing the loop -----------------------------------------------------------------------


def test_named_respondents_hear_once_on_publish_and_status_change(db, lead):
    consultation = published_consultation()
    both, answerer, whole = make_member(), make_member(), make_member()
    anonymous_answer(consultation, "Anonymous")
    entry = make_entry(lead)
    services.link_consultation_answer(
        lead, entry, named_answer(consultation, both, "Mine").id)
    services.link_consultation_answer(
        lead, entry, named_answer(consultation, answerer, "Also mine").id)
    named_answer(consultation, whole, "Not linked on its own")
    services.link_consultation(lead, entry, consultation.id)
    feedback = give("Feedback too", actor=both, attach_name=True)
    services.link_feedback(lead, entry, feedback.item.id)
    assert _db.session.scalars(select(Notification)).all() == []  # drafts tell nobody
    publish(entry)
    notes = _db.session.scalars(select(Notification)).all()
    assert sorted(n.user_id for n in notes) == sorted([both.id, answerer.id, whole.id])
    assert {n.title for n in notes} == {"What you told us has led to a change"}
    approver = make_staff(Role.PROGRAMME_LEAD)
    publish_new_version(entry, lead, approver, status=ChangeStatus.DONE)
    moved = [n for n in _db.session.scalars(select(Notification))
             if n.title == "A change linked to what you told us has moved on"]
    assert sorted(n.user_id for n in moved) == sorted([both.id, answerer.id, whole.id])
    # A later new version without a status change tells nobody who gave their views.
    publish_new_version(entry, lead, approver, said=entry.said + " More.")
    told = [n for n in _db.session.scalars(select(Notification))
            if n.title != "Waiting for your approval"]
    assert len(told) == 6


def test_linking_an_answer_to_a_published_entry_tells_that_respondent(db, lead):
    consultation = published_consultation()
    person = make_member()
    entry = publish(make_entry(lead))
    answer = named_answer(consultation, person, "Mine")
    services.link_consultation_answer(lead, entry, answer.id)
    services.unlink_consultation_answer(lead, entry, answer.id)
    services.link_consultation_answer(lead, entry, answer.id)
    notes = _db.session.scalars(select(Notification)).all()
    assert [n.user_id for n in notes] == [person.id]  # once, even when linked again
    services.link_consultation_answer(lead, entry, named_answer(
        published_consultation(), person, "Another of mine").id)
    assert len(_db.session.scalars(select(Notification)).all()) == 1


# --- pages ----------------------------------------------------------------------------------


def test_lead_links_a_consultation_from_the_entry_page(browser_like, db, lead):
    consultation = published_consultation(title="Waiting rooms")
    not_yet = make_consultation(title="Still open")
    entry = make_entry(lead)
    _db.session.commit()
    sign_in(browser_like, lead)
    url = f"/staff/changes/{entry.id}"
    page = browser_like.get(url).get_data(as_text=True)
    assert "Waiting rooms" in page and "Still open" not in page
    refused = browser_like.post(f"{url}/consultations", {"consultation": str(not_yet.id)},
                                form_url=url)
    assert refused.status_code == 400 and "results are published" in refused.get_data(
        as_text=True)
    linked = browser_like.post(f"{url}/consultations", {"consultation": str(consultation.id)},
                               form_url=url)
    assert linked.status_code == 302
    page = browser_like.get(url).get_data(as_text=True)
    assert "1 consultation" in page and "Link single answers from its answers page" in page
    removed = browser_like.post(f"{url}/consultations/{consultation.id}/remove", {},
                                form_url=url)
    assert removed.status_code == 302
    assert "No consultations linked yet." in browser_like.get(url).get_data(as_text=True)


def test_lead_links_an_answer_from_the_consultation_answers_page(browser_like, db, lead):
    consultation = published_consultation(created_by=lead)
    answer = anonymous_answer(consultation, "A quieter waiting room")
    entry = make_entry(lead, said="Waiting rooms are loud")
    _db.session.commit()
    sign_in(browser_like, lead)
    responses_url = f"/consultations/{consultation.id}/responses"
    page = browser_like.get(responses_url).get_data(as_text=True)
    assert "Link this answer to a change" in page and "Waiting rooms are loud" in page
    linked = browser_like.post("/staff/changes/answer-links",
                               {"answer_id": answer.id, "entry": str(entry.id),
                                "back": responses_url}, form_url=responses_url)
    assert linked.status_code == 302 and linked.headers["Location"].endswith(responses_url)
    page = browser_like.get(responses_url).get_data(as_text=True)
    assert "Linked to:" in page
    # An outside address is never followed.
    elsewhere = browser_like.post("/staff/changes/answer-links",
                                  {"answer_id": answer.id, "entry": str(entry.id),
                                   "back": "https://evil.example/"}, form_url=responses_url)
    assert "evil.example" not in elsewhere.headers["Location"]
    staff_page = browser_like.get(f"/staff/changes/{entry.id}").get_data(as_text=True)
    assert "A quieter waiting room" in staff_page
    assert "May be quoted publicly" in staff_page
    removed = browser_like.post(f"/staff/changes/{entry.id}/answers/{answer.id}/remove", {},
                                form_url=f"/staff/changes/{entry.id}")
    assert removed.status_code == 302
    assert services.linked_answers(entry) == []


def test_facilitators_see_answers_without_the_link_form(browser_like, db):
    facilitator = make_staff(Role.FACILITATOR)
    consultation = published_consultation(created_by=facilitator)
    anonymous_answer(consultation, "Something")
    make_entry()
    _db.session.commit()
    sign_in(browser_like, facilitator)
    page = browser_like.get(f"/consultations/{consultation.id}/responses")
    assert page.status_code == 200
    assert "Link this answer to a change" not in page.get_data(as_text=True)
