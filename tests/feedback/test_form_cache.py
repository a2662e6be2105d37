"""The blank feedback form is kept for signed-out visitors, but never with a shared token: the
token decides the feedback code, so two visitors must never get the same one."""

from __future__ import annotations

from sqlalchemy import select

from engage.feedback.models import FeedbackItem
from tests.factories import make_member, sign_in
from tests.feedback.helpers import TOKEN_RE, code_from


def _kept_feedback_pages(app) -> list:
    cache = app.extensions["engage_page_cache"]
    return [key for key in cache._pages if key[2] == "/feedback"]


def _token(response) -> str:
    return TOKEN_RE.search(response.get_data(as_text=True))[1]


def test_each_visitor_gets_a_token_of_their_own_from_the_kept_form(app, client):
    first = client.get("/feedback")
    assert _kept_feedback_pages(app), "the signed-out form should be kept after the first visit"
    tokens = {_token(first)} | {_token(app.test_client().get("/feedback")) for _ in range(5)}
    assert len(tokens) == 6
    assert "<!--engage:fresh" not in app.test_client().get("/feedback").get_data(as_text=True)


def test_two_visitors_sending_the_same_words_from_kept_copies_get_two_codes(app, db):
    codes = []
    for _ in range(2):
        visitor = app.test_client()
        token = _token(visitor.get("/feedback"))
        response = visitor.post("/feedback", data={
            "form_token": token, "body": "The waiting room felt safe.", "may_quote": "no",
            "attach_name": "anonymous"})
        assert response.status_code == 200
        codes.append(code_from(response))
    assert codes[0] != codes[1]
    assert len(db.session.scalars(select(FeedbackItem)).all()) == 2


def test_a_kept_form_sent_twice_still_gives_one_item_and_one_code(app, db):
    visitor = app.test_client()
    visitor.get("/feedback")  # the first visit makes the kept copy
    token = _token(visitor.get("/feedback"))
    data = {"form_token": token, "body": "Please open on Saturdays.", "may_quote": "no",
            "attach_name": "anonymous"}
    first, again = visitor.post("/feedback", data=data), visitor.post("/feedback", data=data)
    assert code_from(first) == code_from(again)
    assert len(db.session.scalars(select(FeedbackItem)).all()) == 1


def test_signed_in_members_get_their_own_form_not_the_kept_one(app, client, browser_like, db):
    client.get("/feedback")
    member = make_member(username="kept-form-member")
    sign_in(browser_like, member)
    html = browser_like.get("/feedback").get_data(as_text=True)
    assert "Do you want to add your name?" in html
    assert "Sign out" in html
