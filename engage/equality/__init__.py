"""Optional equality monitoring, snapshotted when people take part, reported in aggregate."""

from __future__ import annotations

from flask import Flask

from engage.consultations.services import ANONYMOUS_SNAPSHOT
from engage.consultations.signals import anonymous_snapshots_added, took_part
from engage.core import wiring
from engage.equality import personal_data, receivers, tasks, views
from engage.events.signals import attendance_corrected, register_finalised
from engage.panels.signals import membership_started


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_job(app, "equality_tallies", tasks.tally_snapshots, every=600)
    wiring.connect(app, membership_started, receivers.on_membership_started)
    wiring.connect(app, took_part, receivers.on_consultation_answered)
    wiring.add_hook(app, ANONYMOUS_SNAPSHOT, receivers.anonymous_snapshot)
    wiring.connect(app, anonymous_snapshots_added, receivers.on_anonymous_snapshots_added)
    wiring.connect(app, register_finalised, receivers.on_register_finalised)
    wiring.connect(app, attendance_corrected, receivers.on_attendance_corrected)
