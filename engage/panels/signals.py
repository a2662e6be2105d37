"""Signals other domains listen to (equality snapshots a new member's answers).

`membership_started.send(panel, user=person)` is sent inside the accepting transaction when an
application is accepted: a receiver adds its rows to the same session, and if anything fails
nothing is kept.
"""

from __future__ import annotations

from engage.core.wiring import Signal

membership_started = Signal("panels.membership_started")
