"""Equality polling job: add new snapshots to the monthly tallies so the dashboard stays fast."""

from __future__ import annotations

from engage.equality.services import build_tallies
from engage.extensions import db


def tally_snapshots(worker_id: str) -> int:
    total = 0
    while added := build_tallies():
        total += added
        db.session.commit()  # one batch at a time: short transactions on a big backlog
    return total
