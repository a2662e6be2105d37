"""Read-only figures across domains: the programme dashboard and each member's impact page."""

from __future__ import annotations

from flask import Flask

from engage.core import wiring
from engage.dashboard import filter_form, impact, impact_domains, metrics, snapshots, views
from engage.dashboard.impact import IMPACT_SECTIONS
from engage.dashboard.sections import DASHBOARD_SECTIONS


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    # Its filter's choices, kept figures and the person's work queues, read with the person.
    wiring.send_with_person(app, "dashboard.index", views.index_reads)
    filter_form.init_app(app)  # the filter form, kept per key
    wiring.add_job(app, "dashboard_figures", snapshots.precompute_dashboard, every=300)
    for section in (metrics.participation_section, metrics.voice_section,
                    metrics.closing_the_loop_section, metrics.payments_section,
                    metrics.equality_section):
        wiring.add_hook(app, DASHBOARD_SECTIONS, section)
    for section in (impact.panels_joined, impact.consultations_answered,
                    impact_domains.events_attended, impact_domains.feedback_given,
                    impact_domains.feedback_added_by_code, impact_domains.changes_linked,
                    impact_domains.payments_summary):
        wiring.add_hook(app, IMPACT_SECTIONS, section)
