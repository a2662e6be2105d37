"""Anonymous and named feedback, feedback codes, triage and replies."""

from __future__ import annotations

from flask import Flask

from engage.core import page_cache, wiring
from engage.feedback import personal_data, views
from engage.feedback.models import FeedbackStatus


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    # The form is the same for everyone signed out; its form token is time-limited, so a copy
    # is kept for a minute only.
    page_cache.cache_public_page(app, "feedback.give", max_age=60)
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_template_names(app, FeedbackStatus)
