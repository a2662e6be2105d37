"""Protecting the anonymous feedback forms without a cookie.

Flask-WTF keeps its CSRF secret in the session, and a session means a cookie: a visitor who
gives anonymous feedback would leave with a signed cookie tying their browser to the visit.
So the anonymous forms (give feedback, check a code, delete replies, withdraw) are exempt from
session CSRF and protected instead by:

1. A same-origin check: a browser sends `Origin` (or at least `Referer`, which our
   `Referrer-Policy: same-origin` keeps for our own pages) with every form POST; if either is
   present it must be this site. This is what stops another site submitting the form in a
   visitor's browser.
2. A signed, time-limited form token in a hidden field. It signs the form's name, the time it
   was made and a random nonce that is stored nowhere, so it identifies nothing but that one
   page; it shows the post came from a page we served recently and keeps stale or scripted
   replays out. On the give-feedback page the nonce also makes a repeated post of the same page
   find the feedback already stored and show the same code (codes.code_for_page).

Signed-in members already have a session, so when they give feedback the ordinary session CSRF
token is checked as well (a forged request could otherwise attach their name).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import current_app, request
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeTimedSerializer

# A form field name, not a secret.
FORM_TOKEN_FIELD = "form_token"  # noqa: S105  # nosec B105


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"],
                                  salt="engage-anonymous-form")


def form_token(form_name: str) -> str:
    return _serializer().dumps({"form": form_name, "nonce": secrets.token_urlsafe(16)})


def _same_origin(value: str) -> bool:
    parts = urlsplit(value)
    ours = urlsplit(request.host_url)
    return (parts.scheme, parts.netloc) == (ours.scheme, ours.netloc)


def check_anonymous_post(form_name: str) -> str:
    """Raise CSRFError (the usual kind 'form expired' page) unless the post is ours. Returns
    the page's one-time nonce."""
    origin = request.headers.get("Origin")
    referer = request.headers.get("Referer")
    if origin is not None:
        if not _same_origin(origin):
            raise CSRFError("The form was sent from another site.")
    elif referer is not None and not _same_origin(referer):
        raise CSRFError("The form was sent from another site.")
    token = request.form.get(FORM_TOKEN_FIELD, "")
    try:
        signed = _serializer().loads(token, max_age=current_app.config[
            "FEEDBACK_FORM_MAX_AGE"])
    except BadSignature as error:
        raise CSRFError("The form had expired.") from error
    if not isinstance(signed, dict) or signed.get("form") != form_name:
        raise CSRFError("The form did not match.")
    return str(signed["nonce"])
