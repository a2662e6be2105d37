"""Contact preferences, notifications, own-data export and closing an account."""

from __future__ import annotations

import json

from sqlalchemy import inspect, select

from engage.accounts.models import User
from engage.core.mailer import send_due_messages
from engage.core.models import AuditEvent, Notification, OutboxMessage
from engage.core.notify import Message, notify
from engage.core.personal_data import declared
from engage.extensions import db as _db
from tests.factories import PASSWORD, make_member, sign_in


def test_turning_on_discreet_email(db, browser_like, smtp):
    user = make_member()
    db.session.commit()
    sign_in(browser_like, user)
    response = browser_like.post("/account/contact", {"email": "river@example.org",
                                                      "email_is_safe": "y",
                                                      "discreet_mode": "on"},
                                 follow_redirects=True)
    assert "neutral subject and no content" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.email_is_safe and user.discreet_mode
    notify(user, Message("Your booking is confirmed", "Panel meeting on Tuesday", "/events/1"))
    db.session.commit()
    send_due_messages("test")
    [mail] = smtp.wait_for(1)
    assert mail.subject == "You have a new message"
    assert "Panel meeting" not in mail.body and "booking" not in mail.body.lower()
    assert "sign in" in mail.body.lower()


def test_no_email_unless_marked_safe(db, browser_like):
    user = make_member(email="river@example.org")
    db.session.commit()
    notify(user, Message("Hello", "Body"))
    db.session.commit()
    assert db.session.scalar(select(OutboxMessage)) is None
    assert db.session.scalar(select(Notification)).title == "Hello"


def test_safe_box_ignored_without_an_address(db, browser_like):
    user = make_member()
    db.session.commit()
    sign_in(browser_like, user)
    browser_like.post("/account/contact", {"email": "", "email_is_safe": "y",
                                           "discreet_mode": "off"})
    db.session.refresh(user)
    assert user.email is None and user.email_is_safe is False


def test_bad_email_keeps_choices(db, browser_like):
    user = make_member()
    db.session.commit()
    sign_in(browser_like, user)
    response = browser_like.post("/account/contact", {"email": "not-an-address",
                                                      "email_is_safe": "y",
                                                      "discreet_mode": "off"})
    html = response.get_data(as_text=True)
    assert "Enter an email address like name@example.org" in html
    assert 'value="not-an-address"' in html


def test_notifications_page_and_marking_read(db, browser_like):
    user = make_member()
    other = make_member()
    notify(user, Message("Welcome to the panel", "You are in."))
    notify(other, Message("Someone else's news", "Private"))
    db.session.commit()
    sign_in(browser_like, user)
    html = browser_like.get("/notifications").get_data(as_text=True)
    assert "Welcome to the panel" in html and "Someone else" not in html
    mine = db.session.scalar(select(Notification).where(Notification.user_id == user.id))
    theirs = db.session.scalar(select(Notification).where(Notification.user_id == other.id))
    assert browser_like.post(f"/notifications/{theirs.id}/read",
                             form_url="/notifications").status_code == 404
    browser_like.post(f"/notifications/{mine.id}/read", form_url="/notifications")
    db.session.refresh(mine)
    assert mine.read_at is not None


def test_export_contains_my_data_only(db, browser_like):
    user = make_member(email="river@example.org")
    other = make_member(email="kit@example.org")
    notify(user, Message("Mine", "my body"))
    notify(other, Message("Theirs", "their body"))
    db.session.commit()
    sign_in(browser_like, user)
    response = browser_like.post("/account/export")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["data"]["users"][0]["email"] == "river@example.org"
    assert [n["title"] for n in data["data"]["notifications"]] == ["Mine"]
    assert "kit@example.org" not in response.get_data(as_text=True)
    assert "password_hash" not in response.get_data(as_text=True)
    actions = {e.action for e in db.session.scalars(select(AuditEvent))}
    assert "account.data_exported" in actions


def _tables_referring_to_people() -> set[str]:
    tables = set()
    for table in _db.metadata.sorted_tables:
        for column in table.columns:
            refers = any(fk.column.table.name == "users" for fk in column.foreign_keys)
            if refers or column.name in {"user_id", "actor_id"} or table.name == "users":
                tables.add(table.name)
    return tables


def test_every_table_holding_personal_data_is_exported_and_erased(app):
    missing = _tables_referring_to_people() - set(declared())
    assert not missing, f"add these tables to engage.core.personal_data: {sorted(missing)}"


def test_close_account_deletes_personal_data(db, browser_like):
    user = make_member(email="river@example.org", email_is_safe=True)
    notify(user, Message("Mine", "body"))
    db.session.commit()
    user_id = user.id
    sign_in(browser_like, user)
    wrong = browser_like.post("/account/close", {"password": "not my password"})
    assert "still open" in wrong.get_data(as_text=True)
    done = browser_like.post("/account/close", {"password": PASSWORD})
    assert "Your account is closed" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    assert db.session.scalar(select(Notification)) is None
    assert db.session.scalar(select(OutboxMessage)) is None
    closed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.closed"))
    assert closed.subject_id == user_id
    assert browser_like.get("/account").status_code == 302
    # nothing about the person is left in any table that refers to people
    for table_name in _tables_referring_to_people() - {"audit_events"}:
        table = _db.metadata.tables[table_name]
        columns = [c for c in table.columns
                   if c.name in {"user_id", "id"} and (table_name == "users" or c.name != "id")]
        for column in columns:
            count = db.session.execute(
                select(table).where(column == user_id)).first()
            assert count is None, f"{table_name}.{column.name} still refers to the person"
    assert inspect(db.engine).has_table("users")
