"""Staff triage: statuses, replies, themes, quotes, safeguarding, and the queue's filters."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engage.core.models import AuditEvent, Notification, OutboxMessage
from engage.core.permissions import Role
from engage.errors import InvalidState, NotAllowed, ValidationFailed
from engage.feedback import services
from engage.feedback.models import FeedbackItem, FeedbackStatus
from tests.factories import make_member, make_staff, sign_in
from tests.factories_feedback import days_ago, give, make_feedback


@pytest.fixture
def facilitator(db):
    return make_staff(Role.FACILITATOR)


def _audit(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_acknowledge_then_close_with_a_reason(db, facilitator):
    item = make_feedback()
    services.acknowledge_feedback(facilitator, item)
    assert item.status == FeedbackStatus.ACKNOWLEDGED
    with pytest.raises(InvalidState):
        services.acknowledge_feedback(facilitator, item)  # a second click changes nothing
    with pytest.raises(ValidationFailed):
        services.close_feedback(facilitator, item, "   ")
    services.close_feedback(facilitator, item, "We cannot change national policy.")
    assert item.status == FeedbackStatus.CLOSED and item.closed_reason
    services.reopen_feedback(facilitator, item)
    assert item.status == FeedbackStatus.ACKNOWLEDGED and item.closed_reason is None
    assert [a.actor_id for a in _audit(db, "feedback.closed")] == [facilitator.id]


def test_members_and_finance_cannot_triage(db):
    item = make_feedback()
    for person in (make_member(), make_staff(Role.FINANCE)):
        with pytest.raises(NotAllowed):
            services.acknowledge_feedback(person, item)


def test_a_reply_acknowledges_and_tells_a_named_giver_discreetly(db, facilitator):
    member = make_member(email="river@example.org", email_is_safe=True)
    given = give("Named feedback", actor=member, attach_name=True)
    services.reply_to_feedback(facilitator, given.item, "Thank you for telling us.")
    assert given.item.status == FeedbackStatus.ACKNOWLEDGED
    assert given.item.first_reply_on is not None
    note = db.session.scalars(select(Notification).where(Notification.user_id == member.id)).one()
    assert note.link == f"/feedback/yours/{given.item.id}"
    email = db.session.scalars(select(OutboxMessage)).one()
    assert email.subject == "You have a new message"
    assert "Thank you for telling us" not in email.body_text
    audit = _audit(db, "feedback.replied")[0]
    assert audit.actor_id == facilitator.id
    assert "Thank you" not in str(audit.details)


def test_anonymous_replies_notify_nobody(db, facilitator):
    given = give()
    services.reply_to_feedback(facilitator, given.item, "Thank you.")
    assert db.session.scalars(select(Notification)).all() == []


def test_quotes_only_when_allowed_and_never_with_a_code(db, facilitator):
    refused = make_feedback(may_quote=False)
    with pytest.raises(InvalidState):
        services.set_quote(facilitator, refused, "Anything")
    allowed = make_feedback(may_quote=True, body="At St Mary's on Tuesday, Dr Lee was kind.")
    services.set_quote(facilitator, allowed, "The doctor was kind.")
    assert allowed.public_quote == "The doctor was kind."
    with pytest.raises(ValidationFailed):
        services.set_quote(facilitator, allowed, "apple-harbor-candle-seventh-mosaic-garden-uphold")


def test_themes_are_shared_and_case_insensitive(db, facilitator):
    first, second = make_feedback(), make_feedback()
    services.set_themes(facilitator, first, ["Waiting times", "Staff attitude"])
    services.set_themes(facilitator, second, ["waiting times", " "])
    assert [t.name for t in first.themes] == ["Staff attitude", "Waiting times"]
    assert [t.id for t in second.themes] == [first.themes[1].id]


def test_safeguarding_flag_goes_to_the_lead_without_identifying_data(db, facilitator):
    lead = make_staff(Role.SAFEGUARDING_LEAD)
    item = make_feedback(body="I am worried about someone.")
    services.flag_safeguarding(facilitator, item)
    assert item.safeguarding_flagged and item.safeguarding_flagged_on
    note = db.session.scalars(select(Notification).where(Notification.user_id == lead.id)).one()
    assert "worried" not in note.body and note.link.endswith(str(item.id))
    with pytest.raises(InvalidState):
        services.flag_safeguarding(facilitator, item)
    assert len(_audit(db, "feedback.safeguarding_flagged")) == 1


def test_queue_filters_and_orders(db, facilitator):
    old = make_feedback(received_on=days_ago(40), topic="Health services")
    new = make_feedback(received_on=days_ago(1))
    services.acknowledge_feedback(facilitator, new)
    services.set_themes(facilitator, old, ["Access"])
    theme_id = old.themes[0].id
    assert [i.id for i in services.triage_queue().items] == [new.id, old.id]
    assert [i.id for i in services.triage_queue(oldest_first=True).items] == [old.id, new.id]
    assert [i.id for i in services.triage_queue(status="acknowledged").items] == [new.id]
    assert [i.id for i in services.triage_queue(topic="Health services").items] == [old.id]
    assert [i.id for i in services.triage_queue(theme_id=theme_id).items] == [old.id]


def test_queue_pages_without_gaps_or_repeats(db):
    items = [make_feedback(received_on=days_ago(n % 3)) for n in range(7)]
    seen, cursor = [], None
    while True:
        page = services.triage_queue(after=cursor, page_size=3)
        seen.extend(i.id for i in page.items)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(i.id for i in items) and len(seen) == 7


# --- through the pages ------------------------------------------------------------------------


def test_facilitator_acknowledges_replies_and_themes_through_the_pages(browser_like, db):
    facilitator = make_staff(Role.FACILITATOR)
    given = give("The helpline hold music is distressing.")
    db.session.commit()
    sign_in(browser_like, facilitator)
    queue = browser_like.get("/staff/feedback").get_data(as_text=True)
    assert f"/staff/feedback/{given.item.id}" in queue
    url = f"/staff/feedback/{given.item.id}"
    page = browser_like.get(url).get_data(as_text=True)
    assert "The helpline hold music is distressing." in page and "Anonymous" in page
    assert browser_like.post(f"{url}/acknowledge", {}, form_url=url).status_code == 302
    empty = browser_like.post(f"{url}/reply", {"reply-body": ""}, form_url=url)
    assert empty.status_code == 400 and "Write your reply" in empty.get_data(as_text=True)
    assert browser_like.post(f"{url}/reply", {"reply-body": "We have changed it."},
                             form_url=url).status_code == 302
    assert browser_like.post(f"{url}/themes", {"themes-themes": "Helpline, Sound"},
                             form_url=url).status_code == 302
    db.session.expire_all()
    item = db.session.get(FeedbackItem, given.item.id)
    assert item.status == FeedbackStatus.ACKNOWLEDGED
    assert [r.body for r in item.replies] == ["We have changed it."]
    assert [t.name for t in item.themes] == ["Helpline", "Sound"]
    closed = browser_like.post(f"{url}/close", {"close-reason": ""}, form_url=url)
    assert closed.status_code == 400 and "Say why" in closed.get_data(as_text=True)


def test_safeguarding_lead_sees_the_procedure_and_viewing_is_audited(browser_like, db, app):
    app.config["SAFEGUARDING_PROCEDURE"] = "Call the duty manager on extension 123."
    facilitator = make_staff(Role.FACILITATOR)
    lead = make_staff(Role.SAFEGUARDING_LEAD)
    item = make_feedback(body="Something worrying")
    services.flag_safeguarding(facilitator, item)
    db.session.commit()
    sign_in(browser_like, lead)
    queue = browser_like.get("/staff/safeguarding/feedback").get_data(as_text=True)
    assert "Call the duty manager" in queue
    page = browser_like.get(f"/staff/safeguarding/feedback/{item.id}").get_data(as_text=True)
    assert "Something worrying" in page and "Anonymous" in page
    views = _audit(db, "feedback.safeguarding_viewed")
    assert [(v.actor_id, v.subject_id) for v in views] == [(lead.id, item.id)]
    unflagged = make_feedback()
    db.session.commit()
    assert browser_like.get(f"/staff/safeguarding/feedback/{unflagged.id}").status_code == 404


def test_a_member_sees_only_their_own_named_feedback(browser_like, db):
    member, other = make_member(), make_member()
    mine = give("Mine", actor=member, attach_name=True)
    theirs = give("Theirs", actor=other, attach_name=True)
    db.session.commit()
    sign_in(browser_like, member)
    assert browser_like.get(f"/feedback/yours/{mine.item.id}").status_code == 200
    assert browser_like.get(f"/feedback/yours/{theirs.item.id}").status_code == 404
    listing = browser_like.get("/feedback/yours").get_data(as_text=True)
    assert f"/feedback/yours/{mine.item.id}" in listing
    assert f"/feedback/yours/{theirs.item.id}" not in listing
