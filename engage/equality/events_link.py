"""Equality snapshots for events: one per person who took part, when the register is finalised.

Connected to `engage.events.signals.register_finalised` at start-up (from `_init_extensions`),
so the events code does not need to know about equality monitoring. The receiver runs inside
the finalising transaction: if finalising fails, no snapshot is kept. A register is finalised
only once (a conditional UPDATE in events), so each attendee is counted once per event.
Later corrections to a finalised register do not add or remove snapshots.
"""

from __future__ import annotations

from engage.events import signals

TOOK_PART = {"attended", "attended_part"}
_connected = False


def on_register_finalised(event, records=(), actor=None, **extra) -> None:
    from engage.equality.services import take_equality_snapshot

    for record in records:
        if record.status in TOOK_PART:
            take_equality_snapshot(record.user, "event", event.id)


def connect_to_events() -> None:
    global _connected
    if not _connected:
        signals.register_finalised.connect(on_register_finalised, weak=False)
        _connected = True
