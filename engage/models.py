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
from engage.events.models import (
    AttendanceCorrection,
    AttendanceRecord,
    Booking,
    CalendarFeed,
    Event,
    EventOrganiser,
    EventSeries,
    Register,
    ReminderSent,
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
    "AttendanceCorrection",
    "AttendanceRecord",
    "AttributionPreference",
    "AuditEvent",
    "Booking",
    "CalendarFeed",
    "Consultation",
    "ConsultationPart",
    "Event",
    "EventOrganiser",
    "EventSeries",
    "Notification",
    "OutboxMessage",
    "Panel",
    "PanelMembership",
    "PanelMessage",
    "PanelStaff",
    "ParticipationReceipt",
    "Question",
    "RecoveryCode",
    "Register",
    "ReminderSent",
    "Response",
    "StaffInvitation",
    "User",
    "UserRole",
    "WorkerLease",
]
