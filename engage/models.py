"""Imports every domain's models so Alembic and create_all see them. Defines nothing."""

from engage.accounts.models import RecoveryCode, StaffInvitation, User, UserRole
from engage.changes.models import ChangeEntry, ChangeEntryEvent, ChangeLink
from engage.core.models import AuditEvent, Notification, OutboxMessage, WorkerLease
from engage.feedback.models import (
    FeedbackGiver,
    FeedbackItem,
    FeedbackItemTheme,
    FeedbackReply,
    FeedbackTheme,
)

__all__ = [
    "AuditEvent",
    "ChangeEntry",
    "ChangeEntryEvent",
    "ChangeLink",
    "FeedbackGiver",
    "FeedbackItem",
    "FeedbackItemTheme",
    "FeedbackReply",
    "FeedbackTheme",
    "Notification",
    "OutboxMessage",
    "RecoveryCode",
    "StaffInvitation",
    "User",
    "UserRole",
    "WorkerLease",
]
