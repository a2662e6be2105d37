"""Notifications: always in-app; by email only on a channel the person marked safe.

Discreet mode (on by default) sends a neutral sender and subject with no content at all:
"there is a message for you, sign in to read it".
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from engage.core import clock
from engage.core.models import Notification, OutboxMessage
from engage.errors import NotFound
from engage.extensions import db

DISCREET_SUBJECT = "You have a new message"
DISCREET_BODY = (
    "Hello,\n\nThere is a new message for you. Please sign in to read it:\n{url}\n\n"
    "You can change how we contact you in your account settings at any time.\n"
)


class Recipient:
    """What notify needs to know about a person (accounts.User provides it)."""

    id: int
    email: str | None
    email_is_safe: bool
    discreet_mode: bool
    receives_notifications: bool


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    link: str | None = None


def notify(recipient: Recipient, message: Message, *, dedupe_key: str | None = None) -> None:
    """Leave an in-app notification and, where the person allows it, queue an email."""
    db.session.add(
        Notification(
            user_id=recipient.id, title=message.title, body=message.body, link=message.link
        )
    )
    if recipient.email and recipient.email_is_safe and recipient.receives_notifications:
        queue_email(
            recipient.email,
            *_email_content(recipient, message),
            user_id=recipient.id,
            dedupe_key=dedupe_key,
        )


def _email_content(recipient: Recipient, message: Message) -> tuple[str, str]:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if recipient.discreet_mode:
        return DISCREET_SUBJECT, DISCREET_BODY.format(url=f"{base}/notifications")
    link = f"\n\n{base}{message.link}" if message.link else ""
    return message.title, f"{message.body}{link}\n"


def queue_email(
    to_address: str,
    subject: str,
    body_text: str,
    *,
    user_id: int | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """Write the email to the outbox in the caller's transaction. With a dedupe_key, a second
    call for the same key queues nothing."""
    if dedupe_key is not None:
        existing = db.session.scalar(
            db.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return None
    message = OutboxMessage(
        user_id=user_id,
        dedupe_key=dedupe_key,
        to_address=to_address,
        sender_name=current_app.config["MAIL_DISCREET_SENDER_NAME"],
        subject=subject,
        body_text=body_text,
    )
    db.session.add(message)
    return message


# --- a person's messages (the notifications page) -------------------------------------------


def notifications_of(user: Recipient, limit: int = 100) -> list[Notification]:
    return list(db.session.scalars(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def own_notification(user: Recipient, notification_id: int) -> Notification:
    """The person's own message; anyone else's is not found."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound()
    return notification


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = clock.now()
        db.session.flush()


def mark_all_read(user: Recipient) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=clock.now())
        .execution_options(synchronize_session=False))
