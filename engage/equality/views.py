"""Equality pages: a member's own optional questionnaire, and the admin's population figures."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engage.accounts.decorators import require
from engage.accounts.forms import EmptyForm
from engage.core.permissions import Permission
from engage.equality import services
from engage.equality.forms import (
    equality_form,
    population_field_name,
    population_form,
    population_values,
)
from engage.equality.questions import QUESTIONS
from engage.errors import DomainError

bp = Blueprint("equality", __name__)


@bp.route("/account/equality", methods=["GET", "POST"])
@login_required
def questions():
    saved = services.answers_of(current_user)
    form = equality_form(saved)
    if form.validate_on_submit():
        try:
            services.save_answers(current_user, form.answers())
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(_("Thank you. Your answers are saved."), "success")
            return redirect(url_for("equality.questions"))
    return render_template("equality/questions.html", form=form, questions=QUESTIONS,
                           has_answers=bool(saved), delete_form=EmptyForm())


@bp.post("/account/equality/delete")
@login_required
def delete():
    if EmptyForm().validate_on_submit():
        services.delete_answers(current_user)
        flash(_("Your equality answers are deleted."), "success")
    return redirect(url_for("equality.questions"))


@bp.route("/admin/equality/population", methods=["GET", "POST"])
@require(Permission.MANAGE_SETTINGS)
def population():
    form = population_form(services.population_figures())
    if form.validate_on_submit():
        try:
            services.set_population_figures(current_user, population_values(form))
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(_("The local population figures are saved."), "success")
            return redirect(url_for("equality.population"))
    return render_template("equality/population.html", form=form, questions=QUESTIONS,
                           field_name=population_field_name)
