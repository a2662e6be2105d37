"""The programme dashboard (programme leads and admins) and a member's "your impact" page,
where they may add anonymous feedback by its code and remove it again."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engage.accounts import queues
from engage.accounts.decorators import require
from engage.core import audit
from engage.core.csv import csv_response
from engage.core.permissions import Permission
from engage.dashboard import programme, snapshots
from engage.dashboard.filter_form import filter_form_html
from engage.dashboard.forms import AddFeedbackCodeForm, DashboardFilterForm
from engage.dashboard.impact import impact_for
from engage.dashboard.sections import Filters, find_figure
from engage.errors import NotFound
from engage.feedback import services as feedback
from engage.feedback import throttle

bp = Blueprint("dashboard", __name__)
FIGURE_KEY = re.compile(r"^[a-z0-9-]{1,60}$")


def _form(panels: list[tuple[str, str]], organisations: list[tuple[str, str]]
          ) -> DashboardFilterForm:
    form = DashboardFilterForm(request.args)
    form.panel.choices, form.organisation.choices = panels, organisations
    if request.args:
        form.validate()
    return form


def _filter_form() -> DashboardFilterForm:
    panels, organisations = programme.filter_choices()
    return _form([("", _("All panels")), *[(str(i), name) for i, name in panels]],
                 [("", _("All organisations")), *[(o, o) for o in organisations]])


def _asked_filters() -> Filters:
    """The filters as asked for, taking the panel and organisation asked for to be among the
    choices: the page checks them against the choices it reads, and if they are not, its
    figures are read again for the filters that apply."""
    panel, organisation = request.args.get("panel", ""), request.args.get("organisation", "")
    return _form([("", ""), (panel, panel)], [("", ""), (organisation, organisation)]).filters()


def index_reads(person_id: int) -> list[tuple]:
    """The dashboard's own reads, sent with the signed-in person's query
    (wiring.send_with_person) and used only once the view has checked who they are: the
    filter's choices, the kept figures for the filters asked for, and the person's work
    queues in the navigation (as they were last counted in this process: the view counts
    them again if the person's queues are no longer the same). The page then asks the
    database once."""
    return [programme.filter_choices_read(), *snapshots.kept_reads(_asked_filters()),
            *queues.reads_sent_early(person_id)]


@bp.get("/dashboard")
@require(Permission.VIEW_DASHBOARD)
def index():
    form = _filter_form()
    filters = form.filters()
    return render_template("dashboard/index.html", filter_form=filter_form_html(form),
                           filters=filters, figures=snapshots.figures_for(filters))


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
    return csv_response(f"engage-{key}-{filters.start}-to-{filters.end}.csv", figure.header,
                        figure.rows)


@bp.get("/impact")
@login_required
def impact():
    return render_template("dashboard/impact.html", sections=impact_for(current_user))


IMPACT_FEEDBACK_CODES = "impact-feedback-codes"


@bp.route("/impact/feedback-codes", methods=["GET", "POST"])
@login_required
@throttle.limit_wrong_codes()
def add_feedback_code():
    """Wrong codes count against the same allowance as the public check page."""
    form = AddFeedbackCodeForm()
    if form.validate_on_submit():
        try:
            addition = feedback.add_feedback_to_impact(current_user, form.code.data)
        except NotFound as error:
            throttle.count_wrong_code()
            form.code.errors = [error.message]
        else:
            if addition.named_by_you:
                flash(_("You gave this feedback with your name, so it is already on your "
                        "impact page, under Feedback."), "info")
            elif not addition.added:
                flash(_("This feedback is already on your impact page, so nothing has "
                        "changed."), "info")
            else:
                flash(_("The feedback is now on your impact page. Nothing our staff see "
                        "shows that it is linked to you."), "success")
            return redirect(url_for("dashboard.impact", _anchor=IMPACT_FEEDBACK_CODES))
    elif form.is_submitted():
        throttle.count_wrong_code()
    return render_template("dashboard/add_feedback_code.html", form=form)


@bp.post("/impact/feedback-codes/<int:link_id>/remove")
@login_required
def remove_feedback_code(link_id: int):
    # CSRF is checked for every POST before the view runs (Flask-WTF's CSRFProtect).
    feedback.remove_feedback_from_impact(current_user, link_id)
    flash(_("The feedback has been removed from your impact page. It is no longer linked to "
            "your account."), "success")
    return redirect(url_for("dashboard.impact", _anchor=IMPACT_FEEDBACK_CODES))
