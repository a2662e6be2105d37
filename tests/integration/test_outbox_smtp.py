"""The email outbox against a real SMTP server on 127.0.0.1 (aiosmtpd).

Messages are written to the outbox in the caller's transaction and leave only when
`send_due_messages` runs (the worker's job), so these tests queue, commit, send and then look at
what the SMTP server actually received.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

import pytest
from sqlalchemy import func, select

from engage.core import clock
from engage.core.mailer import send_due_messages
from engage.core.models import Notification, OutboxMessage, OutboxStatus
from engage.core.notify import DISCREET_SUBJECT, Message, notify, queue_email
from tests.factories import make_member
from tests.smtp import free_port

pytestmark = pytest.mark.integration

WORKER = "test-worker"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen_clock():
    """Time stands still at T0 until the test moves it with clock.set_frozen."""
    clock.set_frozen(T0)
    try:
        yield
    finally:
        clock.set_frozen(None)


def engage_log(caplog) -> str:
    """What Engage itself logged (the test SMTP server's own log is not Engage's)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("engage"))


def outbox(db) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_queued_emails_arrive_once_each_from_the_neutral_sender(app, db, smtp):
    queue_email("ada@example.org", "Your booking", "See you on Tuesday.")
    queue_email("grace@example.org", "Meeting notes", "The notes are ready.")
    db.session.commit()

    assert send_due_messages(WORKER) == 2
    received = smtp.received
    assert len(received) == 2
    by_recipient = {r.rcpt_tos[0]: r for r in received}
    assert set(by_recipient) == {"ada@example.org", "grace@example.org"}

    ada = by_recipient["ada@example.org"]
    assert ada.rcpt_tos == ["ada@example.org"]
    assert ada.message["To"] == "ada@example.org"
    assert ada.subject == "Your booking"
    assert ada.body.strip() == "See you on Tuesday."
    assert by_recipient["grace@example.org"].subject == "Meeting notes"
    for r in received:
        name, address = parseaddr(r.message["From"])
        assert name == app.config["MAIL_DISCREET_SENDER_NAME"]
        assert address == app.config["MAIL_DEFAULT_SENDER"]
        assert r.mail_from == app.config["MAIL_DEFAULT_SENDER"]
    assert len({r.message["Message-ID"] for r in received}) == 2

    assert send_due_messages(WORKER) == 0
    assert len(smtp.received) == 2
    assert {m.status for m in outbox(db)} == {OutboxStatus.SENT}


def test_discreet_mode_sends_a_neutral_email_without_the_content(app, db, smtp):
    member = make_member(email="sam@example.org", email_is_safe=True, discreet_mode=True)
    db.session.commit()
    notify(member, Message(title="Your claim for £40 was approved",
                           body="Finance approved your travel claim.", link="/claims/7"))
    db.session.commit()

    send_due_messages(WORKER)

    [email] = smtp.received
    assert email.rcpt_tos == ["sam@example.org"]
    assert email.subject == DISCREET_SUBJECT == "You have a new message"
    assert parseaddr(email.message["From"])[0] == app.config["MAIL_DISCREET_SENDER_NAME"]
    raw = email.message.as_string()
    for secret in ("claim", "£40", "approved", "Finance", "travel", "/claims/7"):
        assert secret not in raw
    assert "sign in" in email.body
    assert f"{app.config['PUBLIC_BASE_URL']}/notifications" in email.body
    [note] = db.session.scalars(select(Notification)).all()
    assert note.user_id == member.id and note.title == "Your claim for £40 was approved"


def test_without_discreet_mode_the_email_carries_the_message(app, db, smtp):
    member = make_member(email="kit@example.org", email_is_safe=True, discreet_mode=False)
    db.session.commit()
    notify(member, Message(title="Panel meeting moved", body="It is now on Thursday.",
                           link="/events/3"))
    db.session.commit()

    send_due_messages(WORKER)

    [email] = smtp.received
    assert email.rcpt_tos == ["kit@example.org"]
    assert email.subject == "Panel meeting moved"
    assert "It is now on Thursday." in email.body
    assert f"{app.config['PUBLIC_BASE_URL']}/events/3" in email.body


def test_an_address_not_marked_safe_gets_no_email_but_the_notification_stays(app, db, smtp):
    member = make_member(email="jo@example.org", email_is_safe=False, discreet_mode=False)
    db.session.commit()
    notify(member, Message(title="Panel meeting moved", body="It is now on Thursday."))
    db.session.commit()

    assert send_due_messages(WORKER) == 0

    assert smtp.received == []
    assert outbox(db) == []
    [note] = db.session.scalars(select(Notification)).all()
    assert note.user_id == member.id and note.body == "It is now on Thursday."


def test_an_email_queued_in_a_rolled_back_transaction_is_never_sent(app, db, smtp):
    queue_email("ada@example.org", "Your booking", "See you on Tuesday.")
    db.session.rollback()
    queue_email("grace@example.org", "Meeting notes", "The notes are ready.")
    db.session.commit()

    assert send_due_messages(WORKER) == 1

    assert [r.rcpt_tos for r in smtp.received] == [["grace@example.org"]]
    assert len(outbox(db)) == 1


def test_queueing_twice_with_one_dedupe_key_sends_one_email(app, db, smtp):
    queue_email("ada@example.org", "Reminder", "Tomorrow at 10.", dedupe_key="reminder:1:ada")
    assert queue_email("ada@example.org", "Reminder", "Tomorrow at 10.",
                       dedupe_key="reminder:1:ada") is None
    db.session.commit()
    queue_email("ada@example.org", "Reminder", "Tomorrow at 10.", dedupe_key="reminder:1:ada")
    db.session.commit()

    assert len(outbox(db)) == 1
    send_due_messages(WORKER)
    queue_email("ada@example.org", "Reminder", "Tomorrow at 10.", dedupe_key="reminder:1:ada")
    db.session.commit()
    send_due_messages(WORKER)

    assert len(smtp.received) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


@pytest.mark.parametrize("outage", ["refused", "server down"])
def test_a_failed_send_is_retried_with_backoff_then_sent_once(app, db, smtp, frozen_clock,
                                                              caplog, outage):
    queue_email("ada@example.org", "Your booking", "See you on Tuesday.")
    db.session.commit()
    working_port = app.config["MAIL_PORT"]

    def break_server():
        if outage == "refused":
            smtp.handler.refuse = True
        else:
            app.config["MAIL_PORT"] = free_port()  # nothing listens there

    def mend_server():
        smtp.handler.refuse = False
        app.config["MAIL_PORT"] = working_port

    break_server()
    with caplog.at_level(logging.INFO):
        assert send_due_messages(WORKER) == 0
    [message] = outbox(db)
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1
    assert message.next_attempt_at == T0 + timedelta(seconds=30)
    expected_error = "SMTPRecipientsRefused" if outage == "refused" else "ConnectionRefusedError"
    assert message.last_error == expected_error
    logged = engage_log(caplog)
    assert expected_error in logged
    assert "ada@example.org" not in logged and "booking" not in logged

    # Not due yet: nothing is tried.
    clock.set_frozen(T0 + timedelta(seconds=29))
    assert send_due_messages(WORKER) == 0
    assert outbox(db)[0].attempts == 1

    # Due again, still failing: the wait doubles.
    clock.set_frozen(T0 + timedelta(seconds=30))
    assert send_due_messages(WORKER) == 0
    [message] = outbox(db)
    assert message.attempts == 2
    assert message.next_attempt_at == T0 + timedelta(seconds=30 + 60)

    # The server recovers, but the message waits for its time.
    mend_server()
    clock.set_frozen(T0 + timedelta(seconds=89))
    assert send_due_messages(WORKER) == 0
    assert smtp.received == []

    clock.set_frozen(T0 + timedelta(seconds=90))
    assert send_due_messages(WORKER) == 1
    clock.set_frozen(T0 + timedelta(hours=1))
    assert send_due_messages(WORKER) == 0

    assert [r.rcpt_tos for r in smtp.received] == [["ada@example.org"]]
    [message] = outbox(db)
    assert message.status == OutboxStatus.SENT
    assert message.attempts == 3
    assert message.last_error is None
    assert message.sent_at == T0 + timedelta(seconds=90)


def test_after_the_last_allowed_attempt_a_message_is_marked_failed(app, db, smtp,
                                                                   frozen_clock):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    queue_email("ada@example.org", "Your booking", "See you on Tuesday.")
    db.session.commit()
    smtp.handler.refuse = True

    for attempt in range(1, 4):
        assert send_due_messages(WORKER) == 0
        [message] = outbox(db)
        assert message.attempts == attempt
        clock.set_frozen(message.next_attempt_at)

    assert message.status == OutboxStatus.FAILED
    assert message.last_error == "SMTPRecipientsRefused"

    smtp.handler.refuse = False
    clock.set_frozen(T0 + timedelta(days=2))
    assert send_due_messages(WORKER) == 0
    assert smtp.received == []
    assert outbox(db)[0].status == OutboxStatus.FAILED


def test_a_message_that_cannot_be_built_does_not_hold_up_the_others(app, db, smtp, caplog):
    # A line break in a header cannot go into an email; it must not stop the rest of the batch
    # nor stay claimed for ever.
    queue_email("ada@example.org", "First line\nsecond line", "Body.")
    queue_email("grace@example.org", "Meeting notes", "The notes are ready.")
    db.session.commit()

    with caplog.at_level(logging.INFO):
        assert send_due_messages(WORKER) == 1

    assert [r.rcpt_tos for r in smtp.received] == [["grace@example.org"]]
    broken, sent = outbox(db)
    assert sent.status == OutboxStatus.SENT
    assert broken.status == OutboxStatus.PENDING
    assert broken.attempts == 1
    assert broken.last_error == "ValueError"
    logged = engage_log(caplog)
    assert "ValueError" in logged
    assert "ada@example.org" not in logged and "First line" not in logged


def test_an_odd_goodbye_after_the_server_took_the_message_does_not_send_it_again(app, db, smtp,
                                                                                frozen_clock):
    # Once the server has accepted the message, how it answers QUIT cannot unsend it.
    smtp.handler.quit_reply = "421 Closing connection"
    queue_email("ada@example.org", "Your booking", "See you on Tuesday.")
    db.session.commit()

    assert send_due_messages(WORKER) == 1
    smtp.handler.quit_reply = "221 Bye"
    clock.set_frozen(T0 + timedelta(days=1))
    assert send_due_messages(WORKER) == 0

    assert len(smtp.received) == 1
    [message] = outbox(db)
    assert message.status == OutboxStatus.SENT and message.attempts == 1
