"""Copies of public pages for people who are signed out, kept in each process and checked
against a version number shared by every process on every node.

Only pages that are the same for everyone who is signed out are cached, and only for them:
a copy is served only to a request that carries no session cookie (so no one signed in, no
message waiting to be shown, no form half-filled), kept only when making the page touched no
session, and found by the full URL (scheme, host, path, query string) and nothing else. Nothing
about who asks is part of the key or the copy.

A group of pages that shows data names a version (a row in page_versions): whoever changes that
data calls bump(name) in the same transaction, so the new number and the change are committed
together, and each process renders afresh on its next request. A page that shows no data (home,
support) has no version; a page with a time-limited token (the feedback form) has a max age.
See docs/decisions for the design.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from flask import Flask, Response, current_app, g, request, session
from markupsafe import escape
from sqlalchemy import bindparam, select, update

from engage.core.models import PageVersion
from engage.db import made_session, plain_rows, plain_rows_apart
from engage.extensions import db

MAX_PAGES = 512


@dataclass(frozen=True)
class Rule:
    version: str | None
    max_age: float | None
    # Values made afresh for every copy served (a form's one-time token), by name.
    fresh: Mapping[str, Callable[[], str]] = field(default_factory=dict)


def _mark(name: str) -> bytes:
    return f"<!--engage:fresh:{name}-->".encode()


@dataclass(frozen=True)
class CachedPage:
    version: int
    made_at: float
    content_type: str
    body: bytes


V = TypeVar("V")


class KeptCopies(Generic[V]):
    """This process's copies by key, least recently used dropped first; safe across threads.
    Also keeps the dashboard's filter forms (engage/dashboard/filter_form.py)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pages: OrderedDict[tuple, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> V | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: V) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)


class PageCache(KeptCopies[CachedPage]):
    """The rules (which endpoints, which version) and this process's copies."""

    def __init__(self, size: int = MAX_PAGES) -> None:
        super().__init__(size)
        self.rules: dict[str, Rule] = {}


def cache_public_page(app: Flask, endpoint: str, *, version: str | None = None,
                      max_age: float | None = None,
                      fresh: Mapping[str, Callable[[], str]] | None = None) -> None:
    """Cache `endpoint` for signed-out visitors: until `version` is bumped, or for `max_age`
    seconds, or (neither) for the life of the process.

    `fresh` names values that must never be shared (a form's one-time token): the view passes
    each one it put on the page through `fresh_value(name, value)`, the kept copy holds a mark
    in its place, and every copy served gets a new value from `fresh[name]()`."""
    cache = _cache(app)
    if endpoint in cache.rules:
        raise ValueError(f"{endpoint} is already cached")
    cache.rules[endpoint] = Rule(version, max_age, dict(fresh or {}))


def fresh_value(name: str, value: str) -> str:
    """Note that `value`, about to go on the page, is this page's `name` (see `fresh` above)."""
    g.setdefault("page_cache_fresh", {})[name] = value
    return value


VERSION_QUERY = select(PageVersion.version).where(PageVersion.name == bindparam("name"))


def current_version(name: str) -> int:
    """Read inside the request's transaction when it has one, else as a plain read on a
    connection of its own (engage.db.plain_rows_apart, in autocommit mode). A visitor's kept
    page is served before anything else in the request, so no ORM session is made just to
    ask whether it has begun anything: the version is the request's only database work."""
    session = made_session(db.session)
    read = (VERSION_QUERY, {"name": name})
    # plain_rows itself reads apart when the session has begun nothing.
    [rows] = plain_rows(session, read) if session is not None else plain_rows_apart(
        db.engine, read)
    return rows[0][0] if rows else 0


def bump(name: str, connection=None) -> None:
    """Mark the pages of `name` changed, in the current transaction (or on `connection`, from
    inside a flush)."""
    run = connection.execute if connection is not None else db.session.execute
    result = run(update(PageVersion).where(PageVersion.name == name)
                 .values(version=PageVersion.version + 1))
    if result.rowcount == 0:
        run(PageVersion.__table__.insert().values(name=name, version=2))


def _cache(app: Flask) -> PageCache:
    return app.extensions.setdefault("engage_page_cache", PageCache())


def init_app(app: Flask) -> None:
    _cache(app)
    # First of all the request hooks: a cached page needs no rate limit, session or user.
    app.before_request_funcs.setdefault(None, []).insert(0, _serve_cached)
    app.after_request(_keep_copy)


def _serve_cached() -> Response | None:
    cache: PageCache = current_app.extensions["engage_page_cache"]
    rule = cache.rules.get(request.endpoint or "")
    if (rule is None or request.method != "GET" or not current_app.config["PUBLIC_PAGE_CACHE"]
            or current_app.config["SESSION_COOKIE_NAME"] in request.cookies):
        return None
    version = current_version(rule.version) if rule.version else 0
    # The full URL, from its raw parts (request.url re-encodes it on every call).
    key = (request.scheme, request.host, request.path, request.query_string)
    page = cache.get(key)
    if page is not None and page.version == version and (
            rule.max_age is None or time.monotonic() - page.made_at < rule.max_age):
        return Response(_filled(page.body, rule), content_type=page.content_type)
    g.page_cache_pending = (key, version, rule)
    return None


def _filled(body: bytes, rule: Rule) -> bytes:
    for name, make in rule.fresh.items():
        body = body.replace(_mark(name), str(escape(make())).encode())
    return body


def _marked(body: bytes, rule: Rule) -> bytes | None:
    """The page with each fresh value replaced by its mark; None when a value is not on the
    page exactly once (then no copy is kept)."""
    values = g.get("page_cache_fresh", {})
    for name in rule.fresh:
        value = str(escape(values.get(name, ""))).encode()
        if not value or body.count(value) != 1:
            return None
        body = body.replace(value, _mark(name))
    return body


def _keep_copy(response: Response) -> Response:
    pending = g.pop("page_cache_pending", None)
    if (pending is None or response.status_code != 200 or response.is_streamed
            or session.modified or session):
        return response
    key, version, rule = pending
    body = _marked(response.get_data(), rule)
    if body is not None:
        current_app.extensions["engage_page_cache"].put(key, CachedPage(
            version, time.monotonic(), response.content_type, body))
    return response
