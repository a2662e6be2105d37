"""Panels, programmes, membership, consent and how members are credited."""

from __future__ import annotations

from flask import Flask

from engage.core import wiring
from engage.panels import personal_data, programme_views, views
from engage.panels.models import MembershipState


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(programme_views.bp)
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_template_names(app, MembershipState)
