"""`engage import-receipts` (added to the `engage` command group by the payments domain's
init_app)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engage.core.storage import storage
from engage.payments.receipts import import_plain_files


@click.command("import-receipts")
@with_appcontext
@click.option("--from", "folder", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Where earlier versions kept receipts "
              "(default: instance/receipts).")
def import_receipts_command(folder: Path | None) -> None:
    """Encrypt receipts kept as plain files by earlier versions into the upload storage."""
    folder = folder or Path(current_app.instance_path) / "receipts"
    imported, skipped = import_plain_files(folder)
    click.echo(f"{imported} receipts encrypted into {storage().name} storage; {skipped} were "
               f"already there. The plain files in {folder} have been removed.")
