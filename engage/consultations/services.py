"""Consultation use cases: building, opening and closing, answering, results and export.

Services add and flush; the view or task commits once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup
from sqlalchemy import bindparam, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from engage.consultations import routing
from engage.consultations.answers import (
    AnswerInput,
    parse_question,
    required_message,
)
from engage.consultations.models import (
    DEFAULT_MATRIX_COLUMNS,
    OPTION_KINDS,
    PREFER_NOT_TO_SAY,
    AnonymousAnswer,
    AnonymousResponse,
    Answer,
    Consultation,
    ConsultationPart,
    ConsultationState,
    ParticipationReceipt,
    Question,
    QuestionKind,
    QuoteConsent,
    Response,
    ResponseStatus,
    random_id,
)
from engage.consultations.signals import anonymous_snapshots_added, took_part
from engage.consultations.tallies import (
    MatrixRow,
    OptionCount,
    RankedOption,
    fewer_than_five,
    tally,
)
from engage.core import audit, clock, inbox, wiring
from engage.core.crypto import keyed_hash
from engage.core.entry_method import EntryMethod, entry_method_or_none
from engage.core.notify import Message, notify
from engage.core.permissions import Permission, Role, can
from engage.core.suppression import THRESHOLD
from engage.core.unit_of_work import atomic
from engage.core.wiring import Hook
from engage.db import attached_row, plain_columns
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.extensions import db
from engage.panels import services as panels
from engage.panels.models import Panel
from engage.panels.richtext import sanitise

MAX_OPTIONS = 20
MAX_RANKED = 10
MAX_COLUMNS = 7
MAX_TAG_LENGTH = 40


# --- who may do what --------


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def can_create_consultation(user, panel: Panel | None = None) -> bool:
    if not can(user, Permission.MANAGE_CONSULTATIONS):
        return False
    return panel is None or panels.can_manage_panel(user, panel)


def can_manage(user, consultation: Consultation) -> bool:
    """Panel consultations: the panel's facilitators and programme leads. Public ones: the
    person who made it and programme leads."""
    if not can(user, Permission.MANAGE_CONSULTATIONS):
        return False
    if consultation.panel is not None:
        return panels.can_manage_panel(user, consultation.panel)
    return user.has_role(Role.PROGRAMME_LEAD) or consultation.created_by_id == user.id


def can_see(user, consultation: Consultation, *, on_panel: bool | None = None) -> bool:
    """`on_panel`: whether the person holds a place on the consultation's panel, when the
    caller has already asked."""
    if can_manage(user, consultation):
        return True
    if consultation.state == ConsultationState.DRAFT:
        return False
    if consultation.panel is not None:
        return consultation.panel.is_member(user) if on_panel is None else on_panel
    return True


def can_see_results(user, consultation: Consultation) -> bool:
    return consultation.state == ConsultationState.PUBLISHED and can_see(user, consultation)



def get_consultation(consultation_id: int, user) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or not can_see(user, consultation):
        raise NotFound()
    return consultation


USER_ID = bindparam("user_id")


@dataclass(frozen=True)
class ConsultationPage:
    consultation: Consultation
    response: Response | None  # the person's own, without its answers
    receipt: bool  # they took part anonymously
    may_answer: bool  # a public consultation, or they hold a place on its panel

    def shown(self) -> tuple:
        """Everything the page can show, as plain values, to key its kept copy on
        (consultations/views.py): every column of the consultation, its panel's name, and
        whether the person has answers (sent or saved, and how they were entered) or a receipt.
        The times they sent or saved them are not here: the page has them put in."""
        consultation, response = self.consultation, self.response
        return (*(getattr(consultation, column.key) for column in plain_columns(Consultation)),
                consultation.panel.name if consultation.panel else None,
                response.status if response else None,
                response.entry_method if response else None, self.receipt)



@cache
def _page_query():
    """The consultation (with its panel, without its questions), the person's own response
    and whether they hold a receipt, in one query, as plain columns (their encrypted ones are
    read only if something asks for them)."""
    own = (Response.consultation_id == Consultation.id) & (Response.user_id == USER_ID)
    receipt = exists().where(ParticipationReceipt.consultation_id == Consultation.id,
                             ParticipationReceipt.user_id == USER_ID)
    return (select(*(column for model in _PAGE_MODELS for column in plain_columns(model)),
                   receipt)
            .outerjoin(Panel, Panel.id == Consultation.panel_id)
            .outerjoin(Response, own)
            .where(Consultation.id == bindparam("consultation_id")))


_PAGE_MODELS = (Consultation, Panel, Response)


def consultation_page(consultation_id: int, user) -> ConsultationPage:
    """What the consultation's own page needs, for someone allowed to see it. Asked on every
    visit to the page (kept once drawn), so it is one plain read (engage.db.plain_rows), sent
    with the person's own query when they are signed in (views.detail_reads), and the objects
    are put in the session as if the ORM had loaded them."""
    [rows] = wiring.rows_sent_with_person(
        db.session, page_read(consultation_id, user.id if _signed_in(user) else None))
    if not rows:
        raise NotFound()
    consultation, panel, response, receipt = _page_objects(rows[0])
    may_answer = panel is None or panel.is_member(user)  # asked once, for both uses
    if not can_see(user, consultation, on_panel=may_answer):
        raise NotFound()
    return ConsultationPage(consultation, response, receipt, may_answer)


def page_read(consultation_id: int, user_id: int | None) -> tuple:
    return _page_query(), {"consultation_id": consultation_id, "user_id": user_id}


def _page_objects(row) -> list:
    found, start = [], 0
    for model in _PAGE_MODELS:
        columns = plain_columns(model)
        found.append(attached_row(db.session, model, columns, row[start:start + len(columns)]))
        start += len(columns)
    return [*found, row[start]]


def get_managed(consultation_id: int, user) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or not can_manage(user, consultation):
        raise NotFound()
    return consultation


def visible_consultations(user) -> list[Consultation]:
    rows = db.session.scalars(select(Consultation).order_by(Consultation.closes_at.desc()))
    return [c for c in rows if can_see(user, c)]


# --- building a consultation --------


@dataclass
class ConsultationDetails:
    title: str
    opens_at: datetime
    closes_at: datetime
    summary: str = ""
    background: str = ""
    content_note: str = ""
    is_anonymous: bool = False


def _apply_details(consultation: Consultation, details: ConsultationDetails) -> None:
    if not details.title.strip():
        raise ValidationFailed(_("Enter a title."))
    if details.closes_at <= details.opens_at:
        raise ValidationFailed(_("The closing time must be after the opening time."))
    consultation.title = details.title.strip()
    consultation.summary = details.summary.strip()
    consultation.background = details.background
    consultation.background_html = sanitise(details.background)
    consultation.content_note = details.content_note.strip() or None
    consultation.opens_at = details.opens_at
    consultation.closes_at = details.closes_at
    consultation.is_anonymous = details.is_anonymous


@atomic
def create_consultation(actor, panel: Panel | None, details: ConsultationDetails) -> Consultation:
    if not can_create_consultation(actor, panel):
        raise NotFound() if panel is not None else NotAllowed()
    consultation = Consultation(panel_id=panel.id if panel else None, created_by_id=actor.id,
                                state=ConsultationState.DRAFT)
    _apply_details(consultation, details)
    consultation.parts.append(ConsultationPart(position=1, title=_("Your views")))
    db.session.add(consultation)
    db.session.flush()
    audit.record("consultation.created", actor_id=actor.id, subject_type="consultation",
                 subject_id=consultation.id)
    return consultation


@atomic
def update_consultation(actor, consultation: Consultation,
                        details: ConsultationDetails) -> None:
    if not can_manage(actor, consultation):
        raise NotFound()
    if consultation.state != ConsultationState.DRAFT:
        raise InvalidState(_("Only drafts can be changed like this. While a consultation is "
                             "open you can extend its closing date."))
    _apply_details(consultation, details)
    db.session.flush()
    audit.record("consultation.updated", actor_id=actor.id, subject_type="consultation",
                 subject_id=consultation.id)


def has_answers(consultation: Consultation) -> bool:
    """True once anyone has started answering (a saved draft, or anonymous answers still
    waiting to be added, count)."""
    return bool(db.session.scalar(select(
        exists().where(Response.consultation_id == consultation.id)
        | exists().where(AnonymousResponse.consultation_id == consultation.id)
    ))) or waiting_count(consultation) > 0


def questions_editable(consultation: Consultation) -> bool:
    if consultation.state == ConsultationState.DRAFT:
        return True
    return consultation.state == ConsultationState.OPEN and not has_answers(consultation)


def _check_editable(actor, consultation: Consultation) -> None:
    if not can_manage(actor, consultation):
        raise NotFound()
    if not questions_editable(consultation):
        raise InvalidState(_("The questions cannot be changed now, because people have "
                             "started answering. Changing them would change what they "
                             "agreed to."))


@atomic
def add_part(actor, consultation: Consultation, title: str, intro: str = "",
             content_note: str = "") -> ConsultationPart:
    _check_editable(actor, consultation)
    if not title.strip():
        raise ValidationFailed(_("Enter a title for the part."))
    position = max((p.position for p in consultation.parts), default=0) + 1
    part = ConsultationPart(title=title.strip(), intro=intro.strip(),
                            content_note=content_note.strip() or None, position=position)
    consultation.parts.append(part)
    if part.content_note:
        for question in part.questions:
            question.required = False
    db.session.flush()
    audit.record("consultation.part_added", actor_id=actor.id, subject_type="consultation",
                 subject_id=consultation.id)
    return part


def _part_of(consultation: Consultation, part_id: int) -> ConsultationPart:
    for part in consultation.parts:
        if part.id == part_id:
            return part
    raise ValidationFailed(_("Choose which part the question belongs to."))


@dataclass
class QuestionDetails:
    kind: str
    text: str
    part_id: int
    hint: str = ""
    required: bool = False
    max_length: int = 1500
    options: list[str] = field(default_factory=list)
    scale_low_label: str = ""
    scale_high_label: str = ""
    columns: list[str] = field(default_factory=list)


def _clean_options(kind: str, lines: list[str]) -> list[str]:
    options = [o.strip() for o in lines if o.strip()]
    if kind not in OPTION_KINDS:
        return []
    if kind == QuestionKind.MATRIX:
        if not options:
            raise ValidationFailed(_("Enter the statements to rate, one on each line."))
    elif len(options) < 2:
        raise ValidationFailed(_("Enter at least two options, one on each line."))
    limit = MAX_RANKED if kind == QuestionKind.RANKING else MAX_OPTIONS
    if len(options) > limit:
        raise ValidationFailed(_("Use %(n)s options or fewer.", n=limit))
    if len({o.lower() for o in options}) != len(options):
        raise ValidationFailed(_("Each option must be different."))
    return options


def _clean_columns(kind: str, lines: list[str]) -> list[str]:
    if kind != QuestionKind.MATRIX:
        return []
    columns = [c.strip() for c in lines if c.strip()] or list(DEFAULT_MATRIX_COLUMNS)
    if not 2 <= len(columns) <= MAX_COLUMNS:
        raise ValidationFailed(_("Give a matrix from 2 to %(n)s ratings, one on each line.",
                                 n=MAX_COLUMNS))
    if len({c.lower() for c in columns}) != len(columns):
        raise ValidationFailed(_("Each rating must be different."))
    return columns


@atomic
def add_question(actor, consultation: Consultation, details: QuestionDetails) -> Question:
    _check_editable(actor, consultation)
    part = _part_of(consultation, details.part_id)
    if details.kind not in set(QuestionKind):
        raise ValidationFailed(_("Choose a type of question."))
    if not details.text.strip():
        raise ValidationFailed(_("Enter the question."))
    options = _clean_options(details.kind, details.options)
    columns = _clean_columns(details.kind, details.columns)
    if details.kind == QuestionKind.FREE_TEXT and not 1 <= details.max_length <= 10000:
        raise ValidationFailed(_("Choose a length limit between 1 and 10,000 characters."))
    question = Question(
        consultation_id=consultation.id,
        kind=details.kind,
        text=details.text.strip(),
        hint=details.hint.strip(),
        # Questions after a content note can always be skipped, so they are never required.
        required=bool(details.required) and not part.content_note,
        max_length=details.max_length if details.kind == QuestionKind.FREE_TEXT else 1500,
        options=[{"key": str(i + 1), "label": label} for i, label in enumerate(options)],
        columns=[{"key": str(i + 1), "label": label} for i, label in enumerate(columns)],
        scale_low_label=details.scale_low_label.strip() if details.kind == QuestionKind.SCALE
        else "",
        scale_high_label=details.scale_high_label.strip() if details.kind == QuestionKind.SCALE
        else "",
        position=max((q.position for q in part.questions), default=0) + 1,
    )
    part.questions.append(question)
    db.session.flush()
    audit.record("consultation.question_added", actor_id=actor.id,
                 subject_type="consultation", subject_id=consultation.id)
    return question


@atomic
def delete_question(actor, consultation: Consultation, question_id: int) -> None:
    _check_editable(actor, consultation)
    for part in consultation.parts:
        for question in part.questions:
            if question.id == question_id:
                part.questions.remove(question)
                db.session.flush()
                audit.record("consultation.question_removed", actor_id=actor.id,
                             subject_type="consultation", subject_id=consultation.id)
                return
    raise NotFound()


@atomic
def set_routes(actor, consultation: Consultation, question_id: int,
               wanted: dict[str, str]) -> Question:
    """Where each option of a single choice or dropdown question sends people next
    (routing.clean_routes says what is allowed)."""
    _check_editable(actor, consultation)
    question = next((q for q in consultation.ordered_questions() if q.id == question_id), None)
    if question is None:
        raise NotFound()
    question.routes = routing.clean_routes(consultation, question, wanted)
    db.session.flush()
    audit.record("consultation.routes_set", actor_id=actor.id, subject_type="consultation",
                 subject_id=consultation.id)
    return question


@atomic
def delete_part(actor, consultation: Consultation, part_id: int) -> None:
    _check_editable(actor, consultation)
    part = _part_of(consultation, part_id)
    if part.questions:
        raise InvalidState(_("Remove the questions in this part first."))
    if len(consultation.parts) == 1:
        raise InvalidState(_("A consultation needs at least one part."))
    consultation.parts.remove(part)
    db.session.flush()


# --- states --------


def _move(consultation: Consultation, from_state: str, message: str, **values) -> None:
    result = db.session.execute(
        update(Consultation)
        .where(Consultation.id == consultation.id, Consultation.state == from_state)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvalidState(message)
    db.session.refresh(consultation)


@atomic
def open_consultation(actor, consultation: Consultation) -> None:
    if not can_manage(actor, consultation):
        raise NotFound()
    if not consultation.ordered_questions():
        raise InvalidState(_("Add at least one question before opening the consultation."))
    if consultation.closes_at <= clock.now():
        raise InvalidState(_("The closing time has already passed. Change it before opening."))
    _move(consultation, ConsultationState.DRAFT, _("This consultation is not a draft any more."),
          state=ConsultationState.OPEN, opened_at=clock.now())
    audit.record("consultation.opened", actor_id=actor.id, subject_type="consultation",
                 subject_id=consultation.id)


@atomic
def extend_closing(actor, consultation: Consultation, new_closes_at: datetime) -> None:
    if not can_manage(actor, consultation):
        raise NotFound()
    if consultation.state != ConsultationState.OPEN:
        raise InvalidState(_("Only open consultations can be extended."))
    if new_closes_at <= consultation.closes_at:
        raise ValidationFailed(_("Choose a closing time later than the current one (%(when)s).",
                                 when=clock.to_london(consultation.closes_at)
                                 .strftime("%-d %B %Y at %H:%M")))
    _move(consultation, ConsultationState.OPEN, _("This consultation is not open any more."),
          closes_at=new_closes_at, week_reminder_sent_at=None, day_reminder_sent_at=None)
    audit.record("consultation.extended", actor_id=actor.id, subject_type="consultation",
                 subject_id=consultation.id)


@atomic
def close_consultation(actor, consultation: Consultation) -> None:
    if not can_manage(actor, consultation):
        raise NotFound()
    _move(consultation, ConsultationState.OPEN, _("This consultation is not open."),
          state=ConsultationState.CLOSED, closed_at=clock.now())
    _discard_anonymous_drafts(consultation)
    settle_anonymous_answers(consultation)
    audit.record("consultation.closed", actor_id=actor.id, subject_type="consultation",
                 subject_id=consultation.id)


@atomic
def publish_results(actor, consultation: Consultation) -> None:
    if not can_manage(actor, consultation):
        raise NotFound()
    _move(consultation, ConsultationState.CLOSED,
          _("Results can be published once the consultation has closed, and only once."),
          state=ConsultationState.PUBLISHED, published_at=clock.now())
    audit.record("consultation.results_published", actor_id=actor.id,
                 subject_type="consultation", subject_id=consultation.id)


def close_due_consultations() -> int:
    """Close open consultations whose closing time has passed (the worker calls this)."""
    due = list(db.session.scalars(select(Consultation).where(
        Consultation.state == ConsultationState.OPEN, Consultation.closes_at <= clock.now())))
    closed = 0
    for consultation in due:
        result = db.session.execute(
            update(Consultation)
            .where(Consultation.id == consultation.id,
                   Consultation.state == ConsultationState.OPEN)
            .values(state=ConsultationState.CLOSED, closed_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            _discard_anonymous_drafts(consultation)
            settle_anonymous_answers(consultation)
            audit.record("consultation.closed", subject_type="consultation",
                         subject_id=consultation.id, by="schedule")
            closed += 1
    return closed


def delete_responses(*conditions) -> None:
    """Delete named responses and their answers. The answers are deleted explicitly: SQLite
    does not apply ON DELETE CASCADE unless foreign keys are switched on, and a person's words
    must never be left behind."""
    ids = select(Response.id).where(*conditions).scalar_subquery()
    db.session.execute(delete(Answer).where(Answer.response_id.in_(ids))
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(Response).where(*conditions)
                       .execution_options(synchronize_session=False))
    db.session.expire_all()


def _discard_anonymous_drafts(consultation: Consultation) -> None:
    """Unsent drafts of an anonymous consultation carry a name; once it closes they can never
    be sent, so they are deleted."""
    if consultation.is_anonymous:
        delete_responses(Response.consultation_id == consultation.id)


# --- answering --------


def parse_answers(consultation: Consultation, formdata, *, enforce_required: bool,
                  questions: list[Question] | None = None
                  ) -> tuple[dict[int, AnswerInput], dict[int, str]]:
    """Read the answer page's fields (all questions, or those of one section). Returns the
    answers and a message per question with a problem. Unknown choices and over-long text are
    always errors; missing required answers only when sending (a saved draft may be
    incomplete)."""
    answers: dict[int, AnswerInput] = {}
    errors: dict[int, str] = {}
    for question in questions if questions is not None else consultation.ordered_questions():
        answer, error = parse_question(question, formdata)
        if error is None and enforce_required:
            error = required_message(question, answer)
        if error:
            errors[question.id] = error
        answers[question.id] = answer
    return answers, errors


def values_from_answers(rows) -> dict[int, dict[str, Any]]:
    return {row.question_id: row.as_values() for row in rows}


def values_from_inputs(answers: dict[int, AnswerInput]) -> dict[int, dict[str, Any]]:
    return {qid: {"choices": a.choices + ([PREFER_NOT_TO_SAY] if a.prefer_not_to_say else []),
                  "text": a.text, "prefer_not_to_say": a.prefer_not_to_say,
                  "consent": a.consent, "typed": a.typed} for qid, a in answers.items()}


def own_response(user, consultation: Consultation) -> Response | None:
    if not _signed_in(user):
        return None
    return db.session.scalar(select(Response).where(Response.consultation_id == consultation.id,
                                                    Response.user_id == user.id))


def has_receipt(user, consultation: Consultation) -> bool:
    if not _signed_in(user):
        return False
    return db.session.get(ParticipationReceipt, (consultation.id, user.id)) is not None


def has_taken_part(user, consultation: Consultation) -> bool:
    if has_receipt(user, consultation):
        return True
    response = own_response(user, consultation)
    return response is not None and response.status == ResponseStatus.SUBMITTED


def check_can_answer(user, consultation: Consultation) -> None:
    """Who may answer, and when. The messages are shown above the answers the person typed."""
    if consultation.panel is not None and not consultation.panel.is_member(user):
        raise NotFound()
    if not consultation.is_public and not _signed_in(user):
        raise NotAllowed(_("Please sign in to answer."))
    if not consultation.is_anonymous and not _signed_in(user):
        raise NotAllowed(_("This consultation asks for your name, so please sign in to answer. "
                           "Nothing you typed has been saved."))
    now = clock.now()
    when = clock.to_london
    if consultation.state == ConsultationState.DRAFT:
        raise NotFound()
    if consultation.state != ConsultationState.OPEN or consultation.closes_at <= now:
        raise InvalidState(_(
            "This consultation closed on %(when)s, so we cannot accept answers any more. "
            "What you typed is still on this page if you want to copy it.",
            when=when(min(consultation.closed_at or consultation.closes_at,
                          consultation.closes_at)).strftime("%-d %B %Y at %H:%M")))
    if consultation.opens_at > now:
        raise InvalidState(_(
            "This consultation opens on %(when)s, so we cannot accept answers yet. What you "
            "typed is still on this page: you could copy it and come back then.",
            when=when(consultation.opens_at).strftime("%-d %B %Y at %H:%M")))


def _response_for(user, consultation: Consultation) -> Response:
    """The person's one response row, created safely even if two tabs send at once."""
    response = own_response(user, consultation)
    if response is not None:
        return response
    response = Response(consultation_id=consultation.id, user_id=user.id,
                        status=ResponseStatus.DRAFT)
    try:
        with db.session.begin_nested():
            db.session.add(response)
    except IntegrityError:
        response = own_response(user, consultation)
        if response is None:
            raise
    return response


def _write_answers(response, answers: dict[int, AnswerInput], answer_class) -> None:
    existing = {a.question_id: a for a in response.answers}
    for question_id, answer in answers.items():
        row = existing.get(question_id)
        if answer.is_empty:
            if row is not None:
                response.answers.remove(row)
            continue
        if row is None:
            row = answer_class(question_id=question_id, tags=[])
            response.answers.append(row)
        row.choices = list(answer.choices)
        row.text = answer.text
        row.prefer_not_to_say = answer.prefer_not_to_say
        row.quote_consent = answer.consent


@atomic
def save_draft(user, consultation: Consultation, answers: dict[int, AnswerInput]) -> Response:
    """Save and come back later (people with an account)."""
    if not _signed_in(user):
        raise NotAllowed(_("Saving to come back later needs an account."))
    check_can_answer(user, consultation)
    if has_receipt(user, consultation):
        raise InvalidState(_("You have already sent your answers to this consultation. Thank "
                             "you."))
    response = _response_for(user, consultation)
    if response.status == ResponseStatus.SUBMITTED:
        raise InvalidState(_("You have already sent your answers. To change them, use "
                             "\"Update my answers\"."))
    _write_answers(response, answers, Answer)
    response.updated_at = clock.now()
    db.session.flush()
    return response


def withdraw_response(user, consultation: Consultation) -> None:
    """Take back named answers (or an unsent draft) while the consultation is still open."""
    response = own_response(user, consultation)
    if response is None:
        raise NotFound()
    if not consultation.is_accepting_answers():
        raise InvalidState(_("This consultation has closed, so answers can no longer be "
                             "withdrawn here. Please contact the panel's facilitator: they will "
                             "help."))
    delete_responses(Response.id == response.id)
    audit.record("consultation.answers_withdrawn", actor_id=user.id,
                 subject_type="consultation", subject_id=consultation.id)


@dataclass
class SubmitResult:
    already_had_it: bool = False
    anonymous: bool = False


@atomic
def submit_answers(user, consultation: Consultation, answers: dict[int, AnswerInput], *,
                   form_token: str | None = None) -> SubmitResult:
    check_can_answer(user, consultation)
    if consultation.is_anonymous:
        return _submit_anonymous(user, consultation, answers, form_token)
    response = _response_for(user, consultation)
    first_time = response.status != ResponseStatus.SUBMITTED
    _write_answers(response, answers, Answer)
    now = clock.now()
    response.status = ResponseStatus.SUBMITTED
    response.updated_at = now
    response.entry_method = None  # the answers are now the person's own, as they sent them
    if first_time:
        response.submitted_at = now
        took_part.send(consultation, user=user)
    db.session.flush()
    audit.record("consultation.answered" if first_time else "consultation.answer_updated",
                 actor_id=user.id, subject_type="consultation", subject_id=consultation.id)
    return SubmitResult()


ANONYMOUS_ANSWERS = "consultation.anonymous_answers"  # the kind of sealed envelope
# Equality's sealed copy of a person's answers, taken when they send anonymous answers
# (a function (user) -> str | None); recorded through signals.anonymous_snapshots_added.
ANONYMOUS_SNAPSHOT = Hook("consultations.anonymous_snapshot")
DEFAULT_BATCH_SIZE = 5


def _submit_anonymous(user, consultation: Consultation, answers: dict[int, AnswerInput],
                      form_token: str | None) -> SubmitResult:
    """Anonymous answers are sealed in an envelope, not written as anonymous rows: the
    worker adds them to the results in shuffled batches (add_waiting_answers), so nothing in
    the database lines them up with this person's receipt. No audit event: the worker counts
    them by day."""
    today = clock.today_london()
    payload: dict[str, Any] = {"day": today.isoformat(), "answers": _sealable(answers)}
    lookup = None
    if _signed_in(user):
        # The receipt's primary key (consultation, person) makes a second send impossible.
        try:
            with db.session.begin_nested():
                db.session.add(ParticipationReceipt(consultation_id=consultation.id,
                                                    user_id=user.id, took_part_on=today))
        except IntegrityError:
            return SubmitResult(already_had_it=True, anonymous=True)
        # What equality keeps about who took part travels sealed with the answers, and is
        # recorded when they are added, apart from them (ANONYMOUS_SNAPSHOT).
        for sealed in ANONYMOUS_SNAPSHOT.results(user)[:1]:
            payload["equality"] = sealed
        delete_responses(Response.consultation_id == consultation.id,
                         Response.user_id == user.id)
    else:
        return _seal_page(consultation, payload, form_token)
    try:
        inbox.seal(ANONYMOUS_ANSWERS, payload, scope=str(consultation.id), lookup=lookup)
    except inbox.AlreadySealed:
        # The same page sent twice (a double click or the back button): we already have it.
        return SubmitResult(already_had_it=True, anonymous=True)
    return SubmitResult(anonymous=True)


def _seal_page(consultation: Consultation, payload: dict[str, Any],
               form_token: str | None) -> SubmitResult:
    """Seal anonymous answers sent from a page with no person attached (a visitor without an
    account, or staff entering them on someone's behalf): only the page's token, as a keyed
    hash, so the same page sent twice is stored once."""
    if not form_token or len(form_token) > 64:
        raise ValidationFailed(_("The page had expired, so nothing was saved. Please "
                                 "reload the page and send your answers again."))
    lookup = keyed_hash("consultation-answer-page", form_token)
    if db.session.scalar(select(exists().where(AnonymousResponse.form_token == lookup))):
        return SubmitResult(already_had_it=True, anonymous=True)
    payload["page"] = lookup
    try:
        inbox.seal(ANONYMOUS_ANSWERS, payload, scope=str(consultation.id), lookup=lookup)
    except inbox.AlreadySealed:
        # The same page sent twice (a double click or the back button): we already have it.
        return SubmitResult(already_had_it=True, anonymous=True)
    return SubmitResult(anonymous=True)


def _sealable(answers: dict[int, AnswerInput]) -> dict[str, dict[str, Any]]:
    return {str(qid): {"choices": list(a.choices), "text": a.text,
                       "prefer_not_to_say": a.prefer_not_to_say, "consent": a.consent}
            for qid, a in answers.items() if not a.is_empty}


def keep_without_name(response: Response) -> None:
    """A closed account's sent answers stay in the results without the name: they are sealed
    like anonymous answers and added by the worker, not written in step with the closure.
    They can no longer be quoted, because the person can no longer be asked or credited."""
    withdrawn = {QuoteConsent.PUBLIC, QuoteConsent.COMMISSIONER}
    sent = response.submitted_at or response.updated_at
    answers = {str(a.question_id): {
        "choices": list(a.choices or []), "text": a.text,
        "prefer_not_to_say": a.prefer_not_to_say,
        "consent": QuoteConsent.INTERNAL if a.quote_consent in withdrawn else a.quote_consent,
        "tags": list(a.tags or [])} for a in response.answers}
    payload = {"day": clock.to_london(sent).date().isoformat(), "answers": answers,
               "kept": True}
    if response.entry_method:
        payload["method"] = str(response.entry_method)
    inbox.seal(ANONYMOUS_ANSWERS, payload, scope=str(response.consultation_id))


# --- answers entered by staff on someone's behalf --------

CONSENT_NEEDED = ("Tick the box to confirm the person agreed to you entering their answers for "
                  "them. If they have not agreed, please do not enter them.")
METHOD_NEEDED = "Choose how the person gave you their answers."


def on_behalf_unavailable(consultation: Consultation) -> str | None:
    """Why answers cannot be entered for anyone here now, or None when they can."""
    if not consultation.is_anonymous and consultation.panel is None:
        return _("This public consultation asks for names, so people answer it with their own "
                 "account. You can enter answers for someone in panel consultations and in "
                 "anonymous ones.")
    if not consultation.is_accepting_answers():
        return _("This consultation is not open for answers at the moment, so answers cannot "
                 "be entered for anyone.")
    return None


def members_to_answer_for(consultation: Consultation) -> list[Any]:
    """Named panel consultations: the panel's members (including those taking a break) who
    have not sent answers yet. Anonymous consultations: nobody is chosen."""
    if consultation.is_anonymous or consultation.panel is None:
        return []
    answered = took_part_ids(consultation)
    return [m.user for m in panels.members_for_listing(consultation.panel)
            if m.user_id not in answered]


def required_on_route(consultation: Consultation,
                      answers: dict[int, AnswerInput]) -> dict[int, str]:
    """Required questions without an answer, in the sections of the person's route only."""
    missing = {q.id: message for q in consultation.ordered_questions()
               if (message := required_message(q, answers.get(q.id, AnswerInput())))}
    return routing.errors_on_route(consultation, answers, missing)


@dataclass
class OnBehalfResult:
    method: EntryMethod
    member: Any = None  # named consultations: the person the answers were entered for
    already_had_it: bool = False


@atomic
def answer_on_behalf(actor, consultation: Consultation, answers: dict[int, AnswerInput], *,
                     method: str | None, consented: bool, member_id: int | None = None,
                     form_token: str | None = None) -> OnBehalfResult:
    """Staff send a person's answers for them (given by phone, on paper, in an interview),
    with the person's agreement. Answers in sections the person's route skips are dropped.

    Named consultations: the chosen panel member's response, marked with the method; who
    entered it is in the audit log. Anonymous consultations: nobody is chosen, and the answers
    take the same sealed path as a visitor's without an account (services._seal_page): the
    method label travels sealed with them and is all the anonymous row keeps. No staff id, no
    audit row, no receipt, no time finer than the day."""
    if not can_manage(actor, consultation):
        raise NotFound()
    reason = on_behalf_unavailable(consultation)
    if reason:
        raise InvalidState(reason)
    chosen = entry_method_or_none(method)
    if chosen is None:
        raise ValidationFailed(_(METHOD_NEEDED))
    if not consultation.is_anonymous:
        member = _member_to_answer_for(consultation, member_id)
    if not consented:
        raise ValidationFailed(_(CONSENT_NEEDED))
    answers = routing.skip_unrouted(consultation, answers)
    if required_on_route(consultation, answers):
        raise ValidationFailed(_("Some required questions have no answer. Enter the person's "
                                 "answer, or \"Prefer not to say\" if they chose not to answer."))
    if all(a.is_empty for a in answers.values()):
        raise ValidationFailed(_("Enter at least one of the person's answers before sending."))
    if consultation.is_anonymous:
        payload = {"day": clock.today_london().isoformat(), "answers": _sealable(answers),
                   "method": chosen.value}
        sealed = _seal_page(consultation, payload, form_token)
        return OnBehalfResult(method=chosen, already_had_it=sealed.already_had_it)
    return _answer_named_on_behalf(actor, consultation, member, answers, chosen)


def _member_to_answer_for(consultation: Consultation, member_id: int | None):
    if member_id is None:
        raise ValidationFailed(_("Choose the person you are entering answers for."))
    membership = next((m for m in panels.members_for_listing(consultation.panel)
                       if m.user_id == member_id), None)
    if membership is None:
        raise ValidationFailed(_("Choose someone from the list: only members of %(panel)s can "
                                 "answer this consultation.", panel=consultation.panel.name))
    return membership.user


def _answer_named_on_behalf(actor, consultation: Consultation, member,
                            answers: dict[int, AnswerInput],
                            method: EntryMethod) -> OnBehalfResult:
    response = _response_for(member, consultation)
    now = clock.now()
    # Claimed by a conditional UPDATE, so a second member of staff (or the person, sending at
    # the same moment) cannot have the answers entered twice: one of them is told.
    claimed = db.session.execute(
        update(Response)
        .where(Response.id == response.id, Response.status == ResponseStatus.DRAFT)
        .values(status=ResponseStatus.SUBMITTED, submitted_at=now, updated_at=now,
                entry_method=method)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not claimed:
        raise InvalidState(_("%(name)s has already sent answers to this consultation, so there "
                             "is nothing to enter for them. If they want to change an answer, "
                             "they can do it themselves until it closes.",
                             name=member.display_name))
    db.session.refresh(response)
    _write_answers(response, answers, Answer)  # replaces any unsent draft of theirs
    took_part.send(consultation, user=member)
    db.session.flush()
    audit.record("consultation.answered_on_behalf", actor_id=actor.id,
                 subject_type="consultation", subject_id=consultation.id,
                 response_id=response.id, method=method.value, consent=True)
    return OnBehalfResult(method=method, member=member)


def batch_size() -> int:
    return int(current_app.config.get("ANONYMOUS_BATCH_SIZE", DEFAULT_BATCH_SIZE))


def waiting_count(consultation: Consultation) -> int:
    """Anonymous answers sent but not added to the results yet."""
    return inbox.count(ANONYMOUS_ANSWERS, str(consultation.id))


def add_waiting_answers() -> int:
    """The worker's job: add sealed answers to the results once at least `batch_size()` wait
    for an open consultation (so each batch hides each person among at least that many), and
    all of them once it has closed, when the whole anonymous set is written again in a new
    random order so that not even the batches can be told apart."""
    added = 0
    for scope, count in inbox.waiting(ANONYMOUS_ANSWERS).items():
        consultation = db.session.get(Consultation, int(scope)) if scope.isdigit() else None
        if consultation is None:
            inbox.open_all(ANONYMOUS_ANSWERS, scope)  # its consultation was deleted
        elif consultation.state in (ConsultationState.CLOSED, ConsultationState.PUBLISHED):
            added += settle_anonymous_answers(consultation)
        elif count >= batch_size():
            added += _write_waiting(consultation)
    return added


def settle_anonymous_answers(consultation: Consultation) -> int:
    """Add every waiting answer and write the consultation's whole anonymous set again in a
    new random order, in one transaction (at close, and when a closed account's answers are
    kept after it)."""
    added = _write_waiting(consultation)
    _rewrite_anonymous_set(consultation)
    anonymous_snapshots_added.send(consultation, snapshots=[], settled=True)
    return added


def _write_waiting(consultation: Consultation) -> int:
    envelopes = inbox.open_all(ANONYMOUS_ANSWERS, str(consultation.id))
    questions = {q.id for q in consultation.ordered_questions()}
    per_day: Counter[str] = Counter()
    snapshots: list[tuple[str, str]] = []
    for envelope in envelopes:  # already in random order
        payload = envelope.payload
        response = AnonymousResponse(id=random_id(), consultation_id=consultation.id,
                                     submitted_on=date.fromisoformat(payload["day"]),
                                     form_token=payload.get("page"),
                                     entry_method=entry_method_or_none(payload.get("method")))
        for question_id, values in payload["answers"].items():
            if int(question_id) in questions:
                response.answers.append(AnonymousAnswer(
                    question_id=int(question_id), choices=values["choices"],
                    text=values["text"], prefer_not_to_say=values["prefer_not_to_say"],
                    quote_consent=values["consent"], tags=values.get("tags", [])))
        db.session.add(response)
        if "equality" in payload:
            snapshots.append((payload["equality"], payload["day"][:7]))
        if not payload.get("kept"):
            per_day[payload["day"]] += 1
    # Shuffled apart from the answers, so the n-th snapshot is not the n-th response's.
    inbox.shuffle(snapshots)
    if snapshots:
        anonymous_snapshots_added.send(consultation, snapshots=snapshots, settled=False)
    db.session.flush()
    for day, number in per_day.items():
        audit.count_anonymous("consultation.answered_anonymously", date.fromisoformat(day),
                              number)
    return len(envelopes)


def _rewrite_anonymous_set(consultation: Consultation) -> None:
    """Delete and insert again, in random order with the same ids, every anonymous response
    of the consultation: afterwards they share one transaction and their physical order is
    random, so the batches they arrived in cannot be told apart."""
    responses = list(db.session.scalars(select(AnonymousResponse).where(
        AnonymousResponse.consultation_id == consultation.id)))
    if not responses:
        return
    copies = [(r.id, r.submitted_on, r.form_token, r.entry_method,
               [dict(id=a.id, question_id=a.question_id, choices=list(a.choices or []),
                     text=a.text, prefer_not_to_say=a.prefer_not_to_say,
                     quote_consent=a.quote_consent, tags=list(a.tags or []))
                for a in r.answers]) for r in responses]
    ids = [r.id for r in responses]
    for response in responses:
        for answer in response.answers:
            db.session.expunge(answer)
        db.session.expunge(response)
    db.session.execute(delete(AnonymousAnswer).where(AnonymousAnswer.response_id.in_(ids))
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(AnonymousResponse).where(AnonymousResponse.id.in_(ids))
                       .execution_options(synchronize_session=False))
    inbox.shuffle(copies)
    for response_id, day, token, method, answers in copies:
        inbox.shuffle(answers)
        db.session.add(AnonymousResponse(
            id=response_id, consultation_id=consultation.id, submitted_on=day,
            form_token=token, entry_method=method,
            answers=[AnonymousAnswer(**values) for values in answers]))
    db.session.flush()


# --- results --------


@dataclass
class AnswerView:
    id: str
    anonymous: bool
    respondent: str  # "Response 3": a label, never a way back to a person
    person: Any  # the User for named responses (staff views only), else None
    values: Any  # the Answer or AnonymousAnswer row
    method: str | None = None  # how staff took it, when they entered it for the person


def answer_rows(consultation: Consultation) -> list[AnswerView]:
    """Every sent answer. Anonymous ones are ordered by day, then by their random id, so the
    order tells nothing finer than the day about when they arrived."""
    views: list[AnswerView] = []
    named = db.session.scalars(
        select(Response).where(Response.consultation_id == consultation.id,
                               Response.status == ResponseStatus.SUBMITTED)
        .order_by(Response.id))
    anonymous = db.session.scalars(
        select(AnonymousResponse).where(AnonymousResponse.consultation_id == consultation.id)
        .order_by(AnonymousResponse.submitted_on, AnonymousResponse.id))
    number = 0
    for response in named:
        number += 1
        for answer in response.answers:
            views.append(AnswerView(answer.id, False, _("Response %(n)s", n=number),
                                    response.user, answer, response.entry_method))
    for response in anonymous:
        number += 1
        for answer in response.answers:
            views.append(AnswerView(answer.id, True, _("Response %(n)s", n=number), None,
                                    answer, response.entry_method))
    return views


def response_count(consultation: Consultation) -> int:
    """Sent responses in the results (anonymous ones once the worker has added them)."""
    named = db.session.scalar(select(func.count()).select_from(Response).where(
        Response.consultation_id == consultation.id,
        Response.status == ResponseStatus.SUBMITTED)) or 0
    anonymous = db.session.scalar(select(func.count()).select_from(AnonymousResponse).where(
        AnonymousResponse.consultation_id == consultation.id)) or 0
    return named + anonymous


def entered_by_staff(consultation: Consultation) -> dict[EntryMethod, int]:
    """How many sent responses staff entered on someone's behalf, by method: one query."""
    named = select(Response.entry_method.label("method")).where(
        Response.consultation_id == consultation.id,
        Response.status == ResponseStatus.SUBMITTED, Response.entry_method.is_not(None))
    anonymous = select(AnonymousResponse.entry_method.label("method")).where(
        AnonymousResponse.consultation_id == consultation.id,
        AnonymousResponse.entry_method.is_not(None))
    both = named.union_all(anonymous).subquery()
    rows = db.session.execute(select(both.c.method, func.count()).group_by(both.c.method))
    counts = {EntryMethod(method): number for method, number in rows}
    return {method: counts[method] for method in EntryMethod if method in counts}


def entered_by_staff_line(counts: dict[EntryMethod, int], *, published: bool = False
                          ) -> str | None:
    """ "3 responses were entered by staff: 2 by phone, 1 on paper"; None when there are none.
    Published results show numbers under 5 as "fewer than 5", like every other count."""
    total = sum(counts.values())
    if not total:
        return None
    if published and total < THRESHOLD:
        return ngettext("Fewer than %(num)s response was entered by staff on someone's "
                        "behalf.",
                        "Fewer than %(num)s responses were entered by staff on someone's "
                        "behalf.", THRESHOLD)
    shown = fewer_than_five if published else str
    parts = ", ".join(_("%(number)s %(method)s", number=shown(n), method=method.label)
                      for method, n in counts.items())
    return ngettext("%(num)s response was entered by staff on someone's behalf: %(parts)s.",
                    "%(num)s responses were entered by staff on someone's behalf: %(parts)s.",
                    total, parts=parts)


@dataclass
class QuestionResult:
    question: Question
    options: list[OptionCount] = field(default_factory=list)
    answered: int = 0
    texts: list[AnswerView] = field(default_factory=list)
    chart: Markup | None = None
    rows: list[MatrixRow] = field(default_factory=list)
    ranking: list[RankedOption] = field(default_factory=list)


def results(consultation: Consultation, *, published: bool, tag: str | None = None,
            consent: str | None = None, question_id: int | None = None) -> list[QuestionResult]:
    """Counts per option and free-text answers per question.

    Published results (for participants and the public) show counts under 5 only as
    "fewer than 5" (in the chart too) and only the free text people agreed may be quoted.
    """
    rows = answer_rows(consultation)
    by_question: dict[int, list[AnswerView]] = {}
    for row in rows:
        by_question.setdefault(row.values.question_id, []).append(row)
    out = []
    for question in consultation.ordered_questions():
        if question_id and question.id != question_id:
            continue
        answers = by_question.get(question.id, [])
        result = QuestionResult(question=question, answered=len(answers))
        counted = tally(question, [row.values for row in answers], published=published)
        result.options, result.chart = counted.options, counted.chart
        result.rows, result.ranking = counted.rows, counted.ranking
        if question.kind == QuestionKind.FREE_TEXT:
            texts = [r for r in answers if r.values.text]
            if published:
                texts = [r for r in texts if r.values.quote_consent == QuoteConsent.PUBLIC]
            if tag:
                texts = [r for r in texts if tag in (r.values.tags or [])]
            if consent:
                texts = [r for r in texts if r.values.quote_consent == consent]
            result.texts = texts
        out.append(result)
    return out


def credit_line(row: AnswerView) -> str | None:
    """How a published quote is credited: as the person chose, and never for anonymous ones."""
    if row.anonymous or row.person is None:
        return None
    return panels.credit_for(row.person)


def all_tags(consultation: Consultation) -> list[str]:
    tags: set[str] = set()
    for row in answer_rows(consultation):
        tags.update(row.values.tags or [])
    return sorted(tags, key=str.lower)


def _answer_in(consultation: Consultation, answer_id: str):
    for model in (Answer, AnonymousAnswer):
        row = db.session.get(model, answer_id)
        if row is not None:
            question = db.session.get(Question, row.question_id)
            if question is not None and question.consultation_id == consultation.id:
                return row
    raise NotFound()


def tag_answer(actor, consultation: Consultation, answer_id: str, label: str) -> None:
    if not can_manage(actor, consultation):
        raise NotFound()
    label = " ".join((label or "").split())
    if not label:
        raise ValidationFailed(_("Enter a tag, for example \"waiting times\"."))
    if len(label) > MAX_TAG_LENGTH:
        raise ValidationFailed(_("Use %(n)s characters or fewer for a tag.", n=MAX_TAG_LENGTH))
    row = _answer_in(consultation, answer_id)
    tags = list(row.tags or [])
    if label.lower() not in {t.lower() for t in tags}:
        row.tags = [*tags, label]
    db.session.flush()
    audit.record("consultation.answer_tagged", actor_id=actor.id, subject_type="consultation",
                 subject_id=consultation.id)


def untag_answer(actor, consultation: Consultation, answer_id: str, label: str) -> None:
    if not can_manage(actor, consultation):
        raise NotFound()
    row = _answer_in(consultation, answer_id)
    row.tags = [t for t in (row.tags or []) if t != label]
    db.session.flush()


CSV_HEADER = ["Response", "Name", "Part", "Question", "Answer", "Prefer not to say",
              "How we may use it", "Tags", "Entered by staff"]


def export_rows(actor, consultation: Consultation) -> list[list[Any]]:
    """One row per answer. Anonymous responses carry only a response number (assigned in the
    order of their random ids), never anything about the person."""
    if not can_manage(actor, consultation):
        raise NotFound()
    questions = {q.id: q for q in consultation.ordered_questions()}
    out = []
    for row in answer_rows(consultation):
        question = questions.get(row.values.question_id)
        if question is None:
            continue
        answer = question.answer_text(list(row.values.choices or []), row.values.text)
        out.append([
            row.respondent,
            "" if row.anonymous or row.person is None else row.person.display_name,
            question.part.title,
            question.text,
            answer,
            row.values.prefer_not_to_say,
            QuoteConsent(row.values.quote_consent).label if row.values.quote_consent else "",
            ", ".join(row.values.tags or []),
            EntryMethod(row.method).label if row.method else "",
        ])
    audit.record("consultation.exported", actor_id=actor.id, subject_type="consultation",
                 subject_id=consultation.id)
    return out


# --- notifications --------


def _claim(consultation: Consultation, column: str, **also) -> bool:
    """Mark a notice as sent; only the first caller wins, so a notice is never sent twice."""
    result = db.session.execute(
        update(Consultation)
        .where(Consultation.id == consultation.id, getattr(Consultation, column).is_(None))
        .values({column: clock.now(), **also})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def took_part_ids(consultation: Consultation) -> set[int]:
    """Everyone who has sent answers: named responses and receipts of anonymous ones."""
    named = select(Response.user_id).where(Response.consultation_id == consultation.id,
                                           Response.status == ResponseStatus.SUBMITTED)
    receipts = select(ParticipationReceipt.user_id).where(
        ParticipationReceipt.consultation_id == consultation.id)
    return set(db.session.scalars(named.union(receipts)))


def _still_to_answer(consultation: Consultation):
    answered = took_part_ids(consultation)
    return [person for person in panels.active_members(consultation.panel)
            if person.id not in answered]


def send_due_notices() -> int:
    """Tell panel members about consultations that have opened, and remind those who have not
    answered a week and a day before the close. Members taking a break hear nothing."""
    now = clock.now()
    sent = 0
    open_now = list(db.session.scalars(
        select(Consultation).where(
            Consultation.state == ConsultationState.OPEN, Consultation.panel_id.is_not(None),
            Consultation.opens_at <= now, Consultation.closes_at > now)
        .execution_options(populate_existing=True)))  # what is marked sent now, not earlier
    for consultation in open_now:
        link = url_for("consultations.detail", consultation_id=consultation.id)
        left = consultation.closes_at - now
        if consultation.open_notice_sent_at is None:
            if _claim(consultation, "open_notice_sent_at"):
                # Someone who has already answered (with a facilitator's help, or before the
                # job ran) is not told about it as if it were new.
                for person in _still_to_answer(consultation):
                    notify(person, Message(
                        _("A new consultation from %(panel)s", panel=consultation.panel.name),
                        _("%(title)s is open until %(when)s. Taking part is your choice.",
                          title=consultation.title,
                          when=clock.to_london(consultation.closes_at)
                          .strftime("%-d %B %Y at %H:%M")),
                        link), dedupe_key=f"consultation-open:{consultation.id}:{person.id}")
                    sent += 1
            continue
        if left <= timedelta(days=1):
            if consultation.day_reminder_sent_at is None and _claim(
                    consultation, "day_reminder_sent_at",
                    week_reminder_sent_at=consultation.week_reminder_sent_at or now):
                sent += _remind(consultation, link, "day")
        elif (left <= timedelta(days=7)
              and consultation.closes_at - consultation.opens_at > timedelta(days=8)
              and consultation.week_reminder_sent_at is None
              and _claim(consultation, "week_reminder_sent_at")):
            sent += _remind(consultation, link, "week")
    return sent


def _remind(consultation: Consultation, link: str, which: str) -> int:
    when = clock.to_london(consultation.closes_at).strftime("%-d %B %Y at %H:%M")
    count = 0
    for person in _still_to_answer(consultation):
        notify(person, Message(
            _("A consultation closes soon"),
            _("%(title)s closes on %(when)s. If you would like to take part, there is still "
              "time. If not, that is fine too.", title=consultation.title, when=when),
            link), dedupe_key=(f"consultation-{which}:{consultation.id}:"
                               f"{consultation.closes_at.isoformat()}:{person.id}"))
        count += 1
    return count


# --- what higher domains add to the staff page of answers --------

# A function (consultation, user) that returns template values for
# consultations/responses.html, or None: "you said, we did" adds the entries an answer can be
# linked to.
RESPONSES_PAGE = Hook("consultations.responses_page")


def responses_page_extras(consultation: Consultation, user) -> dict:
    extras: dict = {}
    for values in RESPONSES_PAGE.results(consultation, user):
        extras.update(values)
    return extras


# --- the consultations section of a panel page (added to PANEL_PAGE_SECTIONS) --------


def panel_section(panel: Panel, user) -> dict | None:
    rows = db.session.scalars(select(Consultation).where(
        Consultation.panel_id == panel.id,
        Consultation.state.in_([ConsultationState.OPEN, ConsultationState.PUBLISHED]))
        .order_by(Consultation.closes_at))
    items = []
    for consultation in rows:
        if consultation.state == ConsultationState.OPEN:
            detail = _("open until %(when)s", when=clock.to_london(consultation.closes_at)
                       .strftime("%-d %B %Y at %H:%M"))
            if consultation.opens_at > clock.now():
                detail = _("opens %(when)s", when=clock.to_london(consultation.opens_at)
                           .strftime("%-d %B %Y at %H:%M"))
        else:
            detail = _("results published")
        items.append({"label": consultation.title, "detail": detail,
                      "url": url_for("consultations.detail",
                                     consultation_id=consultation.id)})
    return {"title": _("Consultations"), "items": items,
            "empty": _("There are no open consultations for this panel at the moment.")}
