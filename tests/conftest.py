"""Shared fixtures: a fresh database per test, the Flask test client, factories, SMTP."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text

from engage import create_app
from engage.extensions import db as _db
from tests.html_checks import assert_no_duplicate_ids
from tests.smtp import SmtpSink

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")


def pytest_report_header(config):
    return f"database: {'PostgreSQL (TEST_DATABASE_URL)' if POSTGRES_URL else 'SQLite'}"


class IsolatedClient(FlaskClient):
    """Every HTML page it gets is checked for repeated ids (tests/html_checks.py).

    The test keeps an app context open (for its database work). Flask reuses an open app
    context for requests, so `g` (Flask-Login's user, Flask-WTF's CSRF token) would leak from
    one request to the next; a browser's requests never share it, so clear it each time."""

    def open(self, *args, **kwargs):
        if has_app_context():
            g.__dict__.clear()
        response = super().open(*args, **kwargs)
        if response.mimetype == "text/html":
            assert_no_duplicate_ids(response.get_data(as_text=True),
                                    f"{response.request.method} {response.request.path}")
        return response


def make_app(database_url: str = "sqlite://", **overrides):
    application = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, **overrides)
    application.test_client_class = IsolatedClient
    return application


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables)
    _db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    _db.session.commit()


@pytest.fixture(scope="session")
def _postgres_schema():
    """On PostgreSQL the schema is built once; each test then starts from empty tables."""
    if not POSTGRES_URL:
        yield
        return
    app = make_app(POSTGRES_URL)
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield
    with app.app_context():
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def app(_postgres_schema) -> Iterator:
    if POSTGRES_URL:
        application = make_app(POSTGRES_URL)
        with application.app_context():
            _truncate_all()
            yield application
            _db.session.remove()
            _truncate_all()
            _db.engine.dispose()
        return
    application = make_app("sqlite://")
    with application.app_context():
        _db.create_all()
        yield application
        _db.session.remove()
        _db.drop_all()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def smtp(app) -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1; the app is pointed at it."""
    sink = SmtpSink()
    sink.start()
    app.config["MAIL_PORT"] = sink.port
    app.config["MAIL_SERVER"] = "127.0.0.1"
    try:
        yield sink
    finally:
        sink.stop()


CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class FormClient:
    """Submits forms the way a browser does: GET the page, take its CSRF token, POST."""

    def __init__(self, client) -> None:
        self.client = client

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict | None = None, *, form_url: str | None = None,
             follow_redirects: bool = False, **kwargs):
        page = self.client.get(form_url or url)
        payload = dict(data or {})
        payload["csrf_token"] = csrf_from(page.get_data(as_text=True))
        return self.client.post(url, data=payload, follow_redirects=follow_redirects, **kwargs)


@pytest.fixture
def browser_like(client) -> FormClient:
    return FormClient(client)
