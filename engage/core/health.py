"""Whether the parts Engage needs are answering (for /healthz and load balancers)."""

from __future__ import annotations

from sqlalchemy import text

from engage.extensions import db


def database_ready() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not ready"
        # Ends the failed transaction here, so the request's one commit still works.
        db.session.rollback()
        return False
    return True
