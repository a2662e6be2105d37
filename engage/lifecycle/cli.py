"""`engage backup PATH`, `restore PATH` and `apply-retention` (added to
the `engage` command group by the lifecycle domain's init_app)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from engage.extensions import db
from engage.lifecycle.backup import BackupError, backup, restore
from engage.lifecycle.retention import apply_all


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path: str) -> None:
    """Back up the database and every uploaded file, encrypted, to PATH."""
    try:
        written = backup(path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Encrypted backup written to {written}. Keep FIELD_ENCRYPTION_KEY safe "
               "separately: neither the backup nor the encrypted fields in it can be read "
               "without it.")


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path: str, yes: bool) -> None:
    """Replace the database and the uploaded files with the backup at PATH."""
    if not yes:
        click.confirm("This replaces everything in the configured database and file storage "
                      "with the backup. Continue?", abort=True)
    try:
        restored = restore(path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored the database and {restored['files']} files. Run `engage db upgrade` "
               "if the backup is from an older "
               "version.")


@click.command("apply-retention")
@with_appcontext
def apply_retention_command() -> None:
    """Apply the retention periods now (the worker does this once a day)."""
    counts = apply_all()
    db.session.commit()  # a command is its own unit of work
    for key, count in counts.items():
        click.echo(f"{key}: {count} removed")
