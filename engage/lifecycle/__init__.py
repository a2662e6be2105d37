"""The data lifecycle: the "data we hold" page, retention periods and their daily job, backups."""

from __future__ import annotations

from flask import Flask

from engage.core import wiring
from engage.lifecycle import cli, tasks, views


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    wiring.add_job(app, "apply_retention", tasks.apply_retention_daily, every=3600)
    wiring.add_command(app, cli.backup_command)
    wiring.add_command(app, cli.restore_command)
    wiring.add_command(app, cli.apply_retention_command)
