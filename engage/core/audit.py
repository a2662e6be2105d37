"""Append-only audit log of every change that matters. Never put personal data in details."""

from __future__ import annotations

from typing import Any

from engage.core.models import AuditEvent
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
