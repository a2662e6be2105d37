"""The programme dashboard (programme leads and admins) and a member's "your impact" page."""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from engage.accounts.admin_views import require
from engage.core import audit
from engage.core.csv import csv_response
from engage.core.permissions import Permission
from engage.dashboard import (
    impact_domains,  # noqa: F401 - registers the merged impact sections
    metrics,  # noqa: F401 - registers the built-in sections
    programme,
)
from engage.dashboard.forms import DashboardFilterForm
from engage.dashboard.impact import impact_for
from engage.dashboard.sections import build_sections, find_figure
from engage.extensions import db
from engage.panels.models import Panel

bp = Blueprint("dashboard", __name__)
FIGURE_KEY = re.compile(r"^[a-z0-9-]{1,60}$")


def _filter_form() -> DashboardFilterForm:
    form = DashboardFilterForm(request.args)
    panels = db.session.execute(select(Panel.id, Panel.name).order_by(Panel.name)).all()
    form.panel.choices = [("", _("All panels")), *[(str(i), name) for i, name in panels]]
    form.organisation.choices = [("", _("All organisations")),
                                 *[(o, o) for o in programme.organisations()]]
    if request.args:
        form.validate()
    return form


@bp.get("/dashboard")
@require(Permission.VIEW_DASHBOARD)
def index():
    form = _filter_form()
    filters = form.filters()
    return render_template("dashboard/index.html", form=form, filters=filters,
                           sections=build_sections(filters), query=request.args.to_dict())


@bp.get("/dashboard/download/<key>.csv")
@require(Permission.VIEW_DASHBOARD)
def download(key: str):
    if not FIGURE_KEY.match(key):
        abort(404)
    filters = _filter_form().filters()
    figure = find_figure(filters, key)
    if figure is None:
        abort(404)
    audit.record("dashboard.downloaded", actor_id=current_user.id, figure=key)
    db.session.commit()
    return csv_response(f"engage-{key}-{filters.start}-to-{filters.end}.csv", figure.header,
                        figure.rows)


@bp.get("/impact")
@login_required
def impact():
    return render_template("dashboard/impact.html", sections=impact_for(current_user))
