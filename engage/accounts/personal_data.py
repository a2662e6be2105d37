"""The account domain's personal data: what is exported and what closure does."""

from __future__ import annotations

from datetime import datetime
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
from engage.core.models import AuditEvent, Notification, OutboxMessage
from engage.core.personal_data import PersonalDataKind, register
from engage.extensions import db


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _user(user: User) -> list[dict[str, Any]]:
    return [{
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "created_at": _iso(user.created_at),
        "last_sign_in_at": _iso(user.last_sign_in_at),
        "email_is_safe": user.email_is_safe,
        "discreet_mode": user.discreet_mode,
        "two_factor_enabled": user.has_two_factor,
    }]


def _roles(user: User) -> list[dict[str, Any]]:
    return [{"role": r.role, "granted_at": _iso(r.granted_at)} for r in user.roles]


def _recovery_codes(user: User) -> list[dict[str, Any]]:
    # The codes themselves are stored only as hashes and cannot be exported.
    return [{"created_at": _iso(c.created_at), "used_at": _iso(c.used_at)}
            for c in user.recovery_codes]


def _sessions(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id))
    return [{"signed_in_at": _iso(r.started_at)} for r in rows]


def _erase_sessions(user: User) -> None:
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def _role_requests(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(RoleGrantRequest).where(
        (RoleGrantRequest.user_id == user.id) | (RoleGrantRequest.requested_by_id == user.id)
        | (RoleGrantRequest.decided_by_id == user.id)))
    return [{"role": r.role, "for_you": r.user_id == user.id,
             "asked_by_you": r.requested_by_id == user.id,
             "decided_by_you": r.decided_by_id == user.id, "outcome": r.outcome,
             "requested_at": _iso(r.requested_at), "decided_at": _iso(r.decided_at)}
            for r in rows]


def _erase_role_requests(user: User) -> None:
    db.session.execute(delete(RoleGrantRequest).where(RoleGrantRequest.user_id == user.id))
    db.session.execute(update(RoleGrantRequest).where(
        RoleGrantRequest.requested_by_id == user.id).values(requested_by_id=None))
    db.session.execute(update(RoleGrantRequest).where(
        RoleGrantRequest.decided_by_id == user.id).values(decided_by_id=None))


def _notifications(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Notification).where(Notification.user_id == user.id))
    return [{"title": n.title, "body": n.body, "link": n.link, "created_at": _iso(n.created_at),
             "read_at": _iso(n.read_at)} for n in rows]


def _outbox(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id))
    return [{"subject": m.subject, "status": m.status, "created_at": _iso(m.created_at),
             "sent_at": _iso(m.sent_at)} for m in rows]


def _invitations(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(StaffInvitation).where(StaffInvitation.accepted_user_id == user.id)
    )
    return [{"role": i.role, "display_name": i.display_name, "email": i.email,
             "accepted_at": _iso(i.accepted_at)} for i in rows]


def _audit(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(AuditEvent).where(
            (AuditEvent.actor_id == user.id)
            | ((AuditEvent.subject_type == "user") & (AuditEvent.subject_id == user.id))
        ).order_by(AuditEvent.id)
    )
    return [{"action": a.action, "occurred_at": _iso(a.occurred_at)} for a in rows]


def _erase_user(user: User) -> None:
    db.session.delete(user)


def _erase_outbox(user: User) -> None:
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user.id))


def _erase_notifications(user: User) -> None:
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))


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


def _keep_audit(user: User) -> None:
    """The audit log is append-only and holds only ids and actions, no personal details; once
    the account row is gone its id points at no one."""


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
    PersonalDataKind("notifications", "Messages to you", "To tell you what happened.",
                     "You.", "Until you close your account.", _notifications,
                     _erase_notifications),
    PersonalDataKind("outbox_messages", "Emails we send you", "To reach you on a channel you "
                     "chose as safe.", "You; the email system while sending.",
                     "Until you close your account.", _outbox, _erase_outbox),
    PersonalDataKind("staff_invitations", "Staff invitations", "To let staff join securely.",
                     "Admins.", "Until the invited person's account closes.", _invitations,
                     _erase_invitations),
    PersonalDataKind("audit_events", "Security record", "To keep accounts and decisions safe "
                     "and accountable.", "Admins.", "Kept as a record of actions (no personal "
                     "details, only account numbers).", _audit, _keep_audit,
                     on_close="Kept, with only an account number that no longer leads to "
                     "anyone."),
]

for _kind in KINDS:
    register(_kind)
