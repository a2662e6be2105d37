"""Fixtures for panel tests."""

from __future__ import annotations

import pytest

from tests.services import s3_server  # noqa: F401 - a fixture for the restore drill


@pytest.fixture
def request_ctx(app):
    """Services build links with url_for, as they do inside a request."""
    with app.test_request_context("/"):
        yield
