"""A leader lock in the database, so only one worker runs jobs at a time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from engage.core import clock
from engage.core.models import WorkerLease
from engage.extensions import db


def acquire(name: str, holder: str, ttl_seconds: float) -> bool:
    """Take or renew the lease. True when `holder` holds it afterwards. Commits."""
    now = clock.now()
    expires = now + timedelta(seconds=ttl_seconds)
    result = db.session.execute(
        update(WorkerLease)
        .where(WorkerLease.name == name)
        .where(or_(WorkerLease.holder == holder, WorkerLease.expires_at < now))
        .values(holder=holder, expires_at=expires)
    )
    if result.rowcount == 1:
        db.session.commit()  # the lease is held once committed, before any job runs
        return True
    db.session.rollback()  # ends the failed update, so the read below starts afresh
    if db.session.get(WorkerLease, name) is not None:
        return False
    try:
        db.session.add(WorkerLease(name=name, holder=holder, expires_at=expires))
        db.session.commit()  # the lease is held once committed, before any job runs
        return True
    except IntegrityError:
        db.session.rollback()  # another worker took the lease first
        return False


def release(name: str, holder: str) -> None:
    db.session.execute(
        update(WorkerLease)
        .where(WorkerLease.name == name, WorkerLease.holder == holder)
        .values(expires_at=clock.now() - timedelta(seconds=1))
    )
    db.session.commit()  # released at once, so a standby can take over
