"""Signals other domains listen to (payments creates draft claims from a finalised register).

`register_finalised.send(event, records=[AttendanceRecord, ...], actor=user)` is sent inside the
finalising transaction: a receiver adds its rows to the same session, and if anything fails the
whole finalisation rolls back. `attendance_corrected.send(event, record=..., correction=...,
actor=user)` follows a correction to a finalised register in the same way (a person added to a
finalised register as a walk-in comes as a correction from "did not attend").
`booking_cancelled.send(event, booking=..., actor=user, by_organiser=bool)` follows a booking that
ended because the person cancelled it or an organiser cancelled their place.
`event_cancelled.send(event, booked_user_ids=[...], cancellation_payable=bool, actor=user)` is
sent when an event is cancelled, naming everyone who had a confirmed place; the organiser
says whether the cancellation is payable (for example, cancelled on the day).
"""

from __future__ import annotations

from engage.core.wiring import Signal

register_finalised = Signal("events.register_finalised")
attendance_corrected = Signal("events.attendance_corrected")
booking_cancelled = Signal("events.booking_cancelled")
event_cancelled = Signal("events.event_cancelled")
