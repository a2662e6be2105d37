"""Giving feedback at /feedback: anonymous by default, named only by choice."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from engage.core import clock
from engage.feedback.models import FeedbackGiver, FeedbackItem
from tests.factories import make_member, sign_in
from tests.factories_feedback import give
from tests.feedback.helpers import code_from, form_token, give_via_page


def _count(db, model=FeedbackItem) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_form_has_content_note_support_and_the_length_limit(client):
    html = client.get("/feedback").get_data(as_text=True)
    assert "Content note" in html
    assert "Support before you start" in html and "Rape Crisis 24/7 Support Line" in html
    assert "up to 5,000 characters" in html
    assert "Do you want to add your name?" not in html  # only for signed-in members


def test_anonymous_feedback_is_stored_with_its_day_and_the_code_shown_once(client, db):
    response = give_via_page(client, "The evening drop-in closes too early.",
                             topic="Counselling and therapy", may_quote="yes")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Keep this code safe" in html and "cannot recover it" in html
    assert "If you would like to talk to someone" in html
    code = code_from(response)
    assert len(code.split("-")) == 7
    item = db.session.scalar(select(FeedbackItem))
    assert item.body == "The evening drop-in closes too early."
    assert item.topic == "Counselling and therapy" and item.may_quote
    assert type(item.received_on) is date and item.received_on == clock.today_london()
    assert _count(db, FeedbackGiver) == 0
    # Shown once: the code is not on any later page.
    assert code not in client.get("/feedback").get_data(as_text=True)


def test_missing_text_is_explained_and_choices_are_kept(client, db):
    response = give_via_page(client, "", topic="Police and reporting", may_quote="yes")
    html = response.get_data(as_text=True)
    assert "Tell us what you want to say before sending." in html
    assert 'value="Police and reporting" selected' in html
    assert _count(db) == 0


def test_too_long_text_is_refused_without_losing_it(client, db):
    long_text = "word " * 1100
    html = give_via_page(client, long_text).get_data(as_text=True)
    assert "Please shorten your feedback to 5000 characters" in html
    assert long_text.strip()[:200] in html
    assert _count(db) == 0


def test_feedback_containing_a_code_is_refused_with_advice(client, db):
    earlier = give()
    db.session.commit()
    text = f"Following up on my earlier feedback {earlier.code} - still waiting."
    html = give_via_page(client, text).get_data(as_text=True)
    assert "seems to include a feedback code" in html and "Check your feedback" in html
    assert text in html
    assert _count(db) == 1


def test_honeypot_stops_automated_posts_and_tells_a_person_why(client, db):
    html = give_via_page(client, "Buy cheap things", website="http://spam.example").get_data(
        as_text=True)
    assert "Please leave this field empty" in html
    assert _count(db) == 0


def test_posts_from_another_site_or_without_a_form_token_are_refused(client, db):
    token = form_token(client)
    other = client.post("/feedback", data={"form_token": token, "body": "hello"},
                        headers={"Origin": "https://evil.example"})
    referer = client.post("/feedback", data={"form_token": token, "body": "hello"},
                          headers={"Referer": "https://evil.example/page"})
    missing = client.post("/feedback", data={"body": "hello"})
    forged = client.post("/feedback", data={"form_token": token + "x", "body": "hello"})
    for response in (other, referer, missing, forged):
        assert response.status_code == 400
        assert "nothing was saved" in response.get_data(as_text=True)
    same = client.post("/feedback", data={"form_token": token, "body": "hello",
                                          "may_quote": "no"},
                       headers={"Origin": "http://localhost"})
    assert same.status_code == 200
    assert _count(db) == 1


def test_form_tokens_expire(app, client, db):
    token = form_token(client)
    app.config["FEEDBACK_FORM_MAX_AGE"] = -1
    response = client.post("/feedback", data={"form_token": token, "body": "hello"})
    assert response.status_code == 400
    assert _count(db) == 0


def test_a_member_can_attach_their_name_or_stay_anonymous(browser_like, db):
    member = make_member()
    db.session.commit()
    sign_in(browser_like, member)
    page = browser_like.get("/feedback").get_data(as_text=True)
    assert "Do you want to add your name?" in page
    named = browser_like.post("/feedback", {"form_token": form_token(browser_like.client),
                                            "body": "Named feedback", "may_quote": "no",
                                            "attach_name": "named"})
    assert "Your feedback" in named.get_data(as_text=True)
    anonymous = browser_like.post("/feedback", {"form_token": form_token(browser_like.client),
                                                "body": "Anonymous from a member",
                                                "may_quote": "no",
                                                "attach_name": "anonymous"})
    assert anonymous.status_code == 200
    givers = db.session.scalars(select(FeedbackGiver)).all()
    assert len(givers) == 1 and givers[0].user_id == member.id
    assert db.session.get(FeedbackItem, givers[0].feedback_id).body == "Named feedback"
    yours = browser_like.get("/feedback/yours").get_data(as_text=True)
    assert "Anonymous from a member" not in yours


def test_a_signed_in_member_still_needs_the_session_csrf_token(browser_like, db):
    member = make_member()
    db.session.commit()
    sign_in(browser_like, member)
    response = browser_like.client.post("/feedback", data={
        "form_token": form_token(browser_like.client), "body": "Forged", "attach_name": "named"})
    assert response.status_code == 400
    assert _count(db) == 0


def test_giving_is_rate_limited_per_visitor_without_storing_anything(app, client, db):
    app.config["FEEDBACK_GIVE_LIMIT"] = "3 per hour"
    statuses = [give_via_page(client, f"Feedback number {n}").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert _count(db) == 3


def test_a_visitor_cannot_attach_a_name_or_an_unknown_topic(client, db):
    response = give_via_page(client, "Trying to add a name", attach_name="named")
    assert response.status_code == 200
    assert _count(db, FeedbackGiver) == 0
    html = give_via_page(client, "Odd topic", topic="Not on the list").get_data(as_text=True)
    assert "Choose a topic from the list" in html
    assert _count(db) == 1


def test_item_10_posting_the_same_feedback_page_twice_stores_one_item_and_shows_the_same_code(
        client, db):
    page = {"form_token": form_token(client), "body": "The lift was broken again.",
            "may_quote": "no", "attach_name": "anonymous"}
    first = client.post("/feedback", data=page)
    again = client.post("/feedback", data={**page, "body": "The lift was broken again!"})
    assert first.status_code == again.status_code == 200
    assert code_from(first) == code_from(again)
    assert _count(db) == 1
    assert db.session.scalar(select(FeedbackItem.body)) == "The lift was broken again."
    assert "This page had already been sent" in again.get_data(as_text=True)
    assert "already been sent" not in first.get_data(as_text=True)

    other = give_via_page(client, "The lift was broken again.")
    assert code_from(other) != code_from(first), "a fresh page is new feedback"
    assert _count(db) == 2


def test_a_repeated_page_shows_the_code_only_while_its_token_lasts(app, client, db):
    page = {"form_token": form_token(client), "body": "Kind reception staff.",
            "may_quote": "no"}
    client.post("/feedback", data=page)
    app.config["FEEDBACK_FORM_MAX_AGE"] = -1  # the page is now older than tokens last
    late = client.post("/feedback", data=page)
    assert late.status_code == 400
    assert 'id="feedback-code"' not in late.get_data(as_text=True)
    assert _count(db) == 1


def test_the_page_token_is_different_on_every_page(client):
    assert form_token(client) != form_token(client)
