"""Security headers on every response, errors included, session lifetime checks, and safe
redirect targets."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from flask import Flask, Response, request


def csp(*, form_action: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy. `form_action` adds origins a page's forms may lead to
    (the bank account page's form goes on to Stripe's onboarding pages)."""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        " ".join(["form-action 'self'", *form_action]),
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ])


CSP = csp()

# HTTP's methods for reading: static files answer only these, no rate limit applies to them
# (engage.extensions), and they read before they write, if at all (engage/db.py).
READ_METHODS = frozenset({"GET", "HEAD"})

# Pages that never hold personal data may be cached; everything else is no-store.
CACHEABLE_ENDPOINTS = {"static", "core.vendor_asset"}


def add_security_headers(app: Flask, response: Response) -> Response:
    """The headers below on `response`, replacing any a view set, except its own
    Content-Security-Policy (a page whose form leads elsewhere widens it: `csp`)."""
    headers = response.headers
    present = {key.lower() for key, _value in headers.items()}
    missing = []
    for key, lowered, value in _security_headers(
            bool(app.config.get("HSTS")), request.endpoint not in CACHEABLE_ENDPOINTS):
        if lowered not in present:
            missing.append((key, value))
        elif lowered != "content-security-policy":
            headers[key] = value
    headers.extend(missing)  # one pass, not a search of the list for each header
    return response


@cache
def _security_headers(hsts: bool, no_store: bool) -> tuple[tuple[str, str, str], ...]:
    found = [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if hsts:
        found.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
    if no_store:
        found += [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    return tuple((key, key.lower(), value) for key, value in found)


def safe_path(target: str | None, *, under: str = "/") -> str | None:
    """`target` when it is a path on this site that starts with `under` (a `next` or `back`
    address from a form or a link), else None: never another host, never a scheme, and never
    '//' or a backslash, which browsers can read as another host."""
    if not target or not target.startswith(under) or "//" in target or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
