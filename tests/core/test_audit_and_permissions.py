"""The audit log is append-only; the permission table decides what each role may do."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from engage.core import audit
from engage.core.models import AuditEvent
from engage.core.permissions import ROLE_PERMISSIONS, Permission, Role, can
from tests.factories import make_member, make_staff


def test_audit_rows_cannot_be_changed_or_deleted(db):
    audit.record("test.happened", actor_id=1)
    db.session.commit()
    with pytest.raises(DatabaseError):
        db.session.execute(update(AuditEvent).values(action="rewritten"))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(DatabaseError):
        db.session.execute(delete(AuditEvent))
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent.action)) == "test.happened"


def test_audit_guard_is_in_the_database_not_just_the_orm(db):
    audit.record("test.raw", actor_id=1)
    db.session.commit()
    with pytest.raises(DatabaseError):
        db.session.execute(text("UPDATE audit_events SET action = 'x'"))
    db.session.rollback()


def test_every_role_has_an_entry_and_members_are_least_privileged():
    assert set(ROLE_PERMISSIONS) == set(Role)
    member = ROLE_PERMISSIONS[Role.MEMBER]
    assert Permission.VIEW_STAFF_AREA not in member
    assert all(member - ROLE_PERMISSIONS[r] <= {Permission.CLOSE_OWN_ACCOUNT} for r in Role)


def test_finance_cannot_approve_as_lead_and_leads_cannot_pay():
    assert Permission.APPROVE_CLAIMS_AS_FINANCE in ROLE_PERMISSIONS[Role.FINANCE]
    assert Permission.APPROVE_CLAIMS_AS_LEAD not in ROLE_PERMISSIONS[Role.FINANCE]
    assert Permission.APPROVE_CLAIMS_AS_FINANCE not in ROLE_PERMISSIONS[Role.PROGRAMME_LEAD]


def test_can_requires_finished_two_factor_for_staff(db):
    admin = make_staff(Role.ADMIN, two_factor=False)
    assert not can(admin, Permission.MANAGE_STAFF)
    ready = make_staff(Role.ADMIN)
    assert can(ready, Permission.MANAGE_STAFF)
    assert not can(make_member(), Permission.MANAGE_STAFF)
    assert not can(None, Permission.USE_ACCOUNT)
