"""Imports every domain's models so Alembic and create_all see them. Defines nothing."""

from engage.accounts.models import RecoveryCode, StaffInvitation, User, UserRole
from engage.changes.models import ChangeEntry, ChangeEntryEvent, ChangeLink
from engage.consultations.models import (
    AnonymousAnswer,
    AnonymousResponse,
    Answer,
    Consultation,
    ConsultationPart,
    ParticipationReceipt,
    Question,
    Response,
)
from engage.core.models import AuditEvent, Notification, OutboxMessage, WorkerLease
from engage.feedback.models import (
    FeedbackGiver,
    FeedbackItem,
    FeedbackItemTheme,
    FeedbackReply,
    FeedbackTheme,
)
from engage.panels.models import (
    AttributionPreference,
    Panel,
    PanelMembership,
    PanelMessage,
    PanelStaff,
)

__all__ = [
    "AnonymousAnswer",
    "AnonymousResponse",
    "Answer",
    "AttributionPreference",
    "AuditEvent",
    "ChangeEntry",
    "ChangeEntryEvent",
    "ChangeLink",
    "Consultation",
    "ConsultationPart",
    "FeedbackGiver",
    "FeedbackItem",
    "FeedbackItemTheme",
    "FeedbackReply",
    "FeedbackTheme",
    "Notification",
    "OutboxMessage",
    "Panel",
    "PanelMembership",
    "PanelMessage",
    "PanelStaff",
    "ParticipationReceipt",
    "Question",
    "RecoveryCode",
    "Response",
    "StaffInvitation",
    "User",
    "UserRole",
    "WorkerLease",
]
