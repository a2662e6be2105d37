"""Equality snapshots of who took part, taken when it happens: a panel membership starts, a
signed-in person first sends named answers to a consultation, an event's register is
finalised. For anonymous answers, equality's sealed copy of the person's answers travels with
the answers (anonymous_snapshot) and is recorded when the worker adds them, shuffled apart
from them (on_anonymous_snapshots_added), so no snapshot is written in step with the person's
receipt. The equality domain's init_app connects these receivers to the lower domains'
signals, so panels, consultations and events do not need to know about equality monitoring.
Each receiver runs inside the sender's transaction: if that fails, no snapshot is kept.

A register is finalised only once (a conditional UPDATE in events), so each attendee is counted
once per event. A correction that marks someone as having taken part after all adds their
snapshot then, unless the record was counted before (it was finalised as taking part, or an
earlier correction already added one), so toggling a record back and forth never counts a
person twice. A correction the other way cannot take a snapshot back out: snapshots hold no
link to the person, on purpose, so the make-up keeps counting them.
"""

from __future__ import annotations

from sqlalchemy import select

from engage.equality.services import (
    record_snapshot,
    reshuffle_snapshots,
    snapshot_answers,
    take_equality_snapshot,
)
from engage.events.models import TOOK_PART, AttendanceCorrection
from engage.extensions import db


def on_membership_started(panel, user=None, **extra) -> None:
    take_equality_snapshot(user, "panel", panel.id)


def on_consultation_answered(consultation, user=None, **extra) -> None:
    take_equality_snapshot(user, "consultation", consultation.id)


def anonymous_snapshot(user) -> str:
    return snapshot_answers(user)


def on_anonymous_snapshots_added(consultation, snapshots=(), settled=False, **extra) -> None:
    for answers, month in snapshots:
        record_snapshot("consultation", consultation.id, answers, month=month)
    if settled:
        reshuffle_snapshots("consultation", consultation.id)


def on_register_finalised(event, records=(), actor=None, **extra) -> None:
    for record in records:
        if record.status in TOOK_PART:
            take_equality_snapshot(record.user, "event", event.id)


def _was_counted_before(record, correction) -> bool:
    """Whether this record already has a snapshot: it was finalised as taking part (the first
    correction's old status is the status at finalising) or an earlier correction marked it."""
    earlier = db.session.execute(
        select(AttendanceCorrection.old_status, AttendanceCorrection.new_status)
        .where(AttendanceCorrection.record_id == record.id,
               AttendanceCorrection.id != correction.id)
        .order_by(AttendanceCorrection.id)).all()
    statuses = [earlier[0].old_status if earlier else correction.old_status,
                *[row.new_status for row in earlier]]
    return any(status in TOOK_PART for status in statuses)


def on_attendance_corrected(event, record=None, correction=None, **extra) -> None:
    if record is None or correction is None or correction.new_status not in TOOK_PART:
        return
    if not _was_counted_before(record, correction):
        take_equality_snapshot(record.user, "event", event.id)
