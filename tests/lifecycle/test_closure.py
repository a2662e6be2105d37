"""Closing an account: the member chooses to delete contributions or keep them unnamed."""

from __future__ import annotations

from sqlalchemy import func, select

from engage.accounts.models import User
from engage.consultations import services as consultations
from engage.consultations.models import AnonymousAnswer, AnonymousResponse, QuoteConsent, Response
from engage.core.models import AuditEvent
from engage.equality import services as equality
from engage.equality.models import EqualityAnswers, EqualitySnapshot
from tests.consultations.test_services import answer
from tests.factories import PASSWORD, make_member, sign_in
from tests.factories_consultations import make_consultation


def count(model) -> int:
    from engage.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def _member_with_answers(db):
    consultation = make_consultation()
    person = make_member()
    equality.save_answers(person, {"sex": "female"})
    answer(person, consultation, single="1", text="The waiting list was too long.",
           consent=QuoteConsent.PUBLIC)
    db.session.commit()
    return person, consultation


def test_close_page_shows_exactly_what_happens_first(db, browser_like, request_ctx):
    person, _consultation = _member_with_answers(db)
    sign_in(browser_like, person)
    page = browser_like.get("/account/close").get_data(as_text=True)
    assert "Your named answers and saved drafts" in page
    assert "Answers you sent stay in the results without your name" in page
    assert "Your equality monitoring answers" in page
    assert "Keep my contributions without my name" in page


def test_keeping_contributions_leaves_them_unnamed_and_unquoted(db, browser_like, request_ctx):
    person, consultation = _member_with_answers(db)
    user_id = person.id
    sign_in(browser_like, person)
    done = browser_like.post("/account/close", {"password": PASSWORD, "contributions": "keep"})
    assert "Your account is closed" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    assert count(Response) == 0 and count(EqualityAnswers) == 0
    assert count(AnonymousAnswer) == 0, "not written beside the closure"
    assert consultations.waiting_count(consultation) == 1
    consultations.settle_anonymous_answers(consultation)  # as the worker does at the close
    assert consultations.response_count(consultation) == 1
    kept = db.session.scalar(select(AnonymousAnswer).where(AnonymousAnswer.text.is_not(None)))
    assert kept.text == "The waiting list was too long."
    assert kept.quote_consent == QuoteConsent.INTERNAL  # the quote is withdrawn
    published = consultations.results(consultation, published=True)
    assert all(not r.texts for r in published)
    # The snapshot taken when they answered never named them, so it stays.
    assert count(EqualitySnapshot) == 1
    closed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.closed"))
    assert closed.details == {"contributions": "kept_anonymously"}


def test_deleting_contributions_removes_them(db, browser_like, request_ctx):
    person, consultation = _member_with_answers(db)
    sign_in(browser_like, person)
    browser_like.post("/account/close", {"password": PASSWORD, "contributions": "remove"})
    db.session.expire_all()
    assert consultations.response_count(consultation) == 0
    assert count(AnonymousResponse) == 0


def test_the_choice_defaults_to_deleting(db, browser_like, request_ctx):
    person, _consultation = _member_with_answers(db)
    sign_in(browser_like, person)
    page = browser_like.get("/account/close").get_data(as_text=True)
    assert 'value="remove" checked' in page
