"""Sending outbox messages. The only code that talks to SMTP."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr

from flask import current_app
from sqlalchemy import ColumnElement, or_, select, update

from engage.core import clock
from engage.core.models import OutboxMessage, OutboxStatus
from engage.extensions import db

log = logging.getLogger(__name__)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 6 hours."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


def send_due_messages(worker_id: str, limit: int | None = None) -> int:
    """Send every due message once. Each is claimed (committed) before it is sent and marked
    sent (committed) straight after, so a second worker or a restart never picks up a message
    that has gone. A claim older than OUTBOX_STALE_CLAIM_SECONDS belongs to a worker that died
    mid-send and is tried again: the one window for a repeat is a crash after the SMTP server
    accepted the message and before the 'sent' commit. Returns how many were sent."""
    limit = limit or current_app.config["OUTBOX_BATCH_SIZE"]
    sent = 0
    for message_id in _due_ids(limit):
        if not _claim(message_id, worker_id):
            continue
        if _deliver(db.session.get(OutboxMessage, message_id)):
            sent += 1
    return sent


def _is_due(now: datetime) -> ColumnElement[bool]:
    stale = now - timedelta(seconds=current_app.config["OUTBOX_STALE_CLAIM_SECONDS"])
    return or_(
        (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == OutboxStatus.SENDING) & (OutboxMessage.claimed_at < stale),
    )


def _due_ids(limit: int) -> list[int]:
    rows = db.session.scalars(
        select(OutboxMessage.id)
        .where(_is_due(clock.now()))
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.rollback()  # ends the read: each message is claimed in its own transaction
    return list(rows)


def _claim(message_id: int, worker_id: str) -> bool:
    """Take the message if it is still due: the check and the claim are one statement, so of
    two workers racing for it exactly one wins, and a message another worker has just failed
    (and pushed back) is not sent early."""
    now = clock.now()
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _is_due(now))
        .values(status=OutboxStatus.SENDING, claimed_at=now, claimed_by=worker_id)
    )
    db.session.commit()  # claimed before sending, so no other worker sends it too
    return result.rowcount == 1


def _deliver(message: OutboxMessage) -> bool:
    try:
        transport = current_app.config["MAIL_BACKEND"]
        if transport == "log":
            _log_message(message)
        else:
            _smtp_send(build_email(message))
    except Exception as exc:
        # Any failure, not only network ones: a message that cannot even be built must be
        # retried and in the end marked failed, not left claimed while it stops the batch.
        _record_failure(message, exc)
        return False
    message.status = OutboxStatus.SENT
    message.sent_at = clock.now()
    message.attempts += 1
    message.last_error = None
    db.session.commit()  # marked sent straight after sending, so a restart does not resend
    return True


def _record_failure(message: OutboxMessage, exc: Exception) -> None:
    message.attempts += 1
    message.last_error = type(exc).__name__
    if message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        message.status = OutboxStatus.FAILED
    else:
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = clock.now() + backoff(message.attempts)
    db.session.commit()  # the failure is kept even if a later message fails too
    log.warning("outbox message %s not sent (attempt %s): %s", message.id, message.attempts,
                message.last_error)


def build_email(message: OutboxMessage) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["From"] = formataddr((message.sender_name, config["MAIL_DEFAULT_SENDER"]))
    email["To"] = message.to_address
    email["Subject"] = message.subject
    domain = config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "localhost"
    # The same Message-ID on every attempt lets receiving systems drop a repeat.
    email["Message-ID"] = f"<outbox-{message.id}-{message.created_at:%Y%m%d%H%M%S}@{domain}>"
    email.set_content(message.body_text)
    return email


def _smtp_send(email: EmailMessage) -> None:
    config = current_app.config
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
    try:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)
    except BaseException:
        smtp.close()
        raise
    # The server has accepted the message. An error while saying goodbye must not count as a
    # failed send, or the message would go out again (`with smtplib.SMTP()` raises on any QUIT
    # reply other than 221).
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _log_message(message: OutboxMessage) -> None:
    """Development only: print the email instead of sending it."""
    log.info(
        "\n----- outbox email %s -----\nTo: %s\nSubject: %s\n\n%s\n----- end -----",
        message.id, message.to_address, message.subject, message.body_text,
    )
