"""Fixtures for the feedback and 'you said, we did' tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _cheaper_code_hashing(app):
    """Codes are hashed with scrypt at n=2**14 (tens of milliseconds) in real use; tests that
    are not about the hashing use a cheaper cost so the suite stays quick."""
    app.config["FEEDBACK_CODE_SCRYPT_N"] = 2**10
