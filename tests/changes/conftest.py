"""See tests/feedback/conftest.py."""

from tests.feedback.conftest import _cheaper_code_hashing

__all__ = ["_cheaper_code_hashing"]
