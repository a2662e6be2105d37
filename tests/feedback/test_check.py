"""/feedback/check: the code opens status, replies and changes; wrong codes are rate limited."""

from __future__ import annotations

from sqlalchemy import func, select

from engage.accounts.models import User
from engage.core.models import AnonymousActivityCount, AuditEvent
from engage.core.permissions import Role
from engage.feedback import services
from engage.feedback.models import FeedbackItem, FeedbackReply
from tests.factories import make_staff
from tests.factories_feedback import give, make_entry, publish
from tests.feedback.helpers import check_code


def _stored(db) -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(FeedbackItem)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


def test_the_code_shows_status_replies_reason_and_published_changes(client, db):
    given = give("The building has no quiet room.")
    facilitator = make_staff(Role.FACILITATOR)
    services.reply_to_feedback(facilitator, given.item, "Thank you. We are looking at rooms.")
    published = make_entry(said="There is no quiet room.")
    draft = make_entry(said="A draft nobody should see yet.")
    from engage.changes import services as change_services
    lead = db.session.get(User, published.created_by_id)
    change_services.link_feedback(lead, published, given.item.id)
    change_services.link_feedback(lead, draft, given.item.id)
    publish(published)
    db.session.commit()

    html = check_code(client, given.code).get_data(as_text=True)
    assert "Linked to a change" in html
    assert "Thank you. We are looking at rooms." in html
    assert "There is no quiet room." in html
    assert "A draft nobody should see yet." not in html
    assert "The building has no quiet room." in html


def test_a_closed_item_shows_the_reason(client, db):
    given = give()
    services.close_feedback(make_staff(Role.FACILITATOR), given.item,
                            "This is about a service we do not run; we passed on the idea.")
    db.session.commit()
    html = check_code(client, given.code).get_data(as_text=True)
    assert "Closed" in html and "we passed on the idea" in html


def test_a_wrong_code_is_explained_kindly(client, db):
    html = check_code(client, "apple-harbor-candle-seventh-mosaic-garden-uphold").get_data(
        as_text=True)
    assert "We could not find feedback with that code" in html
    assert "cannot be recovered" in html


def test_ten_wrong_codes_in_ten_minutes_then_429_and_nothing_is_stored(client, db):
    given = give()
    db.session.commit()
    before = _stored(db)
    statuses = [check_code(client, f"wrong guess number {n}").status_code for n in range(10)]
    assert statuses == [200] * 10
    blocked = check_code(client, given.code)
    assert blocked.status_code == 429
    assert "Please wait a little" in blocked.get_data(as_text=True)
    assert _stored(db) == before


def test_right_codes_do_not_use_up_the_allowance(client, db):
    given = give()
    db.session.commit()
    for _ in range(12):
        assert check_code(client, given.code).status_code == 200


def test_the_person_can_delete_replies(client, db):
    given = give()
    services.reply_to_feedback(make_staff(Role.FACILITATOR), given.item, "A reply to remove")
    db.session.commit()
    html = check_code(client, given.code, "/feedback/check/delete-replies").get_data(
        as_text=True)
    assert "The replies have been deleted." in html and "A reply to remove" not in html
    assert db.session.scalar(select(func.count()).select_from(FeedbackReply)) == 0
    assert db.session.get(FeedbackItem, given.item.id) is not None


def test_withdrawing_asks_first_then_deletes_everything(client, db):
    given = give()
    services.reply_to_feedback(make_staff(Role.FACILITATOR), given.item, "A reply")
    entry = make_entry()
    from engage.changes import services as change_services
    from engage.changes.models import ChangeLink
    change_services.link_feedback(make_staff(Role.PROGRAMME_LEAD), entry, given.item.id)
    db.session.commit()
    item_id = given.item.id

    confirm = check_code(client, given.code, "/feedback/check/withdraw").get_data(as_text=True)
    assert "Withdraw your feedback?" in confirm and "cannot be undone" in confirm
    assert db.session.get(FeedbackItem, item_id) is not None

    done = check_code(client, given.code, "/feedback/check/withdraw", confirmed="yes")
    assert "Your feedback has been withdrawn" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(FeedbackItem, item_id) is None
    assert db.session.scalar(select(func.count()).select_from(ChangeLink)) == 0
    assert db.session.scalar(select(func.count()).select_from(FeedbackReply)) == 0
    again = check_code(client, given.code)
    assert "We could not find feedback with that code" in again.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "feedback.withdrawn_by_giver")) is None, "no row with a time"
    counted = db.session.scalars(select(AnonymousActivityCount)).one()
    assert (counted.action, counted.count) == ("feedback.withdrawn_by_giver", 1)


def test_actions_with_a_wrong_code_find_nothing(client, db):
    response = check_code(client, "apple-harbor-candle-seventh-mosaic-garden-uphold",
                          "/feedback/check/withdraw", confirmed="yes")
    assert response.status_code == 404


def test_a_link_to_an_unpublished_change_is_not_shown_as_a_change_yet(client, db):
    given = give()
    draft = make_entry(said="Draft wording nobody has approved")
    from engage.changes import services as change_services

    change_services.link_feedback(db.session.get(User, draft.created_by_id), draft,
                                  given.item.id)
    db.session.commit()
    html = check_code(client, given.code).get_data(as_text=True)
    assert "Read by our team" in html and "Linked to a change" not in html
    assert "still preparing" in html and "Draft wording" not in html
