"""The `engage` command (installed with the package): the Flask CLI for this app, with Engage's
own commands at the top level.

    engage db upgrade            apply migrations
    engage create-admin          the first admin account
    engage worker                the scheduler process (one leads, others stand by)
    engage serve                 gunicorn with engage/gunicorn_conf.py
    engage backup PATH / engage restore PATH / engage import-receipts / ...

The configuration comes from the environment (ENGAGE_CONFIG and the settings in
docs/operations.md); `flask --app engage.wsgi engage ...` runs the same commands.
"""

from __future__ import annotations

import os
import sys

import click
from flask.cli import FlaskGroup


def _create_app():
    from engage import create_app
    from engage.config import selected_config

    return create_app(selected_config())


@click.command("serve", context_settings={"ignore_unknown_options": True})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve_command(gunicorn_args: tuple[str, ...]) -> None:
    """Serve the site with gunicorn (settings: WEB_BIND, WEB_CONCURRENCY, WEB_THREADS,
    WEB_TIMEOUT; extra arguments go to gunicorn)."""
    args = [sys.executable, "-m", "gunicorn", "--config", "python:engage.gunicorn_conf",
            *gunicorn_args, "engage.wsgi:app"]
    os.execv(sys.executable, args)  # noqa: S606 - fixed program, arguments from the operator


def build_cli() -> click.Group:
    from engage import cli
    from engage.lifecycle import cli as _lifecycle_cli  # noqa: F401 - backup, restore, retention

    group = FlaskGroup(create_app=_create_app, add_version_option=False, load_dotenv=False,
                       help=__doc__.split("\n\n")[0])
    for name, command in cli.engage_cli.commands.items():
        group.add_command(command, name)
    group.add_command(serve_command)
    return group


def main() -> None:
    build_cli().main(prog_name="engage")


if __name__ == "__main__":
    main()
