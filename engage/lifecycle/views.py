"""The "data we hold" page (generated from engage.core.personal_data) and retention settings."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from engage.accounts.decorators import require
from engage.core.organisation import organisation
from engage.core.permissions import Permission
from engage.core.personal_data import declared
from engage.lifecycle import retention
from engage.lifecycle.forms import retention_form

bp = Blueprint("lifecycle", __name__)

DEFAULT_LAWFUL_BASIS = _l(
    "We hold your information because you asked to take part (UK GDPR Article 6(1)(a), "
    "consent). What you choose to tell us about your health, or about experiences of sexual "
    "violence or abuse, is held with your explicit consent (Article 9(2)(a)). Payment records "
    "are kept for as long as tax law requires (Article 6(1)(c), legal obligation). You can "
    "withdraw your consent at any time by withdrawing what you gave or closing your account.")


def _kinds_with_retention() -> list[tuple]:
    """Every declared kind of personal data, with its retention rule and period in words."""
    periods = retention.periods()
    kinds = []
    for kind in sorted(declared().values(), key=lambda k: k.label):
        rule = kind.retention
        removed = (f"{retention.period_text(periods[rule.key])} {rule.counted_from}"
                   if rule else None)
        kinds.append((kind, rule, removed))
    return kinds


@bp.get("/account/data-we-hold")
@login_required
def data_we_hold():
    return render_template("lifecycle/data_we_hold.html", kinds=_kinds_with_retention())


@bp.get("/privacy")
def privacy():
    """The privacy notice: made from the same declarations as the data download and account
    closure, so it says what the system really holds."""
    return render_template("lifecycle/privacy.html", kinds=_kinds_with_retention(),
                           organisation=organisation(),
                           lawful_basis=current_app.config.get("PRIVACY_LAWFUL_BASIS")
                           or DEFAULT_LAWFUL_BASIS)


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
