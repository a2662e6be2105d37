"""The "data we hold" page (generated from engage.core.personal_data) and retention settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engage.accounts.decorators import require
from engage.core.permissions import Permission
from engage.core.personal_data import declared
from engage.lifecycle import retention
from engage.lifecycle.forms import retention_form

bp = Blueprint("lifecycle", __name__)


@bp.get("/account/data-we-hold")
@login_required
def data_we_hold():
    periods = retention.periods()
    kinds = []
    for kind in sorted(declared().values(), key=lambda k: k.label):
        rule = kind.retention
        removed = (f"{retention.period_text(periods[rule.key])} {rule.counted_from}"
                   if rule else None)
        kinds.append((kind, rule, removed))
    return render_template("lifecycle/data_we_hold.html", kinds=kinds)


@bp.route("/admin/retention", methods=["GET", "POST"])
@require(Permission.MANAGE_SETTINGS)
def retention_settings():
    periods = retention.periods()
    form = retention_form(periods)
    if form.validate_on_submit():
        for key in retention.rules():
            if form[key].data != periods[key]:
                retention.set_period(current_user, key, form[key].data)
        flash(_("The retention periods are saved. The daily job uses them from its next run."),
              "success")
        return redirect(url_for("lifecycle.retention_settings"))
    rules = [rule for _key, rule in sorted(retention.rules().items())]
    return render_template("lifecycle/retention.html", form=form, rules=rules)
