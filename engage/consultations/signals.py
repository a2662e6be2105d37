"""Signals other domains listen to (equality snapshots who took part).

`took_part.send(consultation, user=person)` is sent inside the answering transaction the first
time a signed-in person sends their answers, named or anonymous. It carries nothing about the
answers.
"""

from __future__ import annotations

from engage.core.wiring import Signal

took_part = Signal("consultations.took_part")
