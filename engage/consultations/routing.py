"""Routing: "if the answer is X, go to section Y", so a person can skip parts not for them.

A single choice or dropdown question may send a person, for each option, to a later section
or to the end (`Question.routes`). Nothing about the route is stored: it is worked out from the
answers each time, so a saved draft keeps its route and anonymous answers carry no extra state.
Answers in sections a person's route skips are dropped before saving or sending, and required
questions there are not required.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from engage.consultations.answers import AnswerInput
from engage.consultations.models import (
    ROUTE_END,
    ROUTING_KINDS,
    Consultation,
    ConsultationPart,
    Question,
)
from engage.errors import ValidationFailed

Choices = dict[int, list[str]]


def has_routes(consultation: Consultation) -> bool:
    return any(q.routes for q in consultation.ordered_questions())


def choices_of(answers: dict[int, AnswerInput]) -> Choices:
    return {qid: list(a.choices) for qid, a in answers.items()}


def _target(question: Question, chosen: list[str]) -> str | None:
    if question.kind not in ROUTING_KINDS:
        return None
    for key in chosen:
        if key in (question.routes or {}):
            return question.routes[key]
    return None


def route(consultation: Consultation, chosen: Choices) -> list[ConsultationPart]:
    """The sections a person sees, in order, given what they have chosen so far. Within a
    section, the last routing question answered decides where to go next."""
    parts = list(consultation.parts)
    shown: list[ConsultationPart] = []
    index = 0
    while index < len(parts):
        shown.append(parts[index])
        jump = None
        for question in parts[index].questions:
            jump = _target(question, chosen.get(question.id, [])) or jump
        if jump == ROUTE_END:
            break
        later = [i for i, p in enumerate(parts) if i > index and str(p.id) == jump]
        index = later[0] if later else index + 1
    return shown


def skip_unrouted(consultation: Consultation,
                  answers: dict[int, AnswerInput]) -> dict[int, AnswerInput]:
    """The answers to keep: those in skipped sections become empty (so a saved one is removed)."""
    shown = {p.id for p in route(consultation, choices_of(answers))}
    part_of = {q.id: q.part_id for q in consultation.ordered_questions()}
    return {qid: answer if part_of.get(qid) in shown else AnswerInput()
            for qid, answer in answers.items()}


def errors_on_route(consultation: Consultation, answers: dict[int, AnswerInput],
                    errors: dict[int, str], parts: list[ConsultationPart] | None = None
                    ) -> dict[int, str]:
    """Only the problems a person can see: in the sections of their route (or those given)."""
    parts = parts if parts is not None else route(consultation, choices_of(answers))
    ids = {q.id for p in parts for q in p.questions}
    return {qid: message for qid, message in errors.items() if qid in ids}


# --- one section at a time --------------------------------------------------------------------


@dataclass
class Step:
    """Where a person is: a section of their route, or (part None) the page to send."""

    part: ConsultationPart | None
    number: int
    total: int

    @property
    def is_first(self) -> bool:
        return self.number == 1


def step_at(shown: list[ConsultationPart], part: ConsultationPart | None) -> Step:
    if part is None or part not in shown:
        return Step(None, len(shown) + 1, len(shown))
    return Step(part, shown.index(part) + 1, len(shown))


def find_part(consultation: Consultation, part_id: str | None) -> ConsultationPart | None:
    return next((p for p in consultation.parts if str(p.id) == part_id), None)


def step_after(consultation: Consultation, chosen: Choices,
               part: ConsultationPart | None) -> Step:
    shown = route(consultation, chosen)
    if part in shown and shown.index(part) + 1 < len(shown):
        return step_at(shown, shown[shown.index(part) + 1])
    return step_at(shown, None)


def step_before(consultation: Consultation, chosen: Choices,
                part: ConsultationPart | None) -> Step:
    shown = route(consultation, chosen)
    if part in shown:
        return step_at(shown, shown[max(shown.index(part) - 1, 0)])
    return step_at(shown, shown[-1])


def current_step(consultation: Consultation, chosen: Choices,
                 part: ConsultationPart | None) -> Step:
    shown = route(consultation, chosen)
    return step_at(shown, part if part in shown else shown[0])


def resume_step(consultation: Consultation, chosen: Choices) -> Step:
    """Coming back to saved answers: the last section of the route with an answer in it."""
    shown = route(consultation, chosen)
    answered = [p for p in shown if any(chosen.get(q.id) for q in p.questions)]
    return step_at(shown, answered[-1] if answered else shown[0])


def first_step_with_error(consultation: Consultation, chosen: Choices,
                          errors: dict[int, str]) -> Step:
    shown = route(consultation, chosen)
    with_error = [p for p in shown if any(q.id in errors for q in p.questions)]
    return step_at(shown, with_error[0] if with_error else None)


# --- building ----------------------------------------------------------------------------------


def clean_routes(consultation: Consultation, question: Question,
                 wanted: dict[str, str]) -> dict[str, str]:
    """Check the routes a lead chose: only forward, to a later section, or to the end."""
    wanted = {key: target for key, target in wanted.items() if target}
    if wanted and question.kind not in ROUTING_KINDS:
        raise ValidationFailed(_("Only single choice and dropdown questions can send people to "
                                 "another section."))
    parts = list(consultation.parts)
    here = next(i for i, p in enumerate(parts) if p.id == question.part_id)
    later = {str(p.id) for p in parts[here + 1:]}
    keys = set(question.choice_keys())
    for key, target in wanted.items():
        if key not in keys:
            raise ValidationFailed(_("Choose a route for the options of this question only."))
        if target != ROUTE_END and target not in later:
            raise ValidationFailed(_(
                "An answer can only send people on to a later section, or to the end. Sections "
                "before this question, or the one it is in, cannot be chosen: people would go "
                "round in a circle."))
    return wanted
