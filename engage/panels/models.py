"""Panels: standing lived-experience groups, their staff, memberships and how people are credited.

A panel's `member_count` counts the places taken (active members and members on a break). It
is only ever changed by conditional UPDATEs in services.py, and a CHECK constraint makes the
database itself refuse more members than the size limit, so two acceptances at once can never
overfill a panel.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.core import clock
from engage.db import Base, EncryptedText, UTCDateTime
from engage.extensions import db


class MembershipState(enum.StrEnum):
    APPLIED = "applied"
    ACTIVE = "active"
    ON_BREAK = "on_break"
    LEFT = "left"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return MEMBERSHIP_STATE_LABELS[self]


MEMBERSHIP_STATE_LABELS = {
    MembershipState.APPLIED: "Application waiting for a reply",
    MembershipState.ACTIVE: "Member",
    MembershipState.ON_BREAK: "Taking a break",
    MembershipState.LEFT: "Left the panel",
    MembershipState.DECLINED: "Application not accepted",
}

# States that hold a place on the panel (counted against the size limit).
PLACE_HOLDING_STATES = (MembershipState.ACTIVE, MembershipState.ON_BREAK)


class PanelStaffRole(enum.StrEnum):
    FACILITATOR = "facilitator"
    LIVED_EXPERIENCE_LEAD = "lived_experience_lead"

    @property
    def label(self) -> str:
        return {"facilitator": "Facilitator",
                "lived_experience_lead": "Lived-experience lead"}[self.value]


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"


class Attribution(enum.StrEnum):
    PSEUDONYM = "pseudonym"
    DISPLAY_NAME = "display_name"
    NOT_CREDITED = "not_credited"


class Programme(Base):
    """A programme of work that panels belong to (for example a funder's programme). Finance
    reports and filters spend by it. Never deleted while in use: it is deactivated instead."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Panel(Base):
    __tablename__ = "panels"
    __table_args__ = (
        CheckConstraint("involvement_level BETWEEN 1 AND 4", name="involvement_level_range"),
        CheckConstraint("size_limit IS NULL OR size_limit > 0", name="size_limit_positive"),
        CheckConstraint(
            "member_count >= 0 AND (size_limit IS NULL OR member_count <= size_limit)",
            name="member_count_within_limit",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(Text, default="")
    who_for: Mapped[str] = mapped_column(Text, default="")
    # Formatted text: the source as typed, and the sanitised HTML that is the only thing shown.
    terms_of_reference: Mapped[str] = mapped_column(Text, default="")
    terms_of_reference_html: Mapped[str] = mapped_column(Text, default="")
    group_agreement: Mapped[str] = mapped_column(Text, default="")
    group_agreement_html: Mapped[str] = mapped_column(Text, default="")
    involvement_level: Mapped[int] = mapped_column(default=2)
    visibility: Mapped[str] = mapped_column(String(10), default=Visibility.PUBLIC)
    open_for_applications: Mapped[bool] = mapped_column(Boolean, default=True)
    size_limit: Mapped[int | None]
    member_count: Mapped[int] = mapped_column(default=0)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programmes.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)

    staff: Mapped[list[PanelStaff]] = relationship(
        back_populates="panel", cascade="all, delete-orphan", lazy="selectin",
        order_by="PanelStaff.id",
    )
    programme: Mapped[Programme | None] = relationship(lazy="joined")

    @property
    def is_public(self) -> bool:
        return self.visibility == Visibility.PUBLIC

    @property
    def is_full(self) -> bool:
        return self.size_limit is not None and self.member_count >= self.size_limit

    @property
    def places_left(self) -> int | None:
        if self.size_limit is None:
            return None
        return max(self.size_limit - self.member_count, 0)

    def staff_with_role(self, role: PanelStaffRole) -> list:
        return [s.user for s in self.staff if s.role == role]

    def facilitators_and_leads(self) -> list:
        """The people who run this panel (facilitators and lived-experience leads)."""
        return [s.user for s in self.staff]

    def is_facilitator(self, user) -> bool:
        """True when the user is listed as a facilitator or lived-experience lead of this panel."""
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        return any(s.user_id == user.id for s in self.staff)

    def membership_of(self, user) -> PanelMembership | None:
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        return db.session.scalar(
            select(PanelMembership).where(
                PanelMembership.panel_id == self.id, PanelMembership.user_id == user.id
            )
        )

    def is_active_member(self, user) -> bool:
        """True for a member in the active state (not on a break, not applied or left)."""
        membership = self.membership_of(user)
        return membership is not None and membership.state == MembershipState.ACTIVE

    def is_member(self, user) -> bool:
        """True for active members and members taking a break: both keep their place."""
        membership = self.membership_of(user)
        return membership is not None and membership.state in PLACE_HOLDING_STATES

    def __repr__(self) -> str:
        return f"<Panel {self.id}>"


class PanelStaff(Base):
    """Facilitators and lived-experience leads of a panel."""

    __tablename__ = "panel_staff"
    __table_args__ = (UniqueConstraint("panel_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30), default=PanelStaffRole.FACILITATOR)

    panel: Mapped[Panel] = relationship(back_populates="staff")
    user = relationship("User", lazy="joined")


class PanelMembership(Base):
    """One person's relationship with one panel, from application onwards.

    Re-applying after leaving or being declined reuses the row, so there is never more than one;
    the dates of an earlier time as a member are kept in `MembershipPeriod`.

    `user_id` is empty only for the history of a closed account whose holder chose to keep
    their contributions without their name: a membership that had begun, now left, with
    nothing they told us. Such rows count in figures about the past and are never shown as a
    person (the queries in services.py leave them out). Several can share a panel: both
    SQLite and PostgreSQL treat NULLs as distinct in the unique constraint.
    """

    __tablename__ = "panel_memberships"
    __table_args__ = (
        UniqueConstraint("panel_id", "user_id"),
        CheckConstraint(
            "state IN ('applied', 'active', 'on_break', 'left', 'declined')", name="state_known"
        ),
        # The programme dashboard counts members of each panel at each month's end.
        Index("ix_panel_memberships_panel_joined", "panel_id", "joined_at", "left_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"), index=True)
    # Deleting a user still deletes their memberships (the default choice); keeping them
    # unnamed is done by engage/panels/personal_data.py before the user row goes.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    state: Mapped[str] = mapped_column(String(12), default=MembershipState.APPLIED)
    # What the person chose to tell us: encrypted, shown only to the panel's facilitators.
    why_joining: Mapped[str | None] = mapped_column(EncryptedText)
    access_needs: Mapped[str | None] = mapped_column(EncryptedText)
    agreement_version: Mapped[str] = mapped_column(String(20))
    agreement_accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    decision_message: Mapped[str | None] = mapped_column(Text)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    break_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    panel: Mapped[Panel] = relationship()
    user = relationship("User", foreign_keys=[user_id], lazy="joined")

    @property
    def state_label(self) -> str:
        return MembershipState(self.state).label


class MembershipPeriod(Base):
    """An earlier time on a panel, kept when someone who left applies again (the membership row
    is reused and its dates start afresh). The dashboard's "members of each panel" counts these
    as well, so a past month still counts a member who later left and came back. Deleted with
    the membership; nothing in it but the dates."""

    __tablename__ = "panel_membership_periods"
    __table_args__ = (
        CheckConstraint("left_at >= joined_at", name="left_after_joining"),
        Index("ix_panel_membership_periods_panel_joined", "panel_id", "joined_at", "left_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("panel_memberships.id", ondelete="CASCADE"), index=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PanelMessage(Base):
    """A message a facilitator sent to the panel (kept so members can read it on the panel page)."""

    __tablename__ = "panel_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"), index=True)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class AttributionPreference(Base):
    """How a person wants to be credited when something they said is quoted publicly."""

    __tablename__ = "attribution_preferences"
    __table_args__ = (
        CheckConstraint(
            "choice IN ('pseudonym', 'display_name', 'not_credited')", name="choice_known"
        ),
        CheckConstraint("choice != 'pseudonym' OR pseudonym IS NOT NULL", name="pseudonym_set"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    choice: Mapped[str] = mapped_column(String(15), default=Attribution.NOT_CREDITED)
    pseudonym: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)
