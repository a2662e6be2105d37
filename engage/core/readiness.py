"""What /readyz reports: each dependency checked now, and the worker's and outbox's state."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from engage.core import clock, health
from engage.core.models import OutboxMessage, OutboxStatus, WorkerLease
from engage.core.storage import StorageError, storage
from engage.extensions import db, limiter

WORKER_LEASE = "worker"


def _database() -> str:
    return "ok" if health.database_ready() else "unavailable"


def _rate_limits() -> str:
    if current_app.config["RATELIMIT_STORAGE_URI"].startswith("memory"):
        return "in-process memory (development only)"
    try:
        return "ok" if limiter.storage.check() else "unavailable"
    except Exception:  # a refused connection, a timeout: not ready either way
        return "unavailable"


def _storage() -> str:
    try:
        storage().check()
        return "ok"
    except StorageError:
        return "unavailable"


def _worker() -> dict:
    """Seconds since the leading worker last renewed its lease (None: no worker has run)."""
    lease = db.session.get(WorkerLease, WORKER_LEASE)
    if lease is None:
        return {"lease_age_seconds": None, "leading": False}
    renewed = lease.expires_at.timestamp() - current_app.config["WORKER_LEASE_SECONDS"]
    now = clock.now()
    return {"lease_age_seconds": round(now.timestamp() - renewed, 1),
            "leading": lease.expires_at > now}


def _outbox() -> dict:
    waiting = (OutboxStatus.PENDING, OutboxStatus.SENDING)
    count, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_(waiting))).one()
    age = None if oldest is None else round((clock.now() - oldest).total_seconds())
    return {"backlog": count, "oldest_seconds": age}


def report() -> tuple[dict, bool]:
    checks = {"database": _database(), "rate_limits": _rate_limits(), "storage": _storage()}
    ready = all(value == "ok" or value.startswith("in-process") for value in checks.values())
    body: dict = {"ready": ready, "checks": checks}
    if checks["database"] == "ok":
        try:
            body["worker"] = _worker()
            body["outbox"] = _outbox()
        except Exception:  # a table missing before migrations: say so, stay unready
            db.session.rollback()  # ends the failed transaction: the request can still finish
            body["ready"] = ready = False
            body["checks"]["database"] = "not migrated"
    return body, ready
