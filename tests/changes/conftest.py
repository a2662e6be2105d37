"""See tests/feedback/conftest.py."""

from tests.feedback.conftest import client

__all__ = ["client"]
