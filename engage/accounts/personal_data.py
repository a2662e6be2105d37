"""The account domain's personal data: what is exported and what closure does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from engage.accounts.models import (
    RecoveryCode,
    RoleGrantRequest,
    StaffInvitation,
    User,
    UserRole,
    UserSession,
)
from engage.core.clock import iso
from engage.core.personal_data import PersonalDataKind
from engage.extensions import db


def _user(user: User) -> list[dict[str, Any]]:
    return [{
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "created_at": iso(user.created_at),
        "last_sign_in_at": iso(user.last_sign_in_at),
        "email_is_safe": user.email_is_safe,
        "discreet_mode": user.discreet_mode,
        "two_factor_enabled": user.has_two_factor,
    }]


def _roles(user: User) -> list[dict[str, Any]]:
    return [{"role": r.role, "granted_at": iso(r.granted_at)} for r in user.roles]


def _recovery_codes(user: User) -> list[dict[str, Any]]:
    # The codes themselves are stored only as hashes and cannot be exported.
    return [{"created_at": iso(c.created_at), "used_at": iso(c.used_at)}
            for c in user.recovery_codes]


def _sessions(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id))
    return [{"signed_in_at": iso(r.started_at)} for r in rows]


def _erase_sessions(user: User) -> None:
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def _role_requests(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(RoleGrantRequest).where(
        (RoleGrantRequest.user_id == user.id) | (RoleGrantRequest.requested_by_id == user.id)
        | (RoleGrantRequest.decided_by_id == user.id)))
    return [{"role": r.role, "for_you": r.user_id == user.id,
             "asked_by_you": r.requested_by_id == user.id,
             "decided_by_you": r.decided_by_id == user.id, "outcome": r.outcome,
             "requested_at": iso(r.requested_at), "decided_at": iso(r.decided_at)}
            for r in rows]


def _erase_role_requests(user: User) -> None:
    db.session.execute(delete(RoleGrantRequest).where(RoleGrantRequest.user_id == user.id))
    db.session.execute(update(RoleGrantRequest).where(
        RoleGrantRequest.requested_by_id == user.id).values(requested_by_id=None))
    db.session.execute(update(RoleGrantRequest).where(
        RoleGrantRequest.decided_by_id == user.id).values(decided_by_id=None))


def _invitations(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(StaffInvitation).where(StaffInvitation.accepted_user_id == user.id)
    )
    return [{"role": i.role, "display_name": i.display_name, "email": i.email,
             "accepted_at": iso(i.accepted_at)} for i in rows]


def _erase_user(user: User) -> None:
    db.session.delete(user)


def _erase_invitations(user: User) -> None:
    db.session.execute(
        update(StaffInvitation)
        .where(StaffInvitation.accepted_user_id == user.id)
        .values(email=None, display_name="(closed account)", accepted_user_id=None)
    )
    db.session.execute(
        update(StaffInvitation)
        .where(StaffInvitation.created_by_id == user.id)
        .values(created_by_id=None)
    )


def _erase_roles(user: User) -> None:
    db.session.execute(
        update(UserRole).where(UserRole.granted_by_id == user.id).values(granted_by_id=None)
    )


def _erase_recovery_codes(user: User) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


KINDS = [
    PersonalDataKind("users", "Your account", "So you can sign in and take part.",
                     "You. Staff see your display name only.",
                     "Until you close your account.", _user, _erase_user),
    PersonalDataKind("user_roles", "Your roles", "To decide what you can do.",
                     "You and admins.", "Until you close your account.", _roles, _erase_roles),
    PersonalDataKind("recovery_codes", "Recovery codes (stored scrambled)",
                     "So you can get back in without email.", "No one can read them.",
                     "Until used, replaced or your account closes.", _recovery_codes,
                     _erase_recovery_codes),
    PersonalDataKind("role_grant_requests", "Role changes waiting for a second admin",
                     "So that no admin can give powerful roles alone.", "Admins.",
                     "Until your account closes (the audit log keeps the record).",
                     _role_requests, _erase_role_requests),
    PersonalDataKind("user_sessions", "Where you are signed in",
                     "So that signing out really ends a session.", "No one.",
                     "Until you sign out, or at the latest a day after you signed in.",
                     _sessions, _erase_sessions),
    PersonalDataKind("staff_invitations", "Staff invitations", "To let staff join securely.",
                     "Admins.", "Until the invited person's account closes.", _invitations,
                     _erase_invitations),
]
