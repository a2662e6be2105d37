"""One allowance of wrong feedback codes, wherever a code can be typed.

A code is about 90 bits, so guessing is hopeless, but every page that accepts a code still
counts wrong ones against the same allowance (FEEDBACK_CHECK_LIMIT, 10 per 10 minutes by
default): the public check page, its reply and withdraw buttons, and a member adding a code to
their "your impact" page. One shared scope means a second page never doubles the allowance.
Right codes never count. The counter is keyed by the daily-rotating client hash
(engage.core.ratelimit), never the address; going over it answers with the kind 429 page.
"""

from __future__ import annotations

from flask import current_app, g

from engage.extensions import limiter

SCOPE = "feedback-code"


def check_limit() -> str:
    return current_app.config["FEEDBACK_CHECK_LIMIT"]


def count_wrong_code() -> None:
    """Call when a typed code unlocked nothing: this request then counts against the
    allowance."""
    g.wrong_feedback_code = True


def _was_wrong(response) -> bool:
    return bool(g.get("wrong_feedback_code"))


def limit_wrong_codes():
    """Decorate a view that accepts a typed code (POST only)."""
    return limiter.shared_limit(check_limit, scope=SCOPE, methods=["POST"],
                                deduct_when=_was_wrong)
