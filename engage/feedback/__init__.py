"""Anonymous and named feedback, feedback codes, triage and replies."""

from __future__ import annotations

from flask import Flask

from engage.core import wiring
from engage.feedback import personal_data, tasks, views
from engage.feedback.models import FeedbackStatus


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    wiring.add_job(app, "feedback_mix_recent", tasks.mix_recent, every=60)
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_template_names(app, FeedbackStatus)
