"""Uploaded files (receipts, and any later upload) behind one interface, two backends.

- `local` (STORAGE_BACKEND=local, the default): files in UPLOADS_DIR (instance/uploads), mode
  0600 in folders of mode 0700. For one machine.
- `s3` (STORAGE_BACKEND=s3): an S3-compatible bucket (MinIO, AWS S3, Ceph, ...) through boto3,
  so every web node and worker reads the same files and none keeps them on its own disk.
  Settings: S3_BUCKET, S3_ENDPOINT_URL (empty for AWS), S3_REGION, S3_ACCESS_KEY_ID and
  S3_SECRET_ACCESS_KEY (empty: boto3's usual credential chain).

Keys look like `receipts/<48 hex characters>`. What goes in is stored as given: callers encrypt
personal files first (engage/payments/receipts.py), so neither a folder nor a bucket holds a
readable receipt.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app

KEY = re.compile(r"^[a-z0-9_-]+(/[a-z0-9_-]+)+$")


class StorageError(RuntimeError):
    """A file could not be stored or read; the message says what to check."""


class FileMissing(StorageError):
    pass


def check_key(key: str) -> str:
    if not KEY.match(key):
        raise StorageError(f"Not a storage key: {key!r}")
    return key


class Storage(Protocol):
    name: str

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def list_keys(self, prefix: str = "") -> Iterator[str]: ...
    def check(self) -> None:
        """Raise StorageError unless files can be stored and read now (for /readyz)."""


class LocalStorage:
    name = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(partial, target)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as error:
            raise FileMissing(f"No stored file {key}") from error

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix) and KEY.match(key):
                    yield key

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise StorageError(f"UPLOADS_DIR {self.root} cannot be created: {error}") from error
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"UPLOADS_DIR {self.root} is not writable")


class S3Storage:
    name = "s3"

    def __init__(self, bucket: str, client) -> None:
        self.bucket = bucket
        self.client = client

    @classmethod
    def from_config(cls, config) -> S3Storage:
        try:
            import boto3
            from botocore.config import Config as BotoConfig
        except ImportError as error:
            raise StorageError("STORAGE_BACKEND is s3 but boto3 is missing: install "
                               "engage[s3]") from error
        if not config["S3_BUCKET"]:
            raise StorageError("STORAGE_BACKEND is s3 but S3_BUCKET is not set")
        client = boto3.client(
            "s3",
            endpoint_url=config["S3_ENDPOINT_URL"] or None,
            region_name=config["S3_REGION"] or None,
            aws_access_key_id=config["S3_ACCESS_KEY_ID"] or None,
            aws_secret_access_key=config["S3_SECRET_ACCESS_KEY"] or None,
            config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"},
                              connect_timeout=5, read_timeout=30,
                              s3={"addressing_style": "path"}),
        )
        return cls(config["S3_BUCKET"], client)

    def _errors(self):
        from botocore.exceptions import BotoCoreError, ClientError

        return (BotoCoreError, ClientError)

    def put(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data,
                                   ContentType="application/octet-stream")
        except self._errors() as error:
            raise StorageError(f"Could not store {key} in bucket {self.bucket}: {error}") \
                from error

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            found = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
            return found["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise FileMissing(f"No stored file {key}") from error
            raise StorageError(f"Could not read {key} from bucket {self.bucket}: {error}") \
                from error
        except self._errors() as error:
            raise StorageError(f"Could not read {key} from bucket {self.bucket}: {error}") \
                from error

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return False
            raise StorageError(f"Could not look for {key}: {error}") from error

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))
        except self._errors() as error:
            raise StorageError(f"Could not delete {key}: {error}") from error

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._errors() as error:
            raise StorageError(f"Bucket {self.bucket} cannot be reached: {error}") from error

    def create_bucket(self) -> None:
        """For set-up scripts and tests: make the bucket if it is not there."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)


def build(config) -> Storage:
    backend = config["STORAGE_BACKEND"]
    if backend == "local":
        return LocalStorage(config["UPLOADS_DIR"])
    if backend == "s3":
        return S3Storage.from_config(config)
    raise StorageError(f"STORAGE_BACKEND must be local or s3, not {backend!r}")


def storage() -> Storage:
    """The app's storage; built on first use, after tests have had a chance to change the
    settings."""
    app = current_app
    settings = (app.config["STORAGE_BACKEND"], app.config["UPLOADS_DIR"], app.config["S3_BUCKET"],
                app.config["S3_ENDPOINT_URL"])
    cached = app.extensions.get("engage_storage")
    if cached is None or cached[0] != settings:
        cached = (settings, build(app.config))
        app.extensions["engage_storage"] = cached
    return cached[1]


def init_app(app: Flask) -> None:
    app.extensions["engage_storage"] = None
