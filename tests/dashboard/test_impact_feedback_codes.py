"""Anonymous feedback on "your impact" by its code: only the member's own action links it, staff
never see the link, and it goes on removal, withdrawal, retention and account closure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engage.changes import services as changes
from engage.core import clock
from engage.core.models import AuditEvent
from engage.core.permissions import Role
from engage.core.personal_data import close_all, declared, export_all
from engage.errors import NotFound
from engage.feedback import services as feedback
from engage.feedback.models import FeedbackItem, ImpactFeedbackLink
from engage.lifecycle import retention
from tests.conftest import FormClient
from tests.factories import make_member, make_staff, sign_in
from tests.factories_feedback import give, make_entry, publish
from tests.feedback.helpers import check_code

ADD = "/impact/feedback-codes"


@pytest.fixture(autouse=True)
def _cheaper_code_hashing(app):
    app.config["FEEDBACK_CODE_SCRYPT_N"] = 2**10


def links() -> int:
    from engage.extensions import db

    return db.session.scalar(select(func.count()).select_from(ImpactFeedbackLink))


def item_row(db, item_id: int) -> tuple:
    db.session.expire_all()
    item = db.session.get(FeedbackItem, item_id)
    return (item.received_on, item.body, item.topic, item.may_quote, item.code_lookup,
            item.status, item.status_changed_on, item.quote, item.safeguarding_flagged,
            item.first_reply_on, len(item.replies))


def signed_in(app, person) -> FormClient:
    visitor = FormClient(app.test_client())
    assert sign_in(visitor, person).status_code == 302
    return visitor


def add(visitor: FormClient, code: str, **kwargs):
    return visitor.post(ADD, {"code": code}, **kwargs)


def impact(visitor: FormClient) -> str:
    return visitor.get("/impact").get_data(as_text=True)


# --- adding -----------------------------------------------------------------------------------


def test_adding_a_code_shows_status_and_replies_and_changes_nothing_else(app, db):
    person = make_member()
    given = give("The waiting room needs a quiet corner.", topic="Health services")
    feedback.reply_to_feedback(make_staff(Role.FACILITATOR), given.item, "Thank you.")
    db.session.commit()
    before = item_row(db, given.item.id)
    visitor = signed_in(app, person)
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEvent))

    page = impact(visitor)
    assert "Anonymous feedback you added" in page
    assert "Only do this if it feels safe for you" in page
    response = add(visitor, given.code.upper().replace("-", " "))  # retyped loosely
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/impact#impact-feedback-codes")
    page = visitor.get("/impact").get_data(as_text=True)
    assert "The feedback is now on your impact page" in page
    day = given.item.received_on.strftime("%-d %B %Y")
    assert f"Anonymous feedback sent on {day} about Health services" in page
    assert "Read by our team. 1 reply from our team." in page
    assert "/feedback/check" not in page.split('id="impact-feedback-codes"')[1].split(
        "</section>")[0]  # no link that would need the code
    assert "Remove from my impact page" in page
    assert links() == 1
    assert item_row(db, given.item.id) == before  # the feedback itself is untouched
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audit_before


def test_the_add_page_explains_what_adding_a_code_does(app, db):
    visitor = signed_in(app, make_member())
    page = visitor.get(ADD).get_data(as_text=True)
    assert "connects this feedback to your account" in page
    assert "only do this if that feels safe for you" in page.lower()
    assert "That breaks the link again" in page
    assert "Nothing our staff see shows that you added it" in page


def test_adding_the_same_code_again_says_so_and_keeps_one_link(app, db):
    person = make_member()
    given = give()
    db.session.commit()
    visitor = signed_in(app, person)
    add(visitor, given.code)
    again = add(visitor, given.code, follow_redirects=True).get_data(as_text=True)
    assert "already on your impact page, so nothing has changed" in again
    assert links() == 1


def test_two_adds_at_once_keep_one_link(app, db):
    """The unique constraint decides, as it would for a double click."""
    person = make_member()
    given = give()
    db.session.commit()
    first = feedback.add_feedback_to_impact(person, given.code)
    second = feedback.add_feedback_to_impact(person, given.code)
    db.session.commit()
    assert first.added and not second.added
    assert links() == 1


def test_two_members_may_each_add_the_same_code(app, db):
    given = give()
    one, two = make_member(), make_member()
    assert feedback.add_feedback_to_impact(one, given.code).added
    assert feedback.add_feedback_to_impact(two, given.code).added
    assert links() == 2


def test_own_named_feedback_is_already_listed(app, db):
    person = make_member()
    named = give("Named words", actor=person, attach_name=True)
    db.session.commit()
    visitor = signed_in(app, person)
    page = add(visitor, named.code, follow_redirects=True).get_data(as_text=True)
    assert "You gave this feedback with your name, so it is already on your impact page" in page
    assert links() == 0


def test_a_wrong_code_is_explained_and_what_was_typed_is_kept(app, db):
    visitor = signed_in(app, make_member())
    response = add(visitor, "apple harbor candle seventh mosaic garden uphold")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "We could not find feedback with that code" in page
    assert 'value="apple harbor candle seventh mosaic garden uphold"' in page
    empty = add(visitor, "").get_data(as_text=True)
    assert "Enter your feedback code." in empty
    assert links() == 0


def test_ten_wrong_codes_then_a_kind_429_shared_with_the_check_page(app, db):
    given = give()
    db.session.commit()
    visitor = signed_in(app, make_member())
    for n in range(5):
        assert add(visitor, f"wrong guess number {n}").status_code == 200
    for n in range(5):
        assert check_code(visitor.client, f"another wrong guess {n}").status_code == 200
    blocked = add(visitor, given.code)
    assert blocked.status_code == 429
    assert "Please wait a little" in blocked.get_data(as_text=True)
    assert check_code(visitor.client, given.code).status_code == 429
    assert links() == 0


def test_right_codes_do_not_use_up_the_allowance(app, db):
    given = give()
    db.session.commit()
    visitor = signed_in(app, make_member())
    for _ in range(12):
        assert add(visitor, given.code).status_code == 302


def test_only_signed_in_people_can_add_codes(app, db):
    given = give()
    db.session.commit()
    visitor = FormClient(app.test_client())
    response = visitor.post(ADD, {"code": given.code}, form_url="/sign-in")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert links() == 0


# --- removing ---------------------------------------------------------------------------------


def _remove_url(page: str) -> str:
    return re.search(r'action="(/impact/feedback-codes/\d+/remove)"', page)[1]


def test_removing_breaks_the_link_and_keeps_the_feedback(app, db):
    person = make_member()
    given = give()
    db.session.commit()
    visitor = signed_in(app, person)
    add(visitor, given.code)
    url = _remove_url(impact(visitor))
    done = visitor.post(url, form_url="/impact", follow_redirects=True).get_data(as_text=True)
    assert "It is no longer linked to your account" in done
    assert "Anonymous feedback sent on" not in done
    assert links() == 0
    assert db.session.get(FeedbackItem, given.item.id) is not None
    again = visitor.post(url, form_url="/impact")
    assert again.status_code == 404


def test_another_members_link_cannot_be_removed(app, db):
    owner, other = make_member(), make_member()
    given = give()
    db.session.commit()
    add(signed_in(app, owner), given.code)
    link_id = db.session.scalar(select(ImpactFeedbackLink.id))
    response = signed_in(app, other).post(f"/impact/feedback-codes/{link_id}/remove",
                                          form_url="/impact")
    assert response.status_code == 404
    assert links() == 1
    with pytest.raises(NotFound):
        feedback.remove_feedback_from_impact(other, link_id)


def test_removing_needs_the_csrf_token(app, db):
    person = make_member()
    given = give()
    db.session.commit()
    visitor = signed_in(app, person)
    add(visitor, given.code)
    link_id = db.session.scalar(select(ImpactFeedbackLink.id))
    assert visitor.client.post(f"/impact/feedback-codes/{link_id}/remove").status_code == 400
    assert links() == 1


# --- "your voice is part of N changes" --------------------------------------------------------


def test_changes_linked_to_added_feedback_count(app, db, request_ctx):
    person = make_member()
    named = give("Named words", actor=person, attach_name=True)
    anonymous = give("Please add a quiet room.")
    lead = make_staff(Role.PROGRAMME_LEAD)
    both = publish(make_entry(lead, said="Two voices, one change."))
    changes.link_feedback(lead, both, named.item.id)
    changes.link_feedback(lead, both, anonymous.item.id)
    quiet = publish(make_entry(lead, said="A quiet room is now open."))
    changes.link_feedback(lead, quiet, anonymous.item.id)
    db.session.commit()
    visitor = signed_in(app, person)
    assert "Your voice is part of 1 change." in impact(visitor)
    add(visitor, anonymous.code)
    page = impact(visitor)
    assert "Your voice is part of 2 changes." in page  # the shared change is counted once
    assert "A quiet room is now open." in page
    assert "Linked to a change. No replies yet." in page


# --- the link goes with the feedback ----------------------------------------------------------


def test_withdrawn_feedback_disappears_from_the_page(app, db):
    person = make_member()
    given = give()
    db.session.commit()
    visitor = signed_in(app, person)
    add(visitor, given.code)
    check_code(visitor.client, given.code, "/feedback/check/withdraw", confirmed="yes")
    db.session.expire_all()
    assert links() == 0
    assert "Anonymous feedback sent on" not in impact(visitor)


def test_when_the_code_stops_working_the_link_goes_too(app, db):
    person = make_member()
    start = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    with clock.frozen(start):
        old = give("The waiting room was cold.")
        fresh_start = give("The receptionist was kind.")
        assert feedback.add_feedback_to_impact(person, old.code).added
        assert feedback.add_feedback_to_impact(person, fresh_start.code).added
    fresh_start.item.received_on = (start + timedelta(days=300)).date()
    db.session.commit()
    with clock.frozen(start.replace(year=2028) + timedelta(days=1)):
        assert retention.apply_all()["feedback_anonymous_replies"] == 1
    db.session.commit()
    remaining = db.session.scalars(select(ImpactFeedbackLink.feedback_id)).all()
    assert remaining == [fresh_start.item.id]
    assert db.session.get(FeedbackItem, old.item.id) is not None  # the feedback stays


def test_deleting_feedback_in_the_database_cascades_to_the_link(app, db):
    person = make_member()
    given = give()
    feedback.add_feedback_to_impact(person, given.code)
    db.session.commit()
    db.session.execute(FeedbackItem.__table__.delete().where(FeedbackItem.id == given.item.id))
    db.session.commit()
    assert links() == 0


# --- personal data ----------------------------------------------------------------------------


def test_exported_in_the_members_download_only(app, db):
    person, other = make_member(), make_member()
    given = give("Words only the code holder can read.", topic="Health services")
    feedback.reply_to_feedback(make_staff(Role.FACILITATOR), given.item, "A reply")
    feedback.add_feedback_to_impact(person, given.code)
    db.session.commit()
    exported = export_all(person)["impact_feedback_links"]
    assert [e["feedback"] for e in exported] == ["Words only the code holder can read."]
    assert exported[0]["replies"][0]["reply"] == "A reply"
    assert export_all(other)["impact_feedback_links"] == []
    visitor = signed_in(app, person)
    download = visitor.post("/account/export")
    assert "Words only the code holder can read." in download.get_data(as_text=True)


@pytest.mark.parametrize("keep", [False, True])
def test_closing_the_account_deletes_the_link_under_both_choices(app, db, keep):
    person = make_member()
    given = give()
    feedback.add_feedback_to_impact(person, given.code)
    db.session.commit()
    before = item_row(db, given.item.id)
    close_all(person, keep_contributions=keep)
    db.session.commit()
    assert links() == 0
    assert item_row(db, given.item.id) == before  # still anonymous, exactly as it was
    kind = declared()["impact_feedback_links"]
    assert kind.anonymise is None  # so closure erases it whatever the choice


def test_the_close_page_and_data_we_hold_say_what_happens(app, db):
    person = make_member()
    given = give()
    feedback.add_feedback_to_impact(person, given.code)
    db.session.commit()
    visitor = signed_in(app, person)
    close_page = visitor.get("/account/close").get_data(as_text=True)
    assert "Anonymous feedback you added to your impact page with its code" in close_page
    assert close_page.count("The feedback stays anonymous, as it was before you added it.") == 2
    held = visitor.get("/account/data-we-hold").get_data(as_text=True)
    assert "Staff never see which feedback you added" in held
    assert "Replies to anonymous feedback (the code stops working)" in held.split(
        "Anonymous feedback you added to your impact page")[1]


# --- staff never see it -----------------------------------------------------------------------

CSRF = re.compile(r'csrf_token"[^>]*value="[^"]+"')  # every form's token, prefixed or not


STAFF_PAGES = {
    Role.FACILITATOR: ["/staff/feedback", "/staff/feedback/{item}", "/staff/feedback?status=new"],
    Role.SAFEGUARDING_LEAD: ["/staff/safeguarding/feedback",
                             "/staff/safeguarding/feedback/{item}"],
    Role.PROGRAMME_LEAD: ["/dashboard", "/staff/changes/measures",
                          "/dashboard/download/feedback-by-month.csv"],
}


def _staff_pages(clients: dict, item_id: int) -> dict[str, str]:
    pages = {}
    for role, urls in STAFF_PAGES.items():
        visitor = clients[role]
        for url in (u.format(item=item_id) for u in urls):
            response = visitor.get(url)
            assert response.status_code == 200, url
            pages[url] = CSRF.sub("", response.get_data(as_text=True))
    return pages


def test_staff_see_nothing_of_the_link_anywhere(app, db):
    person = make_member(display_name="Juniper Quill")
    given = give("Flagged words.")
    staff = {role: make_staff(role) for role in STAFF_PAGES}
    feedback.flag_safeguarding(staff[Role.FACILITATOR], given.item)
    db.session.commit()
    clients = {role: signed_in(app, person) for role, person in staff.items()}
    before = _staff_pages(clients, given.item.id)
    audit_before = {e.id for e in db.session.scalars(select(AuditEvent))}

    visitor = signed_in(app, person)
    add(visitor, given.code)
    assert links() == 1
    after = _staff_pages(clients, given.item.id)
    assert after == before  # staff pages are exactly the same as before the code was added
    for page in after.values():
        assert "Juniper Quill" not in page and person.username not in page

    new_events = list(db.session.scalars(select(AuditEvent)
                                         .where(AuditEvent.id.not_in(audit_before))))
    for event in new_events:
        assert event.subject_id != given.item.id or event.actor_id != person.id
        assert str(given.item.id) not in str(event.details)
        assert not event.action.startswith("impact.")
    admin = signed_in(app, make_staff(Role.ADMIN))
    assert str(given.item.id) not in admin.get(f"/admin/users/{person.id}").get_data(
        as_text=True)
    audit_rows = admin.get("/admin/audit").get_data(as_text=True).split("<tr")
    mentioning_item = [row for row in audit_rows if f"feedback {given.item.id}<" in row]
    assert mentioning_item  # the staff's own triage and safeguarding actions
    assert not any("Juniper Quill" in row for row in mentioning_item)
    assert any("Juniper Quill" in row for row in audit_rows)  # the sign-in is listed by name


def test_the_link_keeps_no_time(app, db):
    """A time could be matched against the day the feedback arrived or was answered."""
    from sqlalchemy import Date, DateTime

    columns = ImpactFeedbackLink.__table__.columns
    assert set(columns.keys()) == {"id", "user_id", "feedback_id"}
    assert not any(isinstance(c.type, DateTime | Date) for c in columns)
