"""Core polling jobs run by the worker."""

from __future__ import annotations

from engage.core.anonymity import vacuum_anonymous_tables
from engage.core.mailer import send_due_messages


def send_outbox(worker_id: str) -> int:
    return send_due_messages(worker_id)


def vacuum_anonymous(worker_id: str) -> bool:
    return vacuum_anonymous_tables()
