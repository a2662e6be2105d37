"""'You said, we did': the public log, open data, and the staff pages to write, link and
approve entries."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from engage.accounts.decorators import require
from engage.changes import feeds, services
from engage.changes.forms import (
    ActionForm,
    EntryForm,
    LinkAnswerForm,
    LinkConsultationForm,
    LinkFeedbackForm,
)
from engage.changes.links import LINK_KINDS, count_text
from engage.changes.models import ChangeEntry, ChangeStatus
from engage.core.csv import csv_response
from engage.core.permissions import Permission, can
from engage.core.security import safe_path
from engage.errors import DomainError, NotFound
from engage.extensions import db
from engage.feedback import services as feedback_services

bp = Blueprint("changes", __name__)


def _counts_text(counts: dict[str, int]) -> list[str]:
    """Feedback always (even "no ... yet"); consultation kinds only when something is linked."""
    return [count_text(counts.get(kind, 0), spec) for kind, spec in LINK_KINDS.items()
            if kind == "feedback" or counts.get(kind, 0)]


# --- public log and open data ---------------------------------------------------------------


def _filters() -> dict:
    return {
        "status": request.args.get("status") or None,
        "theme_id": request.args.get("theme", type=int),
        "organisation": request.args.get("organisation") or None,
        "search": (request.args.get("q") or "").strip()[:100] or None,
        "after": request.args.get("after") or None,
    }


@bp.get("/you-said-we-did")
def public_log():
    filters = _filters()
    page = services.public_log(**filters)
    next_args = {k: v for k, v in request.args.items() if k != "after"}
    return render_template(
        "changes/log.html", page=page, filters=filters, options=services.filter_options(),
        statuses=list(ChangeStatus), counts_text=_counts_text, field_docs=feeds.JSON_FIELD_DOCS,
        next_url=url_for("changes.public_log", after=page.next_cursor, **next_args)
        if page.next_cursor else None)


@bp.get("/you-said-we-did/<int:entry_id>")
def public_entry(entry_id: int):
    entry = services.public_entry(entry_id)
    counts = services.link_counts([entry.id])[entry.id]
    return render_template("changes/entry.html", entry=entry, counts=_counts_text(counts),
                           quotes=services.public_quotes(entry))


@bp.get("/you-said-we-did.json")
def json_feed():
    filters = _filters()
    page = services.public_log(**filters)
    next_args = {k: v for k, v in request.args.items() if k != "after"}
    return jsonify(
        entries=[feeds.entry_record(e, page.counts[e.id]) for e in page.entries],
        next=url_for("changes.json_feed", after=page.next_cursor, _external=True, **next_args)
        if page.next_cursor else None,
        fields_documentation=url_for("changes.public_log", _external=True) + "#open-data",
    )


@bp.get("/you-said-we-did.atom")
def atom():
    page = services.public_log(page_size=50)
    return Response(feeds.atom_feed(page.entries, page.counts),
                    mimetype="application/atom+xml")


@bp.get("/you-said-we-did.csv")
def csv_download():
    def records():
        after = None
        while True:
            page = services.public_log(after=after, page_size=500)
            for entry in page.entries:
                yield feeds.entry_record(entry, page.counts[entry.id])
            if not page.next_cursor:
                return
            after = page.next_cursor

    return csv_response("you-said-we-did.csv", feeds.CSV_COLUMNS, feeds.csv_rows(records()))


# --- staff ----------------------------------------------------------------------------------


def _load(entry_id: int) -> ChangeEntry:
    entry = db.session.get(ChangeEntry, entry_id)
    if entry is None:
        raise NotFound()
    return entry


def _entry_fields(form: EntryForm) -> dict:
    theme = (form.theme.data or "").strip()
    return {
        "said": form.said.data, "done": form.done.data, "organisation": form.organisation.data,
        "theme_id": feedback_services.ensure_theme(" ".join(theme.split())).id
        if theme else None,
        "status": form.status.data, "not_possible_reason": form.not_possible_reason.data,
        "target_on": form.target_on.data, "completed_on": form.completed_on.data,
    }


@bp.get("/staff/changes")
@require(Permission.WRITE_CHANGES, Permission.APPROVE_CHANGES)
def staff_list():
    return render_template("changes/staff_list.html", entries=services.staff_entries())


@bp.route("/staff/changes/new", methods=["GET", "POST"])
@require(Permission.WRITE_CHANGES)
def new():
    form = EntryForm()
    if form.validate_on_submit():
        try:
            entry = services.create_entry(current_user, **_entry_fields(form))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            return redirect(url_for("changes.staff_entry", entry_id=entry.id))
    return render_template("changes/edit.html", form=form, entry=None)


@bp.route("/staff/changes/<int:entry_id>/edit", methods=["GET", "POST"])
@require(Permission.WRITE_CHANGES)
def edit(entry_id: int):
    entry = _load(entry_id)
    form = EntryForm(data=None if request.method == "POST" else {
        "said": entry.said, "done": entry.done, "organisation": entry.organisation,
        "theme": entry.theme.name if entry.theme else "", "status": str(entry.status),
        "not_possible_reason": entry.not_possible_reason, "target_on": entry.target_on,
        "completed_on": entry.completed_on})
    if form.validate_on_submit():
        try:
            services.update_entry(current_user, entry, **_entry_fields(form))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            return redirect(url_for("changes.staff_entry", entry_id=entry.id))
    return render_template("changes/edit.html", form=form, entry=entry)


def _consultation_form(form: LinkConsultationForm | None = None) -> LinkConsultationForm:
    form = form or LinkConsultationForm(formdata=None)
    form.consultation.choices = [(c.id, c.title) for c in services.linkable_consultations()]
    return form


def _staff_page(entry: ChangeEntry, link_form: LinkFeedbackForm | None = None,
                consultation_form: LinkConsultationForm | None = None):
    counts = services.link_counts([entry.id])[entry.id]
    return render_template(
        "changes/staff_entry.html", entry=entry, counts=_counts_text(counts),
        linked=services.linked_feedback(entry), action_form=ActionForm(),
        link_form=link_form or LinkFeedbackForm(),
        consultation_form=_consultation_form(consultation_form),
        linked_consultations=services.linked_consultations(entry),
        linked_answers=services.linked_answers(entry),
        can_write=can(current_user, Permission.WRITE_CHANGES),
        can_approve=services.can_approve(current_user, entry),
        needs_second_person=can(current_user, Permission.APPROVE_CHANGES)
        and not services.can_approve(current_user, entry))


@bp.get("/staff/changes/<int:entry_id>")
@require(Permission.WRITE_CHANGES, Permission.APPROVE_CHANGES)
def staff_entry(entry_id: int):
    return _staff_page(_load(entry_id))


@bp.post("/staff/changes/<int:entry_id>/submit")
@require(Permission.WRITE_CHANGES)
def submit(entry_id: int):
    entry = _load(entry_id)
    if ActionForm().validate_on_submit():
        services.submit_for_approval(current_user, entry)
    return redirect(url_for("changes.staff_entry", entry_id=entry.id))


@bp.post("/staff/changes/<int:entry_id>/approve")
@require(Permission.APPROVE_CHANGES)
def approve(entry_id: int):
    entry = _load(entry_id)
    if ActionForm().validate_on_submit():
        services.approve_entry(current_user, entry)
    return redirect(url_for("changes.staff_entry", entry_id=entry.id))


@bp.post("/staff/changes/<int:entry_id>/links")
@require(Permission.WRITE_CHANGES)
def link(entry_id: int):
    entry = _load(entry_id)
    form = LinkFeedbackForm()
    if form.validate_on_submit():
        feedback_id = services.parse_feedback_reference(form.reference.data)
        try:
            if feedback_id is None:
                raise DomainError("Enter the feedback reference: the number shown on the "
                                  "feedback's page.")
            services.link_feedback(current_user, entry, feedback_id)
        except DomainError as error:
            form.reference.errors = [error.message]
        else:
            return redirect(url_for("changes.staff_entry", entry_id=entry.id))
    return _staff_page(entry, form), 400


@bp.post("/staff/changes/<int:entry_id>/links/<int:feedback_id>/remove")
@require(Permission.WRITE_CHANGES)
def unlink(entry_id: int, feedback_id: int):
    entry = _load(entry_id)
    if ActionForm().validate_on_submit():
        services.unlink_feedback(current_user, entry, feedback_id)
    return redirect(url_for("changes.staff_entry", entry_id=entry.id))


@bp.post("/staff/changes/<int:entry_id>/consultations")
@require(Permission.WRITE_CHANGES)
def link_consultation(entry_id: int):
    entry = _load(entry_id)
    form = _consultation_form(LinkConsultationForm())
    if form.validate_on_submit():
        try:
            services.link_consultation(current_user, entry, form.consultation.data)
        except DomainError as error:
            form.consultation.errors = [error.message]
        else:
            return redirect(url_for("changes.staff_entry", entry_id=entry.id))
    return _staff_page(entry, consultation_form=form), 400


@bp.post("/staff/changes/<int:entry_id>/consultations/<int:consultation_id>/remove")
@require(Permission.WRITE_CHANGES)
def unlink_consultation(entry_id: int, consultation_id: int):
    entry = _load(entry_id)
    if ActionForm().validate_on_submit():
        services.unlink_consultation(current_user, entry, consultation_id)
    return redirect(url_for("changes.staff_entry", entry_id=entry.id))


@bp.post("/staff/changes/<int:entry_id>/answers/<answer_id>/remove")
@require(Permission.WRITE_CHANGES)
def unlink_answer(entry_id: int, answer_id: str):
    entry = _load(entry_id)
    if ActionForm().validate_on_submit():
        services.unlink_consultation_answer(current_user, entry, answer_id)
    return redirect(url_for("changes.staff_entry", entry_id=entry.id))


def _back_to_answers(back: str | None, fallback: str) -> str:
    """Only back to a consultation's answers page on this site."""
    return safe_path(back, under="/consultations/") or fallback


@bp.post("/staff/changes/answer-links")
@require(Permission.WRITE_CHANGES)
def link_answer():
    """From a consultation's answers page: "link this answer to a change"."""
    form = LinkAnswerForm()
    if not form.validate_on_submit():
        flash(_("Choose a change from the list, then link the answer."), "error")
        return redirect(_back_to_answers(form.back.data, url_for("changes.staff_list")))
    entry = _load(form.entry.data)
    try:
        services.link_consultation_answer(current_user, entry, form.answer_id.data)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(_back_to_answers(form.back.data, url_for("changes.staff_list")))
    flash(_("Answer linked to the change \u201c%(title)s\u201d.", title=entry.title), "success")
    return redirect(_back_to_answers(form.back.data,
                                     url_for("changes.staff_entry", entry_id=entry.id)))


@bp.get("/staff/changes/measures")
@require(Permission.TRIAGE_FEEDBACK, Permission.WRITE_CHANGES, Permission.VIEW_DASHBOARD)
def measures():
    return render_template("changes/measures.html", measures=services.measures())

