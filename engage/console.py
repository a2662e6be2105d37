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


class EngageCommands(FlaskGroup):
    """Flask's commands, with the `engage` group's (those cli.register and the domains'
    init_app add) at the top level too: `engage worker` for `flask engage worker`."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        if found is not None:
            return found
        group = super().get_command(ctx, "engage")
        return group.get_command(ctx, name) if isinstance(group, click.Group) else None

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        group = super().get_command(ctx, "engage")
        if isinstance(group, click.Group):
            names.update(group.list_commands(ctx))
        return sorted(names)


def build_cli() -> click.Group:
    group = EngageCommands(create_app=_create_app, add_version_option=False, load_dotenv=False,
                           help=__doc__.split("\n\n")[0])
    group.add_command(serve_command)
    return group


def main() -> None:
    build_cli().main(prog_name="engage")


if __name__ == "__main__":
    main()
