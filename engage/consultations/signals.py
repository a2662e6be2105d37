"""Signals other domains listen to (equality snapshots who took part).

`took_part.send(consultation, user=person)` is sent inside the answering transaction the first
time a signed-in person sends named answers. It carries nothing about the answers.

Anonymous answers wait sealed until the worker adds them in a batch; equality's sealed copy of
the person's answers waits with them (services.ANONYMOUS_SNAPSHOT), and
`anonymous_snapshots_added.send(consultation, snapshots=[(sealed answers, "YYYY-MM")],
settled=...)` hands them over, shuffled apart from the answers, when the batch is added;
`settled=True` (with no snapshots) when the consultation's whole anonymous set has been written
again in a new order.
"""

from __future__ import annotations

from engage.core.wiring import Signal

took_part = Signal("consultations.took_part")
anonymous_snapshots_added = Signal("consultations.anonymous_snapshots_added")
