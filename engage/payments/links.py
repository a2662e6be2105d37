"""Links for notifications, built without a request (the worker has none)."""

from __future__ import annotations

from flask import current_app


def link(endpoint: str, **values) -> str:
    return current_app.url_map.bind("localhost").build(endpoint, values)
