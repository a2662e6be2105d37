"""Error pages in the same shell as every other page, kind and clear."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engage.errors import DomainError
from engage.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Something went wrong with that request",
          "Nothing was changed. Please go back and try again."),
    403: ("You do not have access to this page",
          "If you think you should, please contact the person who runs your panel."),
    404: ("Page not found",
          "If you typed the web address, check it is correct. If you pasted it, check you "
          "copied the whole address."),
    405: ("Something went wrong with that request",
          "Nothing was changed. Please go back and try again."),
    409: ("That could not be done right now", "Nothing was changed."),
    413: ("That file is too large",
          "Nothing was saved. Please go back and choose a smaller file (up to 10 MB)."),
    429: ("Please wait a little",
          "There have been too many attempts in a short time. Please wait a few minutes and "
          "try again. This protects your account."),
    500: ("Sorry, something went wrong on our side",
          "It was not anything you did. Please try again in a few minutes. If it keeps "
          "happening, contact the person who runs your panel."),
}


def render_error(status: int, detail: str | None = None):
    title, text = MESSAGES.get(status, MESSAGES[500])
    return render_template("errors/error.html", status=status, title=title, text=text,
                           detail=detail), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            "The form had expired or was sent from somewhere else, so nothing was saved. "
            "Please go back, reload the page and try again.",
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        # The unit of work (engage/core/unit_of_work.py) has already rolled the request back.
        return render_error(error.status_code, error.message or None)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # Also for errors outside the view (a request hook), which the unit of work does not
        # wrap: the error page must be able to use the session.
        db.session.rollback()  # the error page must be able to use the session
        log.exception("Unhandled error: %s", type(error).__name__)
        return render_error(500)
