"""Payments: versioned policy tables, preferences, claims, expenses, receipts, approvals,
payouts, payroll exports, webhooks and the append-only ledger.

Money is integer pence everywhere. The rules that matter are backed by the database: one
payout per claim (unique), one ledger entry per dedupe key (unique), a claim in at most one
payroll export (a column set by a conditional UPDATE), amounts never negative (CHECKs).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engage.core import clock
from engage.db import Base, EncryptedText, UTCDateTime

# ---------------------------------------------------------------------------------------------
# Policy tables
# ---------------------------------------------------------------------------------------------


class PaymentMode(enum.StrEnum):
    DAY_RATE = "day_rate"  # half day / full day (NHS England, NICE)
    HOURLY = "hourly"  # an hourly rate up to a maximum per activity (NIHR)


class ExpenseKind(enum.StrEnum):
    ACTUAL = "actual"  # actual cost, possibly capped
    MILEAGE = "mileage"  # miles times a rate from the mileage bands


class PaymentScheme(Base):
    __tablename__ = "payment_schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    versions: Mapped[list[PolicyVersion]] = relationship(
        back_populates="scheme", order_by="PolicyVersion.effective_from"
    )


class PolicyVersion(Base):
    """Every figure of a scheme, in force from `effective_from`. Never edited once a claim used
    it: a change is a new version with a later effective date."""

    __tablename__ = "payment_policy_versions"
    __table_args__ = (
        UniqueConstraint("scheme_id", "effective_from"),
        CheckConstraint("half_day_pence >= 0 AND full_day_pence >= 0 AND hourly_pence >= 0",
                        name="rates_not_negative"),
        CheckConstraint("threshold_minutes > 0", name="threshold_positive"),
        CheckConstraint("claim_deadline_months > 0", name="deadline_months_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("payment_schemes.id"), index=True)
    label: Mapped[str] = mapped_column(String(80))
    effective_from: Mapped[date] = mapped_column(Date)
    paid_levels: Mapped[list[int]] = mapped_column(JSON, default=lambda: [4])
    payment_mode: Mapped[str] = mapped_column(String(20), default=PaymentMode.DAY_RATE)
    half_day_pence: Mapped[int] = mapped_column(default=0)
    full_day_pence: Mapped[int] = mapped_column(default=0)
    threshold_minutes: Mapped[int] = mapped_column(default=240)
    # True: exactly the threshold is still a half day ("up to and including 4 hours").
    threshold_is_half_day: Mapped[bool] = mapped_column(Boolean, default=True)
    hourly_pence: Mapped[int] = mapped_column(default=0)
    # Claims are in time up to the same day this many calendar months after the activity (or
    # that month's last day).
    claim_deadline_months: Mapped[int] = mapped_column(default=3)
    target_payment_days: Mapped[int] = mapped_column(default=30)
    cost_code: Mapped[str] = mapped_column(String(40), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    scheme: Mapped[PaymentScheme] = relationship(back_populates="versions")
    expense_rules: Mapped[list[ExpenseRule]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="ExpenseRule.position",
        lazy="selectin",
    )


class ExpenseRule(Base):
    __tablename__ = "payment_expense_rules"
    __table_args__ = (
        UniqueConstraint("version_id", "category"),
        CheckConstraint("cap_pence IS NULL OR cap_pence >= 0", name="cap_not_negative"),
        CheckConstraint("max_line_pence IS NULL OR max_line_pence > 0",
                        name="max_line_positive"),
        CheckConstraint("max_miles IS NULL OR max_miles > 0", name="max_miles_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("payment_policy_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    category: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20), default=ExpenseKind.ACTUAL)
    cap_pence: Mapped[int | None]
    receipt_required: Mapped[bool] = mapped_column(Boolean, default=True)
    needs_preapproval: Mapped[bool] = mapped_column(Boolean, default=False)
    # Taxis: no pre-approval needed when the person's access needs say taxis.
    access_needs_waive_preapproval: Mapped[bool] = mapped_column(Boolean, default=False)
    rule_text: Mapped[str] = mapped_column(Text, default="")
    # Mileage bands over the tax year: [[from_mile, pence_per_mile], ...], sorted by from_mile.
    mileage_bands: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    # The most one expense line may be (amount, or miles for mileage), so a slip of the keyboard
    # (9,999,999.99 for parking) is caught when it is typed. Not an allowance: `cap_pence` is.
    max_line_pence: Mapped[int | None]
    max_miles: Mapped[int | None]

    version: Mapped[PolicyVersion] = relationship(back_populates="expense_rules")


# ---------------------------------------------------------------------------------------------
# People's preferences
# ---------------------------------------------------------------------------------------------


class PaymentChoice(enum.StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    CAP = "cap"


class PaymentRoute(enum.StrEnum):
    STRIPE = "stripe"
    PAYROLL = "payroll"
    VOUCHER = "voucher"

    @property
    def label(self) -> str:
        return {"stripe": "Bank transfer", "payroll": "Organisation's payroll",
                "voucher": "Voucher or other way agreed with finance"}[self.value]


class Capacity(enum.StrEnum):
    SELF = "self"  # taking part as themselves, with lived experience
    REPRESENTATIVE = "representative"  # representing an organisation
    EMPLOYEE = "employee"  # a paid employee attending in work time

    @property
    def label(self) -> str:
        return {"self": "As themselves, with lived experience",
                "representative": "For an organisation, as its representative",
                "employee": "As a paid employee, in work time"}[self.value]


BENEFITS_NOTICE_VERSION = "2026-1"


class PaymentPreference(Base):
    __tablename__ = "payment_preferences"
    __table_args__ = (
        CheckConstraint("cap_pence IS NULL OR cap_pence >= 0", name="cap_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         unique=True)
    choice: Mapped[str] = mapped_column(String(10), default=PaymentChoice.ACCEPT)
    cap_pence: Mapped[int | None]
    route: Mapped[str] = mapped_column(String(10), default=PaymentRoute.STRIPE)
    capacity: Mapped[str] = mapped_column(String(20), default=Capacity.SELF)
    # Asked for only when the person chooses payroll; cleared when they choose another way.
    payroll_number: Mapped[str | None] = mapped_column(EncryptedText)
    legal_name: Mapped[str | None] = mapped_column(EncryptedText)
    access_needs_taxi: Mapped[bool] = mapped_column(Boolean, default=False)
    stripe_account_id: Mapped[str | None] = mapped_column(String(64))
    stripe_onboarded: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)


class BenefitsNoticeView(Base):
    """That the person saw the benefits and tax notice (PPV-POLICY section 4), and when."""

    __tablename__ = "payment_notice_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    notice_version: Mapped[str] = mapped_column(String(20))
    # Where it was shown: "payment preferences", "panel 3", "event 12".
    shown_on: Mapped[str | None] = mapped_column(String(60))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


# ---------------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------------


class ClaimState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    LEAD_APPROVED = "lead_approved"
    APPROVED = "approved"  # approved by finance, ready to pay
    PAYING = "paying"  # a payout is being sent
    # Stripe made the transfer: the money is in the person's Stripe account, on its way to their
    # bank. "Paid" only once Stripe says the bank payout arrived (payout.paid).
    TRANSFERRED = "transferred"
    EXPORTED = "exported"  # in a payroll export, waiting for payroll to confirm
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    RETURNED = "returned"  # back to the member with a reason
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return CLAIM_STATE_LABELS[self]

    @property
    def finance_label(self) -> str:
        """The words finance sees (the member's words where they are the same)."""
        return CLAIM_STATE_FINANCE_LABELS.get(self, CLAIM_STATE_LABELS[self])


CLAIM_STATE_LABELS = {
    ClaimState.DRAFT: "Not sent yet",
    ClaimState.SUBMITTED: "Waiting for the lead to check it",
    ClaimState.LEAD_APPROVED: "Waiting for finance to check it",
    ClaimState.APPROVED: "Approved, waiting to be paid",
    ClaimState.PAYING: "Being paid",
    ClaimState.TRANSFERRED: "Sent to your Stripe account",
    ClaimState.EXPORTED: "Sent to payroll",
    ClaimState.PAID: "Paid",
    ClaimState.PAYMENT_FAILED: "Payment did not go through: finance is sorting it out",
    ClaimState.RETURNED: "Returned to you to change",
    ClaimState.REJECTED: "Not approved",
}

CLAIM_STATE_FINANCE_LABELS = {
    ClaimState.PAYING: "Sending to Stripe",
    ClaimState.TRANSFERRED: "Transferred",
    ClaimState.PAYMENT_FAILED: "Payment failed",
}

EDITABLE_STATES = (ClaimState.DRAFT, ClaimState.RETURNED)


class ClaimKind(enum.StrEnum):
    INVOLVEMENT = "involvement"  # from an activity's register: involvement payment + expenses
    EXPENSES = "expenses"  # expenses only, for any activity


class Claim(Base):
    __tablename__ = "payment_claims"
    __table_args__ = (
        UniqueConstraint("user_id", "activity_kind", "activity_ref_id",
                         name="one_claim_per_activity"),
        CheckConstraint("involvement_pence >= 0 AND expenses_pence >= 0 AND declined_pence >= 0",
                        name="amounts_not_negative"),
        CheckConstraint("involvement_level BETWEEN 1 AND 4", name="level_range"),
        CheckConstraint("advance_pence >= 0 AND advance_pence <= involvement_pence + "
                        "expenses_pence", name="advance_within_total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Nullable: payment records outlive an erased account (kept 6 years, pseudonymised).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default=ClaimState.DRAFT, index=True)

    # The activity, copied when the claim is made so it stands on its own.
    activity_kind: Mapped[str] = mapped_column(String(20))
    activity_ref_id: Mapped[int | None]
    activity_title: Mapped[str] = mapped_column(String(200))
    activity_date: Mapped[date] = mapped_column(Date)
    involvement_level: Mapped[int] = mapped_column(default=1)
    panel_id: Mapped[int | None] = mapped_column(ForeignKey("panels.id", ondelete="SET NULL"),
                                                 index=True)
    lead_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    minutes_taken_part: Mapped[int] = mapped_column(default=0)
    # How long the activity was planned to last (what a payable cancellation pays).
    planned_minutes: Mapped[int] = mapped_column(default=0)
    # An activity over several days: minutes on each day in date order (empty for one day).
    day_minutes: Mapped[list[int]] = mapped_column(JSON, default=list)
    prep_minutes: Mapped[int] = mapped_column(default=0)
    prep_paid: Mapped[bool] = mapped_column(Boolean, default=False)
    activity_cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    cancellation_payable: Mapped[bool] = mapped_column(Boolean, default=False)

    # What the person chose, snapshotted when they submit.
    declined_for_activity: Mapped[bool] = mapped_column(Boolean, default=False)
    route: Mapped[str] = mapped_column(String(10), default=PaymentRoute.STRIPE)
    # How they took part in this activity (Capacity), chosen when they send the claim; until
    # then (None) their standing preference is used.
    capacity: Mapped[str | None] = mapped_column(String(20))

    # The last calculation: the version used, amounts and the explanation lines.
    policy_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_policy_versions.id"), index=True
    )
    involvement_pence: Mapped[int] = mapped_column(default=0)
    declined_pence: Mapped[int] = mapped_column(default=0)
    expenses_pence: Mapped[int] = mapped_column(default=0)
    # Advances already paid for this activity, taken off what is still to pay (never more
    # than the claim's total).
    advance_pence: Mapped[int] = mapped_column(default=0)
    explanation: Mapped[list[str]] = mapped_column(JSON, default=list)

    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_late: Mapped[bool] = mapped_column(Boolean, default=False)
    late_override_reason: Mapped[str | None] = mapped_column(Text)
    late_override_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # Names of the staff who acted, copied when they act: the ids go when a staff account is
    # closed, the names stay for as long as the payment record is kept.
    late_override_by_name: Mapped[str | None] = mapped_column(String(120))
    lead_approved_by_name: Mapped[str | None] = mapped_column(String(120))
    finance_approved_by_name: Mapped[str | None] = mapped_column(String(120))
    paid_by_name: Mapped[str | None] = mapped_column(String(120))
    lead_approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    lead_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finance_approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    finance_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_reference: Mapped[str | None] = mapped_column(String(120))
    payroll_export_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_payroll_exports.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)

    expenses: Mapped[list[Expense]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="Expense.id",
        lazy="selectin",
    )
    history: Mapped[list[ClaimEvent]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimEvent.id"
    )
    policy_version: Mapped[PolicyVersion | None] = relationship()

    @property
    def total_pence(self) -> int:
        """What the claim is worth: involvement payment and expenses."""
        return self.involvement_pence + self.expenses_pence

    @property
    def to_pay_pence(self) -> int:
        """What is still to pay: the total less any advance already paid."""
        return max(self.total_pence - (self.advance_pence or 0), 0)

    @property
    def state_label(self) -> str:
        return ClaimState(self.state).label

    @property
    def finance_state_label(self) -> str:
        return ClaimState(self.state).finance_label

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES


class ClaimEvent(Base):
    """Every move of a claim: who, when, from which state to which, and why."""

    __tablename__ = "payment_claim_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("payment_claims.id", ondelete="CASCADE"),
                                          index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The actor's name when they acted: kept after their account is closed.
    actor_name: Mapped[str | None] = mapped_column(String(120))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(EncryptedText)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    claim: Mapped[Claim] = relationship(back_populates="history")


class Receipt(Base):
    """A receipt file stored outside the web root under a random name."""

    __tablename__ = "payment_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("payment_claims.id", ondelete="CASCADE"),
                                          index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    extension: Mapped[str] = mapped_column(String(5))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Expense(Base):
    __tablename__ = "payment_expenses"
    __table_args__ = (
        CheckConstraint("amount_pence IS NULL OR amount_pence >= 0", name="amount_not_negative"),
        CheckConstraint("miles IS NULL OR miles >= 0", name="miles_not_negative"),
        CheckConstraint("allowed_pence >= 0", name="allowed_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("payment_claims.id", ondelete="CASCADE"),
                                          index=True)
    category: Mapped[str] = mapped_column(String(40))
    expense_date: Mapped[date] = mapped_column(Date)
    amount_pence: Mapped[int | None]
    miles: Mapped[int | None]
    # What the calculation allowed for this line when the claim was last worked out.
    allowed_pence: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(String(200), default="")
    preapproved: Mapped[bool] = mapped_column(Boolean, default=False)
    receipt_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_receipts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    claim: Mapped[Claim] = relationship(back_populates="expenses")
    receipt: Mapped[Receipt | None] = relationship()


# ---------------------------------------------------------------------------------------------
# Advances and tickets booked for people who cannot pay first (PPV-POLICY section 3)
# ---------------------------------------------------------------------------------------------


class SupportKind(enum.StrEnum):
    ADVANCE = "advance"  # money paid to the person before the activity
    TICKET = "ticket"  # a ticket the organisation booked and paid for

    @property
    def label(self) -> str:
        return {"advance": "Advance", "ticket": "Ticket booked for them"}[self.value]


class ActivitySupport(Base):
    """An advance paid to a person, or a ticket booked for them, recorded against an activity.

    An advance is money paid out: it has a ledger entry, and it is taken off the person's claim
    for the same activity. A ticket was paid by the organisation, so it is shown on the claim
    and is not claimed again. `idempotency_key` comes from the form, so a double click records
    one row."""

    __tablename__ = "payment_activity_support"
    __table_args__ = (
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("kind IN ('advance', 'ticket')", name="kind_known"),
        Index("ix_payment_activity_support_activity", "activity_kind", "activity_ref_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Nullable: payment records outlive an erased account (kept 6 years, pseudonymised).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    kind: Mapped[str] = mapped_column(String(10))
    activity_kind: Mapped[str] = mapped_column(String(20))
    activity_ref_id: Mapped[int]
    activity_title: Mapped[str] = mapped_column(String(200))
    activity_date: Mapped[date] = mapped_column(Date)
    amount_pence: Mapped[int]
    route: Mapped[str | None] = mapped_column(String(10))  # advances: how it was paid
    reference: Mapped[str | None] = mapped_column(String(120))  # advances: payment reference
    description: Mapped[str] = mapped_column(String(200), default="")  # tickets: what
    paid_on: Mapped[date] = mapped_column(Date)
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("payment_ledger.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Recorded by mistake: withdrawn (never deleted); an advance's ledger entry is reversed.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    withdrawn_reason: Mapped[str | None] = mapped_column(String(120))

    @property
    def kind_label(self) -> str:
        return SupportKind(self.kind).label

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None


# ---------------------------------------------------------------------------------------------
# Paying
# ---------------------------------------------------------------------------------------------


class PayoutState(enum.StrEnum):
    PENDING = "pending"  # written with its idempotency key, not yet sent
    SENDING = "sending"  # the call to Stripe started (may or may not have reached Stripe)
    SENT = "sent"  # Stripe made the transfer: the money is in the person's Stripe account
    PAID = "paid"  # in the person's bank (Stripe's payout.paid), or paid another way
    FAILED = "failed"  # back with finance, with the reason
    CANCELLED = "cancelled"  # finance cancelled it before it was sent

    @property
    def label(self) -> str:
        """What finance sees."""
        return {"pending": "Waiting to be sent", "sending": "Sending to Stripe",
                "sent": "Transferred", "paid": "Paid", "failed": "Failed",
                "cancelled": "Cancelled"}[self.value]


# A payout in one of these has not finished: it is either still to be sent, or sent and
# waiting for the person's bank.
UNSENT_PAYOUT_STATES = (PayoutState.PENDING, PayoutState.SENDING)


class PayoutMethod(enum.StrEnum):
    """How a payout was actually made (a claim's route is how the person asked to be paid)."""

    STRIPE = "stripe"
    VOUCHER = "voucher"
    CASH = "cash"
    PAYROLL = "payroll"

    @property
    def label(self) -> str:
        return {"stripe": "Bank transfer through Stripe", "voucher": "Voucher",
                "cash": "Cash", "payroll": "Payroll"}[self.value]


# Ways finance can record a claim as paid outside Stripe.
OTHER_PAYMENT_METHODS = (PayoutMethod.VOUCHER, PayoutMethod.CASH, PayoutMethod.PAYROLL)


class BatchState(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"


class PayoutBatch(Base):
    __tablename__ = "payment_payout_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    state: Mapped[str] = mapped_column(String(10), default=BatchState.RUNNING)
    total: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    payouts: Mapped[list[Payout]] = relationship(back_populates="batch", order_by="Payout.id")


class Payout(Base):
    """One per claim, ever (unique claim_id). A retry after a failure is a new attempt on the
    same row; a retry after a timeout reuses the idempotency key, but only within Stripe's
    24 hours (`key_used_since`): after that Stripe is asked first."""

    __tablename__ = "payment_payouts"
    __table_args__ = (
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("amount_reversed_pence >= 0 AND amount_reversed_pence <= amount_pence",
                        name="reversed_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("payment_claims.id"), unique=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("payment_payout_batches.id"),
                                                 index=True)
    # How it is paid: a PayoutMethod (stripe, or voucher/cash/payroll when recorded by finance).
    route: Mapped[str] = mapped_column(String(10))
    amount_pence: Mapped[int]
    state: Mapped[str] = mapped_column(String(10), default=PayoutState.PENDING, index=True)
    # When the payout last moved (a payout that stays put too long is flagged to finance).
    state_since: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    attempt: Mapped[int] = mapped_column(default=1)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    # When the key was first sent to Stripe (None: never sent). Stripe keeps keys 24 hours.
    key_used_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destination: Mapped[str | None] = mapped_column(String(64))
    stripe_transfer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Of the transfer, how much Stripe has taken back (transfer.reversed, partial or full).
    amount_reversed_pence: Mapped[int] = mapped_column(default=0)
    # The Stripe payout (po_...) that took the money from the Stripe account to the bank.
    bank_payout_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reference: Mapped[str | None] = mapped_column(String(120))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)

    batch: Mapped[PayoutBatch | None] = relationship(back_populates="payouts")
    claim: Mapped[Claim] = relationship()

    @property
    def state_label(self) -> str:
        return PayoutState(self.state).label

    @property
    def method_label(self) -> str:
        return PayoutMethod(self.route).label

    @property
    def transfer_stands(self) -> bool:
        """Stripe made a transfer and has not taken all of it back: the money left Engage's
        Stripe balance for the person's Stripe account (and maybe on to their bank)."""
        return bool(self.stripe_transfer_id) and self.amount_reversed_pence < self.amount_pence


class StripeWebhookEvent(Base):
    """Each Stripe event id is applied once (unique). `outcome` records what it did; an event
    that did not match what Engage sent is kept with outcome "mismatch" and flagged."""

    __tablename__ = "payment_stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_event_id: Mapped[str] = mapped_column(String(80), unique=True)
    event_type: Mapped[str] = mapped_column(String(80))
    # The connected account the event happened on (Connect events carry it).
    account: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class PayrollExport(Base):
    """A payroll CSV, stored as the exact bytes first downloaded."""

    __tablename__ = "payment_payroll_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The date payroll pays these lines: it decides the tax year the money counts in. None only
    # on exports made before pay dates were asked for.
    pay_date: Mapped[date | None] = mapped_column(Date)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    claim_count: Mapped[int] = mapped_column(default=0)
    total_pence: Mapped[int] = mapped_column(default=0)
    confirmed_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    lines: Mapped[list[PayrollLine]] = relationship(
        back_populates="export", order_by="PayrollLine.position", lazy="selectin")


class PayrollLineState(enum.StrEnum):
    EXPORTED = "exported"  # in the file, waiting for payroll to confirm
    PAID = "paid"
    FAILED = "failed"  # payroll could not pay it: the claim went back to finance


class PayrollLine(Base):
    """One pay element of one claim in a payroll export: the involvement fee (taxable), each
    kind of expense (not taxable), or an advance already paid (deducted, negative)."""

    __tablename__ = "payment_payroll_lines"
    __table_args__ = (UniqueConstraint("export_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[int] = mapped_column(
        ForeignKey("payment_payroll_exports.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("payment_claims.id"), index=True)
    position: Mapped[int]
    element: Mapped[str] = mapped_column(String(60))  # "involvement_fee", "expense:car", ...
    label: Mapped[str] = mapped_column(String(120))
    taxable: Mapped[bool] = mapped_column(Boolean, default=False)
    amount_pence: Mapped[int]
    state: Mapped[str] = mapped_column(String(10), default=PayrollLineState.EXPORTED)
    failure_reason: Mapped[str | None] = mapped_column(Text)

    export: Mapped[PayrollExport] = relationship(back_populates="lines")


class LedgerEntryType(enum.StrEnum):
    PAYABLE = "payable"  # approved by finance: owed (positive)
    PAYMENT = "payment"  # money sent (negative: reduces what is owed)
    FAILURE = "failure"  # a payment that failed (positive: owed again)
    REVERSAL = "reversal"  # Stripe took (part of) a transfer back (positive: owed again)
    CORRECTION = "correction"  # reverses another entry
    ADVANCE = "advance"  # money paid before the activity (negative), taken off the claim

    @property
    def label(self) -> str:
        return {"payable": "Approved, owed", "payment": "Payment sent",
                "failure": "Payment failed or reversed", "correction": "Correction",
                "advance": "Advance paid"}[self.value]


class LedgerEntry(Base):
    """Append-only. Never updated or deleted (enforced below); mistakes are corrected by a
    reversing entry. `dedupe_key` makes each business event land exactly once."""

    __tablename__ = "payment_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("payment_claims.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    entry_type: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    amount_pence: Mapped[int]
    route: Mapped[str | None] = mapped_column(String(10))
    reference: Mapped[str | None] = mapped_column(String(120))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("payment_ledger.id"))
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ReconciliationFlag(Base):
    __tablename__ = "payment_reconciliation_flags"
    __table_args__ = (UniqueConstraint("check_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    check_key: Mapped[str] = mapped_column(String(120))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("payment_claims.id"))
    detail: Mapped[str] = mapped_column(Text)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The ledger is append-only: the ORM refuses to change or delete an entry. (Erasure sets
# user_id to NULL with a bulk UPDATE, the one documented exception: pseudonymisation.)
@event.listens_for(Session, "before_flush")
def _ledger_is_append_only(session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, LedgerEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise ValueError("Ledger entries are never changed: add a reversing entry instead.")
