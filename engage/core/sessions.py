"""The session cookie and the form token, each checked or signed once per value.

A signed-in page used to spend about a fifth of its time on two pieces of cryptography that give
the same answer every time for the same input:

- Flask checks the session cookie's signature and decodes it on every request, although a
  browser sends the same cookie for minutes at a time (it changes only when the session does:
  signing in, a message to show, `seen_at` once a minute).
- Flask-WTF signs the session's form token afresh for every page that shows a form (the
  sign-out button is one on every signed-in page), although the signed token of a given session
  token never needs to change: Engage's tokens have no time limit of their own, they last as
  long as the session (`WTF_CSRF_TIME_LIMIT = None`).

Both answers are kept in the process, keyed by the exact value they came from: a cookie whose
signature was checked keeps its decoded contents (copied out afresh for each request, so a
request's changes never touch the kept copy), and a session token keeps its signed form. A
cookie that was never checked, or that has expired, goes through Flask's checks as before, so a
forged or altered cookie is refused exactly as it was; signing out still ends the server-side
session (hooks.load_user), which no kept copy can outlive.
"""

from __future__ import annotations

import copy
import time

from flask import Flask, Request, current_app, g, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

from engage.core.page_cache import KeptCopies

KEPT_COOKIES = 4096  # per process; about 1 KB each
KEPT_TOKENS = 4096


class KeptCookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session; a cookie already checked in this process is not checked
    and decoded again until it expires."""

    def __init__(self) -> None:
        self._kept: KeptCopies = KeptCopies(KEPT_COOKIES)
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask builds the same serializer for every request (twice when the cookie is
        saved); it is kept for the keys it was built with."""
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys not in self._serializers:
            self._serializers[keys] = super().get_signing_serializer(app)
        return self._serializers[keys]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = app.permanent_session_lifetime.total_seconds()
        kept = self._kept.get((value,))
        if kept is not None and time.time() - kept[1] <= max_age:
            return self.session_class(_copied(kept[0]))
        try:
            data, signed_at = serializer.loads(value, max_age=int(max_age), return_timestamp=True)
        except BadSignature:
            return self.session_class()
        self._kept.put((value,), (_copied(data), signed_at.timestamp()))
        return self.session_class(data)

    def save_session(self, app: Flask, session: SecureCookieSession, response) -> None:
        """Flask's, except that a session with nothing to write (most requests: the cookie
        is renewed at most once a minute) skips working out the cookie's settings, and only
        gets the "Vary: Cookie" Flask gives a session that was read."""
        if self.should_set_cookie(app, session):
            super().save_session(app, session, response)
        elif session.accessed:
            response.vary.add("Cookie")


def _copied(data: dict) -> dict:
    """A copy the request may change freely (lists of messages to show, say); the rest of a
    session's values (text, numbers, times) cannot be changed in place."""
    return {key: copy.deepcopy(value) if isinstance(value, (list, dict)) else value
            for key, value in data.items()}


_signed_tokens: KeptCopies = KeptCopies(KEPT_TOKENS)


def _prime_csrf_token() -> None:
    """Before the request: the session token's kept signed form, if it has one, is the one
    Flask-WTF hands out (it signs only when the request has none)."""
    raw = session.get("csrf_token")
    if raw:
        signed = _signed_tokens.get((current_app.secret_key, raw))
        if signed is not None:
            g.csrf_token = signed
            g.engage_csrf_kept = True


def _keep_csrf_token(response):
    """After it: a token Flask-WTF signed is kept for the session's next pages."""
    signed, raw = g.get("csrf_token"), session.get("csrf_token")
    if signed and raw and not g.get("engage_csrf_kept"):
        _signed_tokens.put((current_app.secret_key, raw), signed)
    return response


def init_app(app: Flask) -> None:
    app.session_interface = KeptCookieSessionInterface()
    app.before_request(_prime_csrf_token)
    app.after_request(_keep_csrf_token)
