"""Pages every visitor needs: home, health, safety, support, and front-end assets."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    session,
)
from flask_babel import ngettext
from flask_login import logout_user

from engage.core import health, page_shell, readiness
from engage.core.accessibility import KNOWN_PROBLEMS, statement_dates
from engage.core.organisation import organisation
from engage.extensions import csrf

bp = Blueprint("core", __name__)


@bp.get("/")
def home():
    # The same for every signed-in member (kept); visitors get the public page cache's copy.
    return page_shell.kept_page("core/home.html")


@bp.get("/healthz")
def healthz():
    ready = health.database_ready()
    return jsonify(app="ok", database="ok" if ready else "unavailable"), 200 if ready else 503


@bp.get("/readyz")
def readyz():
    """For load balancers and monitoring: can this node serve (database, rate-limit store,
    file storage), and how are the worker and the outbox doing (reported, not judged: a
    stopped worker must not take the web nodes out of service)."""
    body, ready = readiness.report()
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


@bp.get("/accessibility")
def accessibility():
    return render_template("core/accessibility.html", organisation=organisation(),
                           known_problems=KNOWN_PROBLEMS, dates=statement_dates(),
                           tested_by=current_app.config["ACCESSIBILITY_TESTED_BY"])


def _duration(lifetime: timedelta) -> str:
    minutes = int(lifetime.total_seconds() // 60)
    if minutes % 60:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)


@bp.get("/cookies")
def cookies():
    config = current_app.config
    return render_template("core/cookies.html", organisation=organisation(),
                           cookie_name=config["SESSION_COOKIE_NAME"],
                           member_idle=_duration(config["MEMBER_IDLE_TIMEOUT"]),
                           staff_idle=_duration(config["STAFF_IDLE_TIMEOUT"]))


# The NHS.UK frontend's own paths (favicon, manifest): answered by engage/core/assets.py's
# middleware; the rule names the URLs.
bp.add_url_rule("/assets/<path:filename>", endpoint="vendor_asset", build_only=True)
