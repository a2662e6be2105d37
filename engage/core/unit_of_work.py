"""One commit per request, in one place.

Services add and flush; views never commit. When a view returns normally, its changes are
committed once here; when it raises (a DomainError, abort(404), any bug), nothing it wrote is kept:
the session is rolled back before the error page is drawn. Worker jobs get the same boundary in
engage/worker.py. This is the shape of Indico's request handler (indico/web/rh.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask

from engage.core.templating import EngageEnvironment
from engage.db import holds_work
from engage.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


ENSURED_LIMIT = 4096


class EngageFlask(Flask):
    """Flask with the request's unit of work around each view."""

    jinja_environment = EngageEnvironment

    def ensure_sync(self, func: Callable) -> Callable:
        """Flask asks of every hook and view, on every request, whether it is a coroutine
        function: the answer for each function is kept."""
        kept = self.__dict__.setdefault("_engage_sync", {})
        found = kept.get(func)
        if found is None:
            found = super().ensure_sync(func)
            if len(kept) < ENSURED_LIMIT:  # hooks and views: a fixed set, but never unbounded
                kept[func] = found
        return found

    def dispatch_request(self):
        try:
            response = super().dispatch_request()
        except BaseException:
            db.session.rollback()  # a failed request leaves nothing written
            raise
        if holds_work(db.session):  # a request that never made a session holds nothing
            db.session.commit()  # the request's one commit
        return response  # else nothing was written: the session is closed after the request


def atomic(use_case: Callable[P, R]) -> Callable[P, R]:
    """For a use case whose DomainError a view catches to show it on the form: what the use
    case wrote before raising is undone (a savepoint), so the request's one commit keeps only
    the rest. Without it, the boundary would commit a half-done change."""

    @wraps(use_case)
    def in_a_savepoint(*args: P.args, **kwargs: P.kwargs) -> R:
        with db.session.begin_nested():
            return use_case(*args, **kwargs)

    return in_a_savepoint
