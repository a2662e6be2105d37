"""`flask --app engage.wsgi engage ...` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

engage_cli = AppGroup("engage", help="Engage project commands.")


def register(app: Flask) -> None:
    from engage.lifecycle import cli as _lifecycle_cli  # noqa: F401 - backup, restore, retention

    app.cli.add_command(engage_cli)


@engage_cli.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--display-name", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email", default="", help="Optional email address.")
def create_admin_command(username: str, display_name: str, password: str, email: str) -> None:
    """Create an admin account (they set up two-factor at first sign-in)."""
    from engage.accounts.services import create_admin
    from engage.errors import DomainError
    from engage.extensions import db

    try:
        create_admin(username=username, display_name=display_name, password=password,
                     email=email or None)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Admin '{username}' created. They will set up two-factor when they first sign in.")


@engage_cli.command("seed-demo")
def seed_demo_command() -> None:
    """Load demo accounts and data. Safe to run more than once."""
    from engage.demo import seed_demo

    _require_demo()
    for line in seed_demo():
        click.echo(line)


@engage_cli.command("demo-code")
@click.argument("username")
def demo_code_command(username: str) -> None:
    """Print the current two-factor code for a demo account (development only)."""
    from engage.demo import current_code

    _require_demo()
    code = current_code(username)
    if code is None:
        raise click.ClickException(f"No two-factor demo account called '{username}'.")
    click.echo(code)


@engage_cli.command("worker")
@click.option("--once", is_flag=True, help="Run every due job once, then stop.")
def worker_command(once: bool) -> None:
    """Start the scheduler process (email outbox and other polling jobs)."""
    from engage.worker import run_worker

    run_worker(current_app._get_current_object(), once=once)


@engage_cli.command("import-receipts")
@click.option("--from", "folder", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Where earlier versions kept receipts "
              "(default: instance/receipts).")
def import_receipts_command(folder: Path | None) -> None:
    """Encrypt receipts kept as plain files by earlier versions into the upload storage."""
    from engage.payments.receipts import import_plain_files

    folder = folder or Path(current_app.instance_path) / "receipts"
    imported, skipped = import_plain_files(folder)
    click.echo(f"{imported} receipts encrypted into {storage_name()} storage; {skipped} were "
               f"already there. The plain files in {folder} have been removed.")


@engage_cli.command("create-bucket")
def create_bucket_command() -> None:
    """Make the S3 bucket (S3_BUCKET) if it does not exist yet (STORAGE_BACKEND=s3)."""
    from engage.core.storage import S3Storage, storage

    found = storage()
    if not isinstance(found, S3Storage):
        raise click.ClickException("STORAGE_BACKEND is not s3: there is no bucket to make.")
    found.create_bucket()
    click.echo(f"Bucket {found.bucket} is ready.")


def storage_name() -> str:
    from engage.core.storage import storage

    return storage().name


def _require_demo() -> None:
    if not current_app.config.get("DEMO_COMMANDS_ENABLED"):
        raise click.ClickException("Demo commands are for development only.")
