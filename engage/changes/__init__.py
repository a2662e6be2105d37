""""You said, we did": entries, their links to feedback and consultations, feeds, open data."""

from __future__ import annotations

from flask import Flask

from engage.changes import personal_data, public_cache, services, views
from engage.changes.models import EntryEventKind, Publication
from engage.consultations.services import RESPONSES_PAGE
from engage.core import wiring
from engage.feedback.services import LINKED_CHANGES


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    public_cache.register(app)
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_hook(app, LINKED_CHANGES, services.published_changes_for_feedback)
    wiring.add_hook(app, RESPONSES_PAGE, services.consultation_answer_links)
    wiring.add_template_names(app, Publication, EntryEventKind)
