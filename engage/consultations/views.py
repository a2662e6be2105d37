"""Consultation pages: list, introduction, answering, building, results and export."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engage.accounts.decorators import require
from engage.consultations import routing, services
from engage.consultations.answers import error_anchor, form_fields, values_for_page
from engage.consultations.forms import (
    ConsultationForm,
    EmptyForm,
    ExtendForm,
    OnBehalfForm,
    PartForm,
    QuestionForm,
    TagForm,
)
from engage.consultations.models import (
    ROUTING_KINDS,
    Consultation,
    ConsultationState,
    QuestionKind,
    QuoteConsent,
    ResponseStatus,
)
from engage.consultations.summary_pdf import export_summary
from engage.consultations.tallies import fewer_than_five
from engage.core import clock, page_shell
from engage.core.csv import csv_response
from engage.core.permissions import Permission
from engage.core.ratelimit import client_key
from engage.core.security import safe_path
from engage.errors import DomainError, NotFound
from engage.extensions import limiter
from engage.panels import services as panels

bp = Blueprint("consultations", __name__, url_prefix="/consultations")


def _user():
    return current_user if current_user.is_authenticated else None


# --- list and introduction -------------------------------------------------------------------


@bp.get("/")
def index():
    user = _user()
    consultations = services.visible_consultations(user)
    groups = {
        "open": [c for c in consultations if c.state == ConsultationState.OPEN],
        "published": [c for c in consultations if c.state == ConsultationState.PUBLISHED],
        "closed": [c for c in consultations if c.state == ConsultationState.CLOSED],
        "draft": [c for c in consultations if c.state == ConsultationState.DRAFT],
    }
    return render_template("consultations/index.html", groups=groups, now=clock.now(),
                           can_create_public=services.can_create_consultation(user),
                           manageable={c.id for c in consultations
                                       if services.can_manage(user, c)})


def detail_reads(person_id: int) -> list[tuple]:
    """The consultation page's own read, sent with the signed-in person's query
    (wiring.send_with_person): the page then asks the database once."""
    return [services.page_read(request.view_args["consultation_id"], person_id)]


@bp.get("/<int:consultation_id>")
def detail(consultation_id: int):
    user = _user()
    page = services.consultation_page(consultation_id, user)
    consultation, response = page.consultation, page.response
    facts = {
        "accepting": consultation.is_accepting_answers(),
        "not_yet_open": consultation.opens_later(),
        "can_manage": services.can_manage(user, consultation),
        "can_answer_here": page.may_answer,
    }
    # Kept (engage/core/page_shell.py) for everyone whose page would read the same.
    return page_shell.kept_page(
        "consultations/detail.html", key=(*facts.values(), *page.shown()),
        c=consultation, response=response, receipt=page.receipt, **facts,
        fills={"sent_at": clock.format_london(response.submitted_at if response else None),
               "saved_at": clock.format_london(response.updated_at if response else None)})


# --- answering --------


def _answer_page(consultation: Consultation, *, values, errors, problem=None, status=200,
                 form_token=None, preview=False, step: routing.Step | None = None):
    """The answer page: every section at once, or (with routing) one section of a person's
    route, carrying the answers of the others as hidden fields."""
    user = _user()
    response = services.own_response(user, consultation)
    questions = {q.id: q for q in consultation.ordered_questions()}
    error_list = [(error_anchor(questions[qid]), questions[qid].text, message)
                  for qid, message in errors.items() if qid in questions]
    parts = list(consultation.parts) if step is None else [p for p in [step.part] if p]
    shown = {q.id for p in parts for q in p.questions}
    hidden = [pair for qid, q in questions.items() if qid not in shown
              for pair in form_fields(q, values.get(qid))] if step else []
    values = {qid: values_for_page(q, values.get(qid)) for qid, q in questions.items()}
    return render_template(
        "consultations/answer.html", c=consultation, values=values, errors=errors,
        error_list=error_list, problem=problem, preview=preview, parts=parts, step=step,
        hidden=hidden,
        submitted=response is not None and response.status == ResponseStatus.SUBMITTED,
        can_save=user is not None and not preview,
        form_token=form_token or secrets.token_urlsafe(24),
        credit=panels.credit_for(user) if user and not consultation.is_anonymous else None,
        QuestionKind=QuestionKind, QuoteConsent=QuoteConsent,
        form=EmptyForm(),
    ), status


def _answer_limit() -> str:
    return current_app.config["CONSULTATION_ANSWER_LIMIT"]


@bp.route("/<int:consultation_id>/answer", methods=["GET", "POST"])
# Visitors without an account answer public anonymous consultations; a limit per client (a
# daily-rotating hash, never the address) stops one machine from flooding the results.
@limiter.limit(_answer_limit, key_func=client_key, methods=["POST"],
               exempt_when=lambda: current_user.is_authenticated)
def answer(consultation_id: int):
    user = _user()
    consultation = services.get_consultation(consultation_id, user)
    if consultation.state == ConsultationState.DRAFT:
        raise NotFound()  # staff see drafts through the preview
    if request.method == "GET":
        if services.has_receipt(user, consultation):
            return redirect(url_for("consultations.detail", consultation_id=consultation.id))
        try:
            services.check_can_answer(user, consultation)
        except DomainError as error:
            if error.status_code == 404:
                raise
            if error.status_code == 403 and user is None:
                return redirect(url_for("accounts.sign_in", next=request.path))
            flash(error.message, "info")
            return redirect(url_for("consultations.detail", consultation_id=consultation.id))
        response = services.own_response(user, consultation)
        values = services.values_from_answers(response.answers) if response else {}
        for value in values.values():
            if value["prefer_not_to_say"]:
                value["choices"].append("prefer_not_to_say")
        step = (routing.resume_step(consultation, {q: v["choices"] for q, v in values.items()})
                if routing.has_routes(consultation) else None)
        return _answer_page(consultation, values=values, errors={}, step=step)

    action = request.form.get("action", "submit")
    sending = action not in ("save", "continue", "back")
    answers, errors = services.parse_answers(consultation, request.form,
                                             enforce_required=action != "save")
    values = services.values_from_inputs(answers)
    token = request.form.get("form_token")
    paged = routing.has_routes(consultation)
    if paged and action in ("continue", "back"):
        return _next_section(consultation, answers, errors, values, token, action)
    errors = routing.errors_on_route(consultation, answers, errors)
    if errors:
        chosen = routing.choices_of(answers)
        step = routing.first_step_with_error(consultation, chosen, errors) if paged else None
        if step and step.part:
            errors = routing.errors_on_route(consultation, answers, errors, [step.part])
        return _answer_page(consultation, values=values, errors=errors, form_token=token,
                            status=400, step=step)
    answers = routing.skip_unrouted(consultation, answers)
    try:
        if sending:
            result = services.submit_answers(user, consultation, answers, form_token=token)
        else:
            services.save_draft(user, consultation, answers)
    except DomainError as error:
        if error.status_code == 404:
            raise
        step = (routing.current_step(consultation, routing.choices_of(answers),
                                     routing.find_part(consultation, request.form.get("section")))
                if paged else None)
        return _answer_page(consultation, values=values, errors={}, problem=error.message,
                            form_token=token, status=error.status_code, step=step)
    if not sending:
        flash(_("Your answers are saved. You can come back and finish them at any time before "
                "the consultation closes."), "success")
        return redirect(url_for("consultations.detail", consultation_id=consultation.id))
    if result.already_had_it:
        flash(_("We already had your answers, so nothing was sent twice. Thank you."), "info")
    return redirect(url_for("consultations.thanks", consultation_id=consultation.id))


def _next_section(consultation: Consultation, answers, errors, values, token, action):
    """Continue (the section's answers must be readable, and its required ones given) or Back
    (nothing is checked: what was typed is carried as it is)."""
    chosen = routing.choices_of(answers)
    here = routing.find_part(consultation, request.form.get("section"))
    if action == "back":
        return _answer_page(consultation, values=values, errors={}, form_token=token,
                            step=routing.step_before(consultation, chosen, here))
    step = routing.current_step(consultation, chosen, here)
    errors = routing.errors_on_route(consultation, answers, errors,
                                     [step.part] if step.part else [])
    if errors:
        return _answer_page(consultation, values=values, errors=errors, form_token=token,
                            status=400, step=step)
    return _answer_page(consultation, values=values, errors={}, form_token=token,
                        step=routing.step_after(consultation, chosen, step.part))


@bp.route("/<int:consultation_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(consultation_id: int):
    consultation = services.get_consultation(consultation_id, current_user)
    response = services.own_response(current_user, consultation)
    if response is None:
        raise NotFound()
    if request.method == "POST":
        services.withdraw_response(current_user, consultation)
        flash(_("Your answers have been withdrawn and deleted."), "success")
        return redirect(url_for("consultations.detail", consultation_id=consultation.id))
    return render_template("consultations/withdraw.html", c=consultation, response=response,
                           form=EmptyForm())


@bp.get("/<int:consultation_id>/thanks")
def thanks(consultation_id: int):
    consultation = services.get_consultation(consultation_id, _user())
    return render_template("consultations/thanks.html", c=consultation)


# --- answers entered on someone's behalf (staff) ----------------------------------------------


def _on_behalf_page(consultation: Consultation, form: OnBehalfForm, *, values=None, errors=None,
                    problem=None, status=200, form_token=None):
    """Every section on one page, whatever the routing: staff have the person's answers in
    front of them. The route is applied when the page is sent (services.answer_on_behalf)."""
    questions = {q.id: q for q in consultation.ordered_questions()}
    errors = errors or {}
    error_list = [(error_anchor(questions[qid]), questions[qid].text, message)
                  for qid, message in errors.items() if qid in questions]
    members = services.members_to_answer_for(consultation)
    form.member.choices = [("", _("Choose a person"))] + [(str(m.id), m.display_name)
                                                          for m in members]
    values = {qid: values_for_page(q, (values or {}).get(qid)) for qid, q in questions.items()}
    return render_template(
        "consultations/on_behalf.html", c=consultation, form=form, values=values,
        errors=errors, error_list=error_list, problem=problem, members=members,
        unavailable=services.on_behalf_unavailable(consultation),
        routed=routing.has_routes(consultation),
        form_token=form_token or secrets.token_urlsafe(24),
        QuestionKind=QuestionKind, QuoteConsent=QuoteConsent,
    ), status


@bp.route("/<int:consultation_id>/on-behalf", methods=["GET", "POST"])
@require(Permission.MANAGE_CONSULTATIONS)
def on_behalf(consultation_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    form = OnBehalfForm()
    if request.method == "GET":
        return _on_behalf_page(consultation, form)
    answers, errors = services.parse_answers(consultation, request.form, enforce_required=True)
    errors = routing.errors_on_route(consultation, answers, errors)
    values = services.values_from_inputs(answers)
    token = request.form.get("form_token")
    form_ok = form.validate()
    if not consultation.is_anonymous and not form.member.data:
        form.member.errors = [_("Choose the person you are entering answers for.")]
        form_ok = False
    if errors or not form_ok:
        return _on_behalf_page(consultation, form, values=values, errors=errors, status=400,
                               form_token=token)
    try:
        result = services.answer_on_behalf(
            current_user, consultation, answers, method=form.method.data,
            consented=form.consent.data, member_id=request.form.get("member", type=int),
            form_token=token)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return _on_behalf_page(consultation, form, values=values, problem=error.message,
                               status=error.status_code, form_token=token)
    flash(_on_behalf_done(result), "info" if result.already_had_it else "success")
    return redirect(url_for("consultations.on_behalf", consultation_id=consultation.id))


def _on_behalf_done(result: services.OnBehalfResult) -> str:
    if result.already_had_it:
        return _("This page had already been sent, so the answers are kept only once.")
    if result.member is not None:
        return _("%(name)s's answers are sent, marked as entered by staff %(method)s.",
                 name=result.member.display_name, method=result.method.label)
    return _("The person's answers are sent anonymously, marked only as entered by staff "
             "%(method)s. They join the results with other people's anonymous answers.",
             method=result.method.label)


# --- building (staff) ---------------------------------------------------------------------------


def _details(form: ConsultationForm) -> services.ConsultationDetails:
    return services.ConsultationDetails(
        title=form.title.data or "",
        summary=form.summary.data or "",
        background=form.background.data or "",
        content_note=form.content_note.data or "",
        opens_at=clock.from_london(form.opens_at.data),
        closes_at=clock.from_london(form.closes_at.data),
        is_anonymous=form.response_type.data == "anonymous",
    )


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.MANAGE_CONSULTATIONS)
def new():
    panel = None
    panel_id = request.args.get("panel_id", type=int)
    if panel_id is not None:
        panel = panels.get_panel(panel_id, current_user)
    if not services.can_create_consultation(current_user, panel):
        abort(404 if panel else 403)
    form = ConsultationForm()
    if request.method == "GET":
        start = clock.to_london(clock.now()).replace(second=0, microsecond=0, tzinfo=None)
        form.opens_at.data = start
        form.closes_at.data = start.replace(hour=17, minute=0) + timedelta(days=28)
    if form.validate_on_submit():
        try:
            consultation = services.create_consultation(current_user, panel, _details(form))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The consultation is saved as a draft. Now add its questions."), "success")
            return redirect(url_for("consultations.manage", consultation_id=consultation.id))
    return render_template("consultations/form.html", form=form, panel=panel, c=None)


@bp.route("/<int:consultation_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_CONSULTATIONS)
def edit(consultation_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    if consultation.state != ConsultationState.DRAFT:
        flash(_("Once a consultation is open its details stay as people saw them. You can "
                "extend the closing date here."), "info")
        return redirect(url_for("consultations.manage", consultation_id=consultation.id))
    form = ConsultationForm(obj=consultation if request.method == "GET" else None)
    if request.method == "GET":
        form.opens_at.data = clock.to_london(consultation.opens_at).replace(tzinfo=None)
        form.closes_at.data = clock.to_london(consultation.closes_at).replace(tzinfo=None)
        form.response_type.data = "anonymous" if consultation.is_anonymous else "named"
        form.content_note.data = consultation.content_note or ""
    if form.validate_on_submit():
        try:
            services.update_consultation(current_user, consultation, _details(form))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("consultations.manage", consultation_id=consultation.id))
    return render_template("consultations/form.html", form=form, panel=consultation.panel,
                           c=consultation)


def _manage_page(consultation: Consultation, *, part_form=None, question_form=None,
                 extend_form=None, problem=None, status=200, typed_routes=None):
    part_form = part_form or PartForm(formdata=None)
    question_form = question_form or QuestionForm(formdata=None)
    question_form.part_id.choices = [(p.id, p.title) for p in consultation.parts]
    extend_form = extend_form or ExtendForm(formdata=None)
    return render_template(
        "consultations/manage.html", c=consultation, part_form=part_form,
        question_form=question_form, extend_form=extend_form, problem=problem,
        editable=services.questions_editable(consultation),
        responses=services.response_count(consultation),
        waiting=services.waiting_count(consultation), batch_size=services.batch_size(),
        form=EmptyForm(), ROUTING_KINDS=ROUTING_KINDS, typed_routes=typed_routes or {},
    ), status


@bp.get("/<int:consultation_id>/manage")
@require(Permission.MANAGE_CONSULTATIONS)
def manage(consultation_id: int):
    return _manage_page(services.get_managed(consultation_id, current_user))


@bp.post("/<int:consultation_id>/parts")
@require(Permission.MANAGE_CONSULTATIONS)
def add_part(consultation_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    form = PartForm()
    if form.validate_on_submit():
        try:
            services.add_part(current_user, consultation, form.title.data, form.intro.data or "",
                              form.content_note.data or "")
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Part added."), "success")
            return redirect(url_for("consultations.manage", consultation_id=consultation.id))
    return _manage_page(consultation, part_form=form, status=400)


@bp.post("/<int:consultation_id>/parts/<int:part_id>/delete")
@require(Permission.MANAGE_CONSULTATIONS)
def delete_part(consultation_id: int, part_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    try:
        services.delete_part(current_user, consultation, part_id)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return _manage_page(consultation, problem=error.message, status=error.status_code)
    flash(_("Part removed."), "success")
    return redirect(url_for("consultations.manage", consultation_id=consultation.id))


@bp.post("/<int:consultation_id>/questions")
@require(Permission.MANAGE_CONSULTATIONS)
def add_question(consultation_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    form = QuestionForm()
    form.part_id.choices = [(p.id, p.title) for p in consultation.parts]
    if form.validate_on_submit():
        try:
            services.add_question(current_user, consultation, services.QuestionDetails(
                kind=form.kind.data, text=form.text.data, part_id=form.part_id.data,
                hint=form.hint.data or "", required=bool(form.required.data),
                max_length=form.max_length.data or 1500,
                options=(form.options.data or "").splitlines(),
                columns=(form.columns.data or "").splitlines(),
                scale_low_label=form.scale_low_label.data or "",
                scale_high_label=form.scale_high_label.data or "",
            ))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Question added."), "success")
            return redirect(url_for("consultations.manage", consultation_id=consultation.id,
                                    _anchor="questions"))
    return _manage_page(consultation, question_form=form, status=400)


@bp.post("/<int:consultation_id>/questions/<int:question_id>/routes")
@require(Permission.MANAGE_CONSULTATIONS)
def set_routes(consultation_id: int, question_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    wanted = {name.removeprefix("route-"): value for name, value in request.form.items()
              if name.startswith("route-")}
    try:
        services.set_routes(current_user, consultation, question_id, wanted)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return _manage_page(consultation, problem=error.message, status=error.status_code,
                            typed_routes={question_id: wanted})
    flash(_("Routes saved. Preview the consultation to follow each route."), "success")
    return redirect(url_for("consultations.manage", consultation_id=consultation.id,
                            _anchor=f"routes-{question_id}"))


@bp.post("/<int:consultation_id>/questions/<int:question_id>/delete")
@require(Permission.MANAGE_CONSULTATIONS)
def delete_question(consultation_id: int, question_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    try:
        services.delete_question(current_user, consultation, question_id)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return _manage_page(consultation, problem=error.message, status=error.status_code)
    flash(_("Question removed."), "success")
    return redirect(url_for("consultations.manage", consultation_id=consultation.id))


_STATE_CHANGES = {
    "open": (services.open_consultation, "The consultation is open. Panel members will be "
             "told about it."),
    "close": (services.close_consultation, "The consultation is closed. No more answers will "
              "be accepted."),
    "publish": (services.publish_results, "The results are published."),
}


@bp.post("/<int:consultation_id>/<any(open, close, publish):change>")
@require(Permission.MANAGE_CONSULTATIONS)
def change_state(consultation_id: int, change: str):
    consultation = services.get_managed(consultation_id, current_user)
    action, message = _STATE_CHANGES[change]
    try:
        action(current_user, consultation)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return _manage_page(consultation, problem=error.message, status=error.status_code)
    flash(_(message), "success")
    return redirect(url_for("consultations.manage", consultation_id=consultation.id))


@bp.post("/<int:consultation_id>/extend")
@require(Permission.MANAGE_CONSULTATIONS)
def extend(consultation_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    form = ExtendForm()
    if form.validate_on_submit():
        try:
            services.extend_closing(current_user, consultation,
                                    clock.from_london(form.closes_at.data))
        except DomainError as error:
            form.closes_at.errors = [*form.closes_at.errors, error.message]
        else:
            flash(_("The closing date has been extended."), "success")
            return redirect(url_for("consultations.manage", consultation_id=consultation.id))
    return _manage_page(consultation, extend_form=form, status=400)


@bp.get("/<int:consultation_id>/preview")
@require(Permission.MANAGE_CONSULTATIONS)
def preview(consultation_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    return _answer_page(consultation, values={}, errors={}, preview=True)


# --- results ------------------------------------------------------------------------------------


@bp.get("/<int:consultation_id>/responses")
@require(Permission.MANAGE_CONSULTATIONS)
def responses(consultation_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    tag = request.args.get("tag") or None
    consent = request.args.get("consent") or None
    if consent not in (None, *QuoteConsent):
        consent = None
    question_id = request.args.get("question", type=int)
    return render_template(
        "consultations/responses.html", c=consultation,
        results=services.results(consultation, published=False, tag=tag, consent=consent,
                                 question_id=question_id),
        count=services.response_count(consultation), tags=services.all_tags(consultation),
        entered_by_staff=services.entered_by_staff_line(services.entered_by_staff(consultation)),
        tag=tag, consent=consent, question_id=question_id, QuoteConsent=QuoteConsent,
        tag_form=TagForm(formdata=None), form=EmptyForm(),
        **services.responses_page_extras(consultation, current_user),
    )


@bp.post("/<int:consultation_id>/answers/<answer_id>/tags")
@require(Permission.MANAGE_CONSULTATIONS)
def tag_answer(consultation_id: int, answer_id: str):
    consultation = services.get_managed(consultation_id, current_user)
    form = TagForm()
    target = (safe_path(request.form.get("back"),
                        under=f"/consultations/{consultation.id}/responses")
              or url_for("consultations.responses", consultation_id=consultation.id))
    if not form.validate_on_submit():
        flash(" ".join(str(e) for e in form.label.errors) or _("Enter a tag."), "error")
        return redirect(target)
    services.tag_answer(current_user, consultation, answer_id, form.label.data)
    flash(_("Tag added."), "success")
    return redirect(target)


@bp.post("/<int:consultation_id>/answers/<answer_id>/tags/remove")
@require(Permission.MANAGE_CONSULTATIONS)
def untag_answer(consultation_id: int, answer_id: str):
    consultation = services.get_managed(consultation_id, current_user)
    services.untag_answer(current_user, consultation, answer_id, request.form.get("label", ""))
    flash(_("Tag removed."), "success")
    return redirect(url_for("consultations.responses", consultation_id=consultation.id))


@bp.get("/<int:consultation_id>/export.csv")
@require(Permission.MANAGE_CONSULTATIONS)
def export(consultation_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    rows = services.export_rows(current_user, consultation)
    return csv_response(f"consultation-{consultation.id}-answers.csv", services.CSV_HEADER, rows)


@bp.get("/<int:consultation_id>/summary.pdf")
@require(Permission.MANAGE_CONSULTATIONS)
def summary(consultation_id: int):
    consultation = services.get_managed(consultation_id, current_user)
    body = export_summary(current_user, consultation)
    return current_app.response_class(body, mimetype="application/pdf", headers={
        "Content-Disposition":
            f'attachment; filename="consultation-{consultation.id}-summary.pdf"'})


@bp.get("/<int:consultation_id>/results")
def results(consultation_id: int):
    user = _user()
    consultation = services.get_consultation(consultation_id, user)
    if not services.can_see_results(user, consultation):
        raise NotFound()
    return render_template(
        "consultations/results.html", c=consultation,
        results=services.results(consultation, published=True),
        count=services.response_count(consultation), credit_line=services.credit_line,
        fewer_than_five=fewer_than_five,
        entered_by_staff=services.entered_by_staff_line(services.entered_by_staff(consultation),
                                                        published=True),
    )
