"""Imports every domain's models so Alembic and create_all see them. Defines nothing."""

from engage.accounts.models import RecoveryCode, StaffInvitation, User, UserRole
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
from engage.equality.models import (
    EqualityAnswers,
    EqualitySnapshot,
    EqualityTally,
    PopulationFigure,
)
from engage.lifecycle.models import LifecycleRun, RetentionSetting
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
    "Consultation",
    "ConsultationPart",
    "EqualityAnswers",
    "EqualitySnapshot",
    "EqualityTally",
    "LifecycleRun",
    "Notification",
    "OutboxMessage",
    "Panel",
    "PanelMembership",
    "PanelMessage",
    "PanelStaff",
    "ParticipationReceipt",
    "PopulationFigure",
    "Question",
    "RecoveryCode",
    "Response",
    "RetentionSetting",
    "StaffInvitation",
    "User",
    "UserRole",
    "WorkerLease",
]
