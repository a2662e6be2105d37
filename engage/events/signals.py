"""Signals other domains listen to (payments creates draft claims from a finalised register).

`register_finalised.send(event, records=[AttendanceRecord, ...], actor=user)` is sent inside the
finalising transaction: a receiver adds its rows to the same session, and if anything fails the
whole finalisation rolls back. `attendance_corrected.send(event, record=..., correction=...,
actor=user)` follows a correction to a finalised register in the same way (a person added to a
finalised register as a walk-in comes as a correction from "did not attend").
`booking_cancelled.send(event, booking=..., actor=user, by_organiser=bool)` follows a booking that
ended because the person cancelled it or an organiser cancelled their place.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

register_finalised = _signals.signal("register-finalised")
attendance_corrected = _signals.signal("attendance-corrected")
booking_cancelled = _signals.signal("booking-cancelled")
