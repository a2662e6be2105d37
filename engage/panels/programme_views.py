"""Programme pages (admins and programme leads): list, add, rename or describe, deactivate.

There is no delete: a programme that is no longer used is deactivated, so past spend keeps
the programme it was reported under.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engage.accounts.decorators import require
from engage.core.permissions import Permission
from engage.errors import DomainError
from engage.panels import programmes
from engage.panels.forms import EditProgrammeForm, ProgrammeForm

bp = Blueprint("programmes", __name__, url_prefix="/panels/programmes")


@bp.route("/", methods=["GET", "POST"])
@require(Permission.MANAGE_PROGRAMMES)
def index():
    form = ProgrammeForm()
    if form.validate_on_submit():
        try:
            programme = programmes.create_programme(current_user, name=form.name.data,
                                                    description=form.description.data or "")
        except DomainError as error:
            form.name.errors = [*form.name.errors, error.message]
        else:
            flash(_("The programme '%(name)s' is added. Choose it on a panel's details page "
                    "to put the panel in it.", name=programme.name), "success")
            return redirect(url_for("programmes.index"))
    return render_template("panels/programmes.html", form=form,
                           programmes=programmes.all_programmes(),
                           counts=programmes.panel_counts())


@bp.route("/<int:programme_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_PROGRAMMES)
def edit(programme_id: int):
    programme = programmes.get_programme(programme_id)
    form = EditProgrammeForm(obj=programme if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            programmes.update_programme(current_user, programme, name=form.name.data,
                                        description=form.description.data or "",
                                        is_active=bool(form.is_active.data))
        except DomainError as error:
            form.name.errors = [*form.name.errors, error.message]
        else:
            flash(_("Your changes to the programme are saved."), "success")
            return redirect(url_for("programmes.index"))
    return render_template("panels/programme_form.html", form=form, programme=programme,
                           panel_count=programmes.panel_counts().get(programme.id, 0))
