"""The one table that says what each role may do.

Views ask `can(user, Permission.X)`; templates receive the answers. Object-level checks
(is this *your* booking?) live in each domain's services on top of this table.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from functools import cache


class Role(enum.StrEnum):
    MEMBER = "member"
    FACILITATOR = "facilitator"
    PROGRAMME_LEAD = "programme_lead"
    FINANCE = "finance"
    SAFEGUARDING_LEAD = "safeguarding_lead"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.MEMBER: "Member",
    Role.FACILITATOR: "Facilitator",
    Role.PROGRAMME_LEAD: "Programme lead",
    Role.FINANCE: "Finance officer",
    Role.SAFEGUARDING_LEAD: "Safeguarding lead",
    Role.ADMIN: "Admin",
}

STAFF_ROLES = frozenset(set(Role) - {Role.MEMBER})


class Permission(enum.StrEnum):
    USE_ACCOUNT = "use_account"
    EXPORT_OWN_DATA = "export_own_data"
    CLOSE_OWN_ACCOUNT = "close_own_account"
    VIEW_STAFF_AREA = "view_staff_area"
    MANAGE_STAFF = "manage_staff"
    VIEW_AUDIT_LOG = "view_audit_log"
    MANAGE_PANELS = "manage_panels"
    MANAGE_PROGRAMMES = "manage_programmes"
    MANAGE_CONSULTATIONS = "manage_consultations"
    MANAGE_EVENTS = "manage_events"
    TRIAGE_FEEDBACK = "triage_feedback"
    VIEW_SAFEGUARDING = "view_safeguarding"
    WRITE_CHANGES = "write_changes"
    APPROVE_CHANGES = "approve_changes"
    APPROVE_CLAIMS_AS_LEAD = "approve_claims_as_lead"
    APPROVE_CLAIMS_AS_FINANCE = "approve_claims_as_finance"
    MANAGE_PAYMENT_POLICY = "manage_payment_policy"
    VIEW_DASHBOARD = "view_dashboard"
    MANAGE_SETTINGS = "manage_settings"


_EVERYONE_SIGNED_IN = {Permission.USE_ACCOUNT, Permission.EXPORT_OWN_DATA}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.MEMBER: frozenset(_EVERYONE_SIGNED_IN | {Permission.CLOSE_OWN_ACCOUNT}),
    Role.FACILITATOR: frozenset(
        _EVERYONE_SIGNED_IN
        | {
            Permission.VIEW_STAFF_AREA,
            Permission.MANAGE_PANELS,
            Permission.MANAGE_CONSULTATIONS,
            Permission.MANAGE_EVENTS,
            Permission.TRIAGE_FEEDBACK,
            Permission.APPROVE_CLAIMS_AS_LEAD,
        }
    ),
    Role.PROGRAMME_LEAD: frozenset(
        _EVERYONE_SIGNED_IN
        | {
            Permission.VIEW_STAFF_AREA,
            Permission.MANAGE_PANELS,
            Permission.MANAGE_CONSULTATIONS,
            Permission.MANAGE_EVENTS,
            Permission.TRIAGE_FEEDBACK,
            Permission.WRITE_CHANGES,
            Permission.APPROVE_CHANGES,
            Permission.APPROVE_CLAIMS_AS_LEAD,
            Permission.VIEW_DASHBOARD,
            Permission.MANAGE_PROGRAMMES,
        }
    ),
    Role.FINANCE: frozenset(
        _EVERYONE_SIGNED_IN | {Permission.VIEW_STAFF_AREA, Permission.APPROVE_CLAIMS_AS_FINANCE}
    ),
    Role.SAFEGUARDING_LEAD: frozenset(
        _EVERYONE_SIGNED_IN | {Permission.VIEW_STAFF_AREA, Permission.VIEW_SAFEGUARDING}
    ),
    Role.ADMIN: frozenset(
        _EVERYONE_SIGNED_IN
        | {
            Permission.VIEW_STAFF_AREA,
            Permission.MANAGE_STAFF,
            Permission.VIEW_AUDIT_LOG,
            Permission.APPROVE_CHANGES,
            Permission.MANAGE_PAYMENT_POLICY,
            Permission.VIEW_DASHBOARD,
            Permission.MANAGE_SETTINGS,
            Permission.MANAGE_PROGRAMMES,
        }
    ),
}


def permissions_for(roles: Iterable[Role]) -> frozenset[Permission]:
    return _permissions_of(frozenset(roles))


@cache
def _permissions_of(roles: frozenset[Role]) -> frozenset[Permission]:
    """Worked out once per set of roles (a page asks many times)."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def can(user, permission: Permission) -> bool:
    """True when a signed-in, fully set-up user holds a role granting the permission."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.needs_two_factor_setup:
        return False
    return permission in permissions_for(user.role_set)
