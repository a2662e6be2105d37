"""Pages every visitor needs: home, health, safety, support, and front-end assets."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    session,
)
from flask_login import logout_user
from sqlalchemy import text

from engage.core import page_cache
from engage.extensions import csrf, db

bp = Blueprint("core", __name__)
# Pages that show no data are the same for everyone signed out: rendered once per process.
bp.record_once(lambda state: [page_cache.cache_public_page(state.app, endpoint) for endpoint in
                              ("core.home", "core.support", "core.leaving_quickly")])


@bp.get("/")
def home():
    return render_template("core/home.html")


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # any database failure means "not ready"
        db.session.rollback()
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify(app="ok", database=database), status


@bp.get("/readyz")
def readyz():
    """For load balancers and monitoring: can this node serve (database, rate-limit store,
    file storage), and how are the worker and the outbox doing (reported, not judged: a
    stopped worker must not take the web nodes out of service)."""
    from engage.core.readiness import report

    body, ready = report()
    return jsonify(body), 200 if ready else 503


@bp.route("/leave", methods=["GET", "POST"])
@csrf.exempt
def leave():
    """Exit this page. A GET on purpose: it must work from a plain link, with no JavaScript,
    as fast as possible. It only ever ends the visitor's own session."""
    logout_user()
    session.clear()
    response = redirect(current_app.config["EXIT_URL"])
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.get("/leaving-quickly")
def leaving_quickly():
    return render_template("core/leaving_quickly.html", exit_url=current_app.config["EXIT_URL"])


@bp.get("/support")
def support():
    return render_template("core/support.html")


# The NHS.UK frontend's own paths (favicon, manifest): answered by engage/core/assets.py's
# middleware; the rule names the URLs.
bp.add_url_rule("/assets/<path:filename>", endpoint="vendor_asset", build_only=True)
