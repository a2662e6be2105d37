"""Fixtures for tests that run the real worker process beside the test.

The worker subprocess and the test must see one database: a temporary SQLite file, or the
PostgreSQL database in TEST_DATABASE_URL when that is set. The subprocess is configured only
through its environment (ENGAGE_CONFIG=testing reads TEST_DATABASE_URL, MAIL_PORT and the
WORKER_* / OUTBOX_* knobs).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask

from engage.extensions import db as _db
from tests.conftest import POSTGRES_URL, _truncate_all, make_app
from tests.integration.processes import WorkerProcess
from tests.smtp import SmtpSink


@dataclass
class SharedDatabase:
    url: str
    app: Flask


@pytest.fixture
def shared_database(request, tmp_path) -> Iterator[SharedDatabase]:
    """An app in the test process bound to the database the worker subprocess will use, with
    its app context pushed (so tests queue and inspect rows directly)."""
    if POSTGRES_URL:
        request.getfixturevalue("_postgres_schema")  # schema built once, tables emptied here
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{tmp_path / 'engage.sqlite3'}"
    app = make_app(url)
    with app.app_context():
        if POSTGRES_URL:
            _truncate_all()
        else:
            _db.create_all()
        yield SharedDatabase(url, app)
        _db.session.remove()
        if POSTGRES_URL:
            _truncate_all()
        _db.engine.dispose()


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def start_worker(shared_database, smtp_server, tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start a real worker; keyword arguments become environment settings. Every worker started
    is killed when the test ends, whatever happened, and its log printed (pytest shows it when
    the test failed)."""
    started: list[WorkerProcess] = []
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)

    def start(**settings: object) -> WorkerProcess:
        env = {
            **os.environ,
            "ENGAGE_CONFIG": "testing",
            "ENGAGE_INSTANCE_PATH": str(instance),
            "TEST_DATABASE_URL": shared_database.url,
            "MAIL_PORT": str(smtp_server.port),
            "WORKER_POLL_SECONDS": "0.2",
            "WORKER_LEASE_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        env.update({name: str(value) for name, value in settings.items()})
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started) + 1}.log")
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.close()
            print(f"--- worker pid {worker.pid} log ---\n{worker.output()}")
