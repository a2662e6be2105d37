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
    FeedbackSearchForm,
    LinkAnswerForm,
    LinkConsultationForm,
    LinkFeedbackForm,
    SendBackForm,
    WithdrawForm,
)
from engage.changes.links import LINK_KINDS, count_text
from engage.changes.models import ChangeEntry, ChangeStatus
from engage.core.csv import csv_response
from engage.core.permissions import Permission, can
from engage.core.security import safe_path
from engage.errors import DomainError, InvalidState, NotFound
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
        withdrawn_docs=feeds.WITHDRAWN_FIELD_DOCS,
        next_url=url_for("changes.public_log", after=page.next_cursor, **next_args)
        if page.next_cursor else None)


@bp.get("/you-said-we-did/<int:entry_id>")
def public_entry(entry_id: int):
    entry = services.public_entry(entry_id)
    if entry.is_withdrawn:
        # Gone from public view, on purpose: the page says when and why, and nothing else.
        return render_template("changes/withdrawn.html", entry=entry), 410
    counts = services.link_counts([entry.id])[entry.id]
    return render_template("changes/entry.html", entry=entry, counts=_counts_text(counts),
                           quotes=services.public_quotes(entry),
                           earlier_versions=services.earlier_versions(entry))


@bp.get("/you-said-we-did.json")
def json_feed():
    filters = _filters()
    page = services.public_log(**filters)
    next_args = {k: v for k, v in request.args.items() if k != "after"}
    first_page = not filters["after"]
    return jsonify(
        entries=[feeds.entry_record(e, page.counts[e.id]) for e in page.entries],
        withdrawn=[feeds.withdrawn_record(e) for e in services.withdrawn_entries()]
        if first_page else [],
        next=url_for("changes.json_feed", after=page.next_cursor, _external=True, **next_args)
        if page.next_cursor else None,
        fields_documentation=url_for("changes.public_log", _external=True) + "#open-data",
    )


@bp.get("/you-said-we-did.atom")
def atom():
    page = services.public_log(page_size=50)
    return Response(feeds.atom_feed(page.entries, page.counts, services.withdrawn_entries()),
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


def _to_entry(entry: ChangeEntry, done: str | None = None, anchor: str | None = None):
    """Back to the entry's staff page, saying what just happened."""
    if done:
        flash(done, "success")
    return redirect(url_for("changes.staff_entry", entry_id=entry.id, _anchor=anchor))


@bp.get("/staff/changes")
@require(Permission.WRITE_CHANGES, Permission.APPROVE_CHANGES)
def staff_list():
    waiting = services.awaiting_approval_by(current_user)
    return render_template("changes/staff_list.html", entries=services.staff_entries(),
                           waiting_for_you={entry.id for entry in waiting})


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
            return _to_entry(entry, _("The entry is saved as a draft. Link the feedback behind "
                                      "it, then submit it for approval."))
    return render_template("changes/edit.html", form=form, entry=None, version=None)


def _edit_data(entry: ChangeEntry) -> dict:
    source = services.pending_version(entry) if entry.is_published else None
    source = source or entry
    return {"said": source.said, "done": source.done, "organisation": source.organisation,
            "theme": source.theme.name if source.theme else "", "status": str(source.status),
            "not_possible_reason": source.not_possible_reason, "target_on": source.target_on,
            "completed_on": source.completed_on}


@bp.route("/staff/changes/<int:entry_id>/edit", methods=["GET", "POST"])
@require(Permission.WRITE_CHANGES)
def edit(entry_id: int):
    entry = _load(entry_id)
    if entry.is_withdrawn:
        raise InvalidState(_("This entry has been withdrawn from public view, so it cannot be "
                             "changed."))
    form = EntryForm(data=None if request.method == "POST" else _edit_data(entry))
    if form.validate_on_submit():
        try:
            services.update_entry(current_user, entry, **_entry_fields(form))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            return _to_entry(entry, _(
                "Saved as a new version. The public page does not change until you submit it "
                "and a second person approves it.") if entry.is_published else _(
                "Your changes are saved."))
    return render_template("changes/edit.html", form=form, entry=entry,
                           version=services.pending_version(entry) if entry.is_published
                           else None)


def _consultation_form(form: LinkConsultationForm | None = None) -> LinkConsultationForm:
    form = form or LinkConsultationForm(formdata=None)
    form.consultation.choices = [(c.id, c.title) for c in services.linkable_consultations()]
    return form


def _search_form() -> FeedbackSearchForm:
    form = FeedbackSearchForm(request.args)
    form.theme.choices = [(0, _("Any theme"))] + [
        (theme.id, theme.name) for theme in feedback_services.all_themes()]
    return form


def _feedback_choices(entry: ChangeEntry, form: FeedbackSearchForm, linked: list):
    """Feedback that may be linked: what the search finds, or the newest when nothing was
    asked for; never what is linked already."""
    if form.searched and not form.validate():
        return []
    return feedback_services.search_feedback(
        words=form.words.data, received_from=form.received_from.data,
        received_to=form.received_to.data, theme_id=form.theme.data or None,
        exclude_ids=[item.id for item in linked], limit=20 if form.searched else 10)


def _staff_page(entry: ChangeEntry, *, link_form: LinkFeedbackForm | None = None,
                consultation_form: LinkConsultationForm | None = None,
                send_back_form: SendBackForm | None = None, status: int = 200):
    counts = services.link_counts([entry.id])[entry.id]
    linked = services.linked_feedback(entry)
    search_form = _search_form()
    can_write = can(current_user, Permission.WRITE_CHANGES)
    version = services.pending_version(entry) if entry.was_published else None
    return render_template(
        "changes/staff_entry.html", entry=entry, counts=_counts_text(counts),
        linked=linked, action_form=ActionForm(), link_form=link_form or LinkFeedbackForm(),
        search_form=search_form,
        choices=_feedback_choices(entry, search_form, linked) if can_write else [],
        consultation_form=_consultation_form(consultation_form),
        send_back_form=send_back_form or SendBackForm(),
        linked_consultations=services.linked_consultations(entry),
        linked_answers=services.linked_answers(entry),
        version=version, earlier_versions=services.earlier_versions(entry),
        in_review=version if entry.was_published else entry,
        can_write=can_write,
        can_approve=services.can_approve(current_user, entry),
        can_withdraw=entry.is_published and (can_write or can(current_user,
                                                              Permission.APPROVE_CHANGES)),
        needs_second_person=can(current_user, Permission.APPROVE_CHANGES)
        and not services.can_approve(current_user, entry)), status


@bp.get("/staff/changes/<int:entry_id>")
@require(Permission.WRITE_CHANGES, Permission.APPROVE_CHANGES)
def staff_entry(entry_id: int):
    return _staff_page(_load(entry_id))


def _button(entry: ChangeEntry, action, done: str, anchor: str | None = None):
    """A button on the entry's page: do it and say so, or say why it could not be done."""
    if not ActionForm().validate_on_submit():
        flash(_("The page had expired, so nothing was changed. Please try again."), "error")
        return _to_entry(entry)
    try:
        action()
    except DomainError as error:
        if error.status_code in (403, 404):
            raise
        flash(error.message, "error")
        return _to_entry(entry)
    return _to_entry(entry, done, anchor)


@bp.post("/staff/changes/<int:entry_id>/submit")
@require(Permission.WRITE_CHANGES)
def submit(entry_id: int):
    entry = _load(entry_id)
    return _button(entry, lambda: services.submit_for_approval(current_user, entry), _(
        "Submitted for approval. The programme leads who can approve it have been told it is "
        "waiting for them."))


@bp.post("/staff/changes/<int:entry_id>/approve")
@require(Permission.APPROVE_CHANGES)
def approve(entry_id: int):
    entry = _load(entry_id)
    new_version = entry.was_published
    return _button(entry, lambda: services.approve_entry(current_user, entry), _(
        "The new version is published and replaces the old one. The old wording stays in the "
        "entry's history.") if new_version else _(
        "Approved and published. People whose feedback is linked are being told."))


@bp.post("/staff/changes/<int:entry_id>/send-back")
@require(Permission.APPROVE_CHANGES)
def send_back(entry_id: int):
    entry = _load(entry_id)
    form = SendBackForm()
    if form.validate_on_submit():
        try:
            services.send_back(current_user, entry, form.note.data)
        except DomainError as error:
            if error.status_code in (403, 404):
                raise
            form.note.errors = [error.message]
        else:
            return _to_entry(entry, _("Sent back with your comment. Whoever submitted it has "
                                      "been told."))
    return _staff_page(entry, send_back_form=form, status=400)


@bp.route("/staff/changes/<int:entry_id>/withdraw", methods=["GET", "POST"])
@require(Permission.WRITE_CHANGES, Permission.APPROVE_CHANGES)
def withdraw(entry_id: int):
    entry = _load(entry_id)
    if not entry.is_published:
        raise InvalidState(_("Only a published entry can be withdrawn."))
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            services.withdraw_entry(current_user, entry, form.reason.data)
        except DomainError as error:
            if error.status_code in (403, 404):
                raise
            form.reason.errors = [error.message]
        else:
            return _to_entry(entry, _("Withdrawn from public view. Its public page now says it "
                                      "was withdrawn and why."))
    return render_template("changes/withdraw.html", entry=entry, form=form), \
        400 if form.errors else 200


@bp.route("/staff/changes/<int:entry_id>/delete", methods=["GET", "POST"])
@require(Permission.WRITE_CHANGES)
def delete(entry_id: int):
    """Delete a draft: the whole entry if it was never published, otherwise the new version
    being prepared."""
    entry = _load(entry_id)
    version = services.pending_version(entry) if entry.was_published else None
    if entry.was_published and version is None:
        raise InvalidState(_("A published entry cannot be deleted. You can withdraw it from "
                             "public view instead."))
    form = ActionForm()
    if form.validate_on_submit():
        if version is not None:
            services.discard_version(current_user, entry)
            return _to_entry(entry, _("The new version is deleted. The public entry has not "
                                      "changed."))
        title = entry.title
        services.delete_draft(current_user, entry)
        flash(_("The draft \u201c%(title)s\u201d is deleted.", title=title), "success")
        return redirect(url_for("changes.staff_list"))
    return render_template("changes/delete.html", entry=entry, version=version, form=form)


@bp.post("/staff/changes/<int:entry_id>/links")
@require(Permission.WRITE_CHANGES)
def link(entry_id: int):
    entry = _load(entry_id)
    form = LinkFeedbackForm()
    if form.validate_on_submit():
        try:
            services.link_feedback(current_user, entry, form.feedback_id.data)
        except DomainError as error:
            form.feedback_id.errors = [error.message]
        else:
            return _to_entry(entry, _("Feedback linked to this entry."), "linked-feedback")
    return _staff_page(entry, link_form=form, status=400)


@bp.post("/staff/changes/<int:entry_id>/links/<int:feedback_id>/remove")
@require(Permission.WRITE_CHANGES)
def unlink(entry_id: int, feedback_id: int):
    entry = _load(entry_id)
    return _button(entry, lambda: services.unlink_feedback(current_user, entry, feedback_id),
                   _("The link to that feedback is removed."), "linked-feedback")


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
            return _to_entry(entry, _("Consultation linked to this entry."),
                             "linked-consultations")
    return _staff_page(entry, consultation_form=form, status=400)


@bp.post("/staff/changes/<int:entry_id>/consultations/<int:consultation_id>/remove")
@require(Permission.WRITE_CHANGES)
def unlink_consultation(entry_id: int, consultation_id: int):
    entry = _load(entry_id)
    return _button(
        entry, lambda: services.unlink_consultation(current_user, entry, consultation_id),
        _("The link to that consultation is removed."), "linked-consultations")


@bp.post("/staff/changes/<int:entry_id>/answers/<answer_id>/remove")
@require(Permission.WRITE_CHANGES)
def unlink_answer(entry_id: int, answer_id: str):
    entry = _load(entry_id)
    return _button(
        entry, lambda: services.unlink_consultation_answer(current_user, entry, answer_id),
        _("The link to that answer is removed."), "linked-answers")


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

