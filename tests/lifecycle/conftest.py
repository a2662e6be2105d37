"""Fixtures for panel tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def request_ctx(app):
    """Services build links with url_for, as they do inside a request."""
    with app.test_request_context("/"):
        yield
