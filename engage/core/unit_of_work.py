"""One commit per request, in one place.

Services add and flush; views never commit. When a view returns normally, its changes are
committed once here; when it raises (a DomainError, abort(404), any bug), nothing it wrote is kept:
the session is rolled back before the error page is drawn. Worker jobs get the same boundary in
engage/worker.py. This is the shape of Indico's request handler (indico/web/rh.py).
"""

from __future__ import annotations

from flask import Flask

from engage.extensions import db


class EngageFlask(Flask):
    """Flask with the request's unit of work around each view."""

    def dispatch_request(self):
        try:
            response = super().dispatch_request()
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return response
