"""Building blocks every domain may use, and the site's own pages (home, health, safety)."""

from __future__ import annotations

from flask import Flask

from engage.core import personal_data, tasks, views, wiring


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_job(app, "send_outbox", tasks.send_outbox, every=0, after_others=True)
