"""The database behaves the same on SQLite (the default) as on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engage.core import audit
from engage.core.models import AuditEvent, Notification
from tests.factories import make_member


def test_foreign_keys_are_enforced(db):
    db.session.add(Notification(user_id=987654, title="to nobody"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_deleting_a_person_cascades_to_their_rows(db):
    member = make_member()
    db.session.add(Notification(user_id=member.id, title="hello"))
    db.session.commit()
    db.session.delete(member)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_savepoint_released_first_thing_does_not_commit_the_transaction(db):
    db.session.commit()
    with db.session.begin_nested():
        audit.record("test.inside_savepoint")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
