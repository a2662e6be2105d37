"""Pages every visitor needs: home, health, safety, support, and front-end assets."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    send_from_directory,
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
VENDOR_DIR = Path(__file__).resolve().parents[1] / "static" / "vendor" / "nhsuk"


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


@bp.get("/assets/<path:filename>")
def vendor_asset(filename: str):
    return send_from_directory(VENDOR_DIR, filename, max_age=3600)
