"""A Stripe-compatible server on 127.0.0.1 for the payments tests."""

from __future__ import annotations

import pytest

from tests.stripe_server import StripeServer

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def stripe_server(app):
    server = StripeServer(webhook_secret=WEBHOOK_SECRET).start()
    app.config.update(STRIPE_SECRET_KEY="sk_test_engage", STRIPE_API_BASE=server.api_base,
                      STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_TIMEOUT_SECONDS=2)
    try:
        yield server
    finally:
        server.stop()
