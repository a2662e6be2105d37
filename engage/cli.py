"""`flask --app engage.wsgi engage ...` commands."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from engage.accounts.services import create_admin
from engage.core.wiring import registries
from engage.demo import current_code, seed_demo
from engage.errors import DomainError
from engage.extensions import db
from engage.worker import run_worker


def register(app: Flask) -> None:
    """The `engage` command group: these commands, then those the domains added in their
    init_app (wiring.add_command)."""
    group = AppGroup("engage", help="Engage project commands.")
    for command in (create_admin_command, seed_demo_command, demo_code_command, worker_command,
                    *registries(app).commands.values()):
        group.add_command(command)
    app.cli.add_command(group)


@click.command("create-admin")
@with_appcontext
@click.option("--username", prompt=True)
@click.option("--display-name", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email", default="", help="Optional email address.")
def create_admin_command(username: str, display_name: str, password: str, email: str) -> None:
    """Create an admin account (they set up two-factor at first sign-in)."""
    try:
        create_admin(username=username, display_name=display_name, password=password,
                     email=email or None)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()  # a command is its own unit of work
    click.echo(f"Admin '{username}' created. They will set up two-factor when they first sign in.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load demo accounts and data. Safe to run more than once."""
    _require_demo()
    for line in seed_demo():
        click.echo(line)


@click.command("demo-code")
@click.argument("username")
@with_appcontext
def demo_code_command(username: str) -> None:
    """Print the current two-factor code for a demo account (development only)."""
    _require_demo()
    code = current_code(username)
    if code is None:
        raise click.ClickException(f"No two-factor demo account called '{username}'.")
    click.echo(code)


@click.command("worker")
@click.option("--once", is_flag=True, help="Run every due job once, then stop.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Start the scheduler process (email outbox and other polling jobs)."""
    run_worker(current_app._get_current_object(), once=once)


def _require_demo() -> None:
    if not current_app.config.get("DEMO_COMMANDS_ENABLED"):
        raise click.ClickException("Demo commands are for development only.")
