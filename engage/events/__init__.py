"""Events, bookings, waiting lists, reminders, iCalendar and attendance registers."""

from __future__ import annotations

from flask import Flask

from engage.core import wiring
from engage.events import personal_data, services, tasks, views
from engage.events.models import AttendanceStatus, BookingStatus, EndedReason, EventMode
from engage.panels.services import PANEL_PAGE_SECTIONS


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    wiring.send_with_person(app, "events.index", views.index_reads)
    wiring.read_with_person(app, "events.index", **{
        services.MEMBER_FILTER_CHOICES: services.member_filter_choices_column})
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_job(app, "event_reminders", tasks.send_due_reminders, every=0)
    wiring.add_job(app, "event_waiting_list", tasks.offer_waiting_places, every=0)
    wiring.add_hook(app, PANEL_PAGE_SECTIONS, services.panel_section)
    wiring.add_template_names(app, BookingStatus, EventMode, EndedReason, AttendanceStatus)
