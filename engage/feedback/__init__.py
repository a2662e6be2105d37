"""Anonymous and named feedback, feedback codes, triage and replies."""

from __future__ import annotations

from flask import Flask

from engage.accounts.queues import STAFF_QUEUES
from engage.core import page_cache, wiring
from engage.feedback import personal_data, queues, tasks, views
from engage.feedback.anonymous import form_token
from engage.feedback.models import FeedbackStatus


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    # The blank form is the same for everyone signed out, but its one-time token (which
    # decides the feedback code) is made afresh for every copy served.
    page_cache.cache_public_page(app, "feedback.give",
                                 fresh={"form_token": lambda: form_token(views.GIVE_FORM)})
    wiring.add_job(app, "feedback_mix_recent", tasks.mix_recent, every=60)
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_template_names(app, FeedbackStatus)
    wiring.add_hook(app, STAFF_QUEUES, queues.staff_queues)
