"""Consultations, questions, named and anonymous responses, results."""

from __future__ import annotations

from flask import Flask

from engage.consultations import personal_data, services, tasks, views
from engage.consultations.models import (
    ConsultationState,
    QuestionKind,
    QuoteConsent,
    ResponseStatus,
)
from engage.core import wiring
from engage.panels.services import PANEL_PAGE_SECTIONS


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    wiring.send_with_person(app, "consultations.detail", views.detail_reads)
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_job(app, "consultations_close_due", tasks.close_due, every=60)
    wiring.add_job(app, "consultations_anonymous_answers", tasks.add_anonymous_answers, every=60)
    wiring.add_job(app, "consultations_notices", tasks.send_notices, every=300)
    wiring.add_hook(app, PANEL_PAGE_SECTIONS, services.panel_section)
    wiring.add_template_names(app, ConsultationState, ResponseStatus, QuestionKind, QuoteConsent)
