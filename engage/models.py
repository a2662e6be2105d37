"""Imports every domain's models so Alembic and create_all see them. Defines nothing."""

from engage.accounts.models import RecoveryCode, StaffInvitation, User, UserRole
from engage.core.models import AuditEvent, Notification, OutboxMessage, WorkerLease

__all__ = [
    "AuditEvent",
    "Notification",
    "OutboxMessage",
    "RecoveryCode",
    "StaffInvitation",
    "User",
    "UserRole",
    "WorkerLease",
]
