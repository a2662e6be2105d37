"""Whether the parts Engage needs are answering (for /healthz and load balancers)."""

from __future__ import annotations

from sqlalchemy import text

from engage.extensions import db


def database_ready() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not ready"
        db.session.rollback()  # ends the failed transaction: the request's commit still works
        return False
    return True
