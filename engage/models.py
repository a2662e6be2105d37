"""Imports every domain's models so Alembic and create_all see them. Defines nothing."""

from engage.accounts.models import RecoveryCode, StaffInvitation, User, UserRole
from engage.core.models import AuditEvent, Notification, OutboxMessage, WorkerLease
from engage.panels.models import (
    AttributionPreference,
    Panel,
    PanelMembership,
    PanelMessage,
    PanelStaff,
)

__all__ = [
    "AttributionPreference",
    "AuditEvent",
    "Notification",
    "OutboxMessage",
    "Panel",
    "PanelMembership",
    "PanelMessage",
    "PanelStaff",
    "RecoveryCode",
    "StaffInvitation",
    "User",
    "UserRole",
    "WorkerLease",
]
