"""Sending outbox messages. The only code that talks to SMTP."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr

from flask import current_app
from sqlalchemy import or_, select, update

from engage.core import clock
from engage.core.models import OutboxMessage, OutboxStatus
from engage.extensions import db

log = logging.getLogger(__name__)
STALE_CLAIM = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 6 hours."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


def send_due_messages(worker_id: str, limit: int | None = None) -> int:
    """Send every due message once. Each is claimed (committed) before it is sent and marked
    sent (committed) straight after, so a second worker or a restart never picks up a message
    that has gone. Returns how many were sent."""
    limit = limit or current_app.config["OUTBOX_BATCH_SIZE"]
    sent = 0
    for message_id in _due_ids(limit):
        if not _claim(message_id, worker_id):
            continue
        if _deliver(db.session.get(OutboxMessage, message_id)):
            sent += 1
    return sent


def _due_ids(limit: int) -> list[int]:
    now = clock.now()
    stale = now - STALE_CLAIM
    rows = db.session.scalars(
        select(OutboxMessage.id)
        .where(
            or_(
                (OutboxMessage.status == OutboxStatus.PENDING)
                & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == OutboxStatus.SENDING)
                & (OutboxMessage.claimed_at < stale),
            )
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    return list(rows)


def _claim(message_id: int, worker_id: str) -> bool:
    now = clock.now()
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .where(
            or_(
                OutboxMessage.status == OutboxStatus.PENDING,
                (OutboxMessage.status == OutboxStatus.SENDING)
                & (OutboxMessage.claimed_at < now - STALE_CLAIM),
            )
        )
        .values(status=OutboxStatus.SENDING, claimed_at=now, claimed_by=worker_id)
    )
    db.session.commit()
    return result.rowcount == 1


def _deliver(message: OutboxMessage) -> bool:
    try:
        transport = current_app.config["MAIL_BACKEND"]
        if transport == "log":
            _log_message(message)
        else:
            _smtp_send(build_email(message))
    except (OSError, smtplib.SMTPException) as exc:
        _record_failure(message, exc)
        return False
    message.status = OutboxStatus.SENT
    message.sent_at = clock.now()
    message.attempts += 1
    message.last_error = None
    db.session.commit()
    return True


def _record_failure(message: OutboxMessage, exc: Exception) -> None:
    message.attempts += 1
    message.last_error = type(exc).__name__
    if message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        message.status = OutboxStatus.FAILED
    else:
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = clock.now() + backoff(message.attempts)
    db.session.commit()
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
    with smtplib.SMTP(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
    ) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)


def _log_message(message: OutboxMessage) -> None:
    """Development only: print the email instead of sending it."""
    log.info(
        "\n----- outbox email %s -----\nTo: %s\nSubject: %s\n\n%s\n----- end -----",
        message.id, message.to_address, message.subject, message.body_text,
    )
