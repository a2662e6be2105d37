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
from engage.payments.models import (
    BenefitsNoticeView,
    Claim,
    ClaimEvent,
    Expense,
    ExpenseRule,
    LedgerEntry,
    PaymentPreference,
    PaymentScheme,
    Payout,
    PayoutBatch,
    PayrollExport,
    PolicyVersion,
    Receipt,
    ReconciliationFlag,
    StripeWebhookEvent,
)

__all__ = [
    "AttributionPreference",
    "AuditEvent",
    "BenefitsNoticeView",
    "Claim",
    "ClaimEvent",
    "Expense",
    "ExpenseRule",
    "LedgerEntry",
    "Notification",
    "OutboxMessage",
    "Panel",
    "PanelMembership",
    "PanelMessage",
    "PanelStaff",
    "PaymentPreference",
    "PaymentScheme",
    "Payout",
    "PayoutBatch",
    "PayrollExport",
    "PolicyVersion",
    "Receipt",
    "ReconciliationFlag",
    "RecoveryCode",
    "StaffInvitation",
    "StripeWebhookEvent",
    "User",
    "UserRole",
    "WorkerLease",
]
