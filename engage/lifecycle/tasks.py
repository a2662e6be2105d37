"""The daily retention job.

The worker calls it every hour; it runs at most once per London day. The day is claimed with a
conditional UPDATE in the same transaction as the deletions, so a worker that restarts (or a
second worker) does not run it again that day, and a run that fails is rolled back, claim
included, and tried again an hour later.
"""

from __future__ import annotations

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from engage.core import clock
from engage.extensions import db
from engage.lifecycle.models import LifecycleRun
from engage.lifecycle.retention import apply_all

RETENTION_JOB = "retention"


def _claim_today(name: str) -> bool:
    today = clock.today_london()
    claimed = db.session.execute(
        update(LifecycleRun)
        .where(LifecycleRun.name == name,
               or_(LifecycleRun.last_run_on.is_(None), LifecycleRun.last_run_on < today))
        .values(last_run_on=today)
    )
    if claimed.rowcount == 1:
        return True
    if db.session.get(LifecycleRun, name) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(LifecycleRun(name=name, last_run_on=today))
        return True
    except IntegrityError:
        return False


def apply_retention_daily(worker_id: str) -> dict[str, int] | None:
    if not _claim_today(RETENTION_JOB):
        return None
    return apply_all()
