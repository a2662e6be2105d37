"""People, their roles, signed-in sessions, two-factor secrets, recovery codes and staff
invitations."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.core import clock
from engage.core.permissions import STAFF_ROLES, Role
from engage.db import Base, EncryptedText, UTCDateTime


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40))
    username_key: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Contact preferences: email is used only when the person marks it safe; discreet by default.
    email_is_safe: Mapped[bool] = mapped_column(Boolean, default=False)
    discreet_mode: Mapped[bool] = mapped_column(Boolean, default=True)

    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_counter: Mapped[int | None]

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        # Loaded on use: the signed-in person's roles come with them (hooks.load_user); lists
        # that check roles ask for them (selectinload), and users loaded alongside other
        # things (panel members, organisers) do not fetch roles no page shows.
        lazy="select",
        foreign_keys="UserRole.user_id",
    )
    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def get_id(self) -> str:
        # The session version travels with the id: bumping it signs out every session.
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return not self.is_disabled

    @property
    def role_set(self) -> frozenset[Role]:
        if "roles" in self.__dict__ or "_known_roles" not in self.__dict__:
            return frozenset(Role(r.role) for r in self.roles)  # loaded, maybe changed since
        return self.__dict__["_known_roles"]

    def known_roles(self, names) -> None:
        """The role names read with the person (hooks.load_user), so a page can check roles
        without loading them; once `roles` itself is loaded (to change it, say), it is what
        counts."""
        self.__dict__["_known_roles"] = frozenset(Role(name) for name in names)

    @property
    def is_staff(self) -> bool:
        return bool(self.role_set & STAFF_ROLES)

    @property
    def has_two_factor(self) -> bool:
        return self.totp_confirmed_at is not None

    @property
    def needs_two_factor_setup(self) -> bool:
        return self.is_staff and not self.has_two_factor

    @property
    def receives_notifications(self) -> bool:
        return not self.is_disabled

    def has_role(self, role: Role) -> bool:
        return role in self.role_set

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    granted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(back_populates="roles", foreign_keys=[user_id])


class UserSession(Base):
    """One signed-in browser. Its session cookie carries a random token; only a keyed hash of
    it is kept here. Signing out deletes the row, so a copy of the cookie stops working at
    once (the user loader looks the row up on every request)."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)


class RecoveryCode(Base):
    """Single-use codes for a forgotten password (members without email) or a lost
    two-factor device (staff). Stored only as keyed hashes."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="recovery_codes")


class StaffInvitation(Base):
    """An admin invites a member of staff by link; the token is stored only as a hash."""

    __tablename__ = "staff_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(30))
    display_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # False while an invitation to a powerful role waits for a second admin's approval.
    approved: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    @property
    def is_usable(self) -> bool:
        return (
            self.approved and self.accepted_at is None and self.revoked_at is None
            and self.expires_at > clock.now()
        )


class GrantOutcome:
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class RoleGrantRequest(Base):
    """A powerful role (admin, finance officer, programme lead) asked for by one admin, for an
    existing account or in a staff invitation. It takes effect only when a second admin, who
    is neither the one asking nor the person receiving it, approves."""

    __tablename__ = "role_grant_requests"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (invitation_id IS NULL)", name="one_target"),
        CheckConstraint("outcome IS NULL OR outcome IN ('approved', 'declined', 'cancelled')",
                        name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_invitations.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(10), index=True)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    invitation: Mapped[StaffInvitation | None] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

    @property
    def is_pending(self) -> bool:
        return self.outcome is None

    @property
    def target_name(self) -> str:
        if self.user is not None:
            return self.user.display_name
        return self.invitation.display_name if self.invitation else ""
