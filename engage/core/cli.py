"""`engage create-bucket` (added to the `engage` command group by core's init_app)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from engage.core.storage import S3Storage, storage


@click.command("create-bucket")
@with_appcontext
def create_bucket_command() -> None:
    """Make the S3 bucket (S3_BUCKET) if it does not exist yet (STORAGE_BACKEND=s3)."""
    found = storage()
    if not isinstance(found, S3Storage):
        raise click.ClickException("STORAGE_BACKEND is not s3: there is no bucket to make.")
    found.create_bucket()
    click.echo(f"Bucket {found.bucket} is ready.")
