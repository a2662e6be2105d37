"""Accounts polling job: forget server-side sessions that can no longer be used."""

from __future__ import annotations

from engage.accounts.services import purge_old_sessions


def purge_sessions(worker_id: str) -> int:
    return purge_old_sessions()

