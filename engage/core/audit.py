"""Append-only audit log of every change that matters. Never put personal data in details."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from engage.core.models import AnonymousActivityCount, AuditEvent
from engage.extensions import db


def record(
    action: str,
    *,
    actor_id: int | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    entry = AuditEvent(
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details,
    )
    db.session.add(entry)
    return entry


def count_anonymous(action: str, day: date, number: int = 1) -> None:
    """Count an anonymous action on its day instead of auditing it: a per-event row with its
    time, beside named sign-ins, would say who did it."""
    if number <= 0:
        return
    increment = (update(AnonymousActivityCount)
                 .where(AnonymousActivityCount.day == day,
                        AnonymousActivityCount.action == action)
                 .values(count=AnonymousActivityCount.count + number)
                 .execution_options(synchronize_session=False))
    if db.session.execute(increment).rowcount == 1:
        return
    try:
        with db.session.begin_nested():
            db.session.add(AnonymousActivityCount(day=day, action=action, count=number))
    except IntegrityError:  # another request counted the first one of the day meanwhile
        db.session.execute(increment)


def anonymous_counts(limit_days: int = 60) -> list[AnonymousActivityCount]:
    return list(db.session.scalars(
        select(AnonymousActivityCount)
        .order_by(AnonymousActivityCount.day.desc(), AnonymousActivityCount.action)
        .limit(limit_days * 8)))
