"""People, roles, sign-in, two-factor, contact preferences, own-data download and closure."""

from __future__ import annotations

from flask import Flask

from engage.accounts import admin_views, personal_data, queues, services, tasks, views
from engage.core import wiring


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    queues.init_app(app)
    wiring.read_with_person(app, "accounts.account",
                            recovery_left=services.unused_recovery_codes_column)
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_job(app, "accounts_purge_sessions", tasks.purge_sessions, every=60 * 60)
