"""Reading what a person typed or chose on an answer page, one kind of question at a time.

Every kind gives the same shape (`AnswerInput`: choices, text, prefer not to say, consent), so
named and anonymous answers are stored and sealed the same way:
- choice kinds and dropdowns: the chosen option keys;
- ranking: the option keys in the person's order (first = ranked 1);
- matrix: one "statement:rating" pair per statement answered;
- date: the date as YYYY-MM-DD in `text` (encrypted like any written answer).
Unknown values and impossible answers are always errors; missing required answers only when
sending (a saved draft may be incomplete).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _

from engage.consultations.models import (
    MATRIX_SEPARATOR,
    PREFER_NOT_TO_SAY,
    Question,
    QuestionKind,
    QuoteConsent,
)

EARLIEST_YEAR, LATEST_YEAR = 1900, 2100


@dataclass
class AnswerInput:
    choices: list[str] = field(default_factory=list)
    text: str | None = None
    prefer_not_to_say: bool = False
    consent: str | None = None
    # What was typed, to show again when it could not be read (a date, ranking numbers).
    typed: dict[str, str] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not self.choices and not self.text and not self.prefer_not_to_say


def field_name(question: Question) -> str:
    return f"q{question.id}"


def error_anchor(question: Question) -> str:
    """The id of the first box of a question, for the error summary's link."""
    name = field_name(question)
    if question.kind == QuestionKind.DATE:
        return f"{name}-day"
    keys = question.choice_keys()
    if question.kind == QuestionKind.RANKING and keys:
        return f"{name}-rank-{keys[0]}"
    if question.kind == QuestionKind.MATRIX and keys:
        return f"{name}-{keys[0]}"
    return name


def parse_question(question: Question, formdata) -> tuple[AnswerInput, str | None]:
    """One question's answer and, if it cannot be taken as it is, what to do about it."""
    reader = _READERS.get(QuestionKind(question.kind), _read_choices)
    return reader(question, formdata)


def required_message(question: Question, answer: AnswerInput) -> str | None:
    if not question.required:
        return None
    if question.kind == QuestionKind.MATRIX:
        answered = {c.split(MATRIX_SEPARATOR, 1)[0] for c in answer.choices}
        if set(question.choice_keys()) - answered:
            return _('Answer each statement, or choose "Prefer not to say" for it.')
        return None
    if not answer.is_empty:
        return None
    if question.kind == QuestionKind.FREE_TEXT:
        return _("Answer this question. It is the only one we need an answer to before you "
                 "can send.")
    if question.kind == QuestionKind.DATE:
        return _("Enter a date. It is the only one we need an answer to before you can send.")
    return _('Answer this question, or choose "Prefer not to say".')


def _read_free_text(question: Question, formdata) -> tuple[AnswerInput, str | None]:
    name = field_name(question)
    error = None
    text = (formdata.get(name) or "").replace("\r\n", "\n").strip()
    consent = formdata.get(f"{name}-consent") or QuoteConsent.INTERNAL
    if consent not in set(QuoteConsent):
        error = _("Choose how we may use this answer.")
    if len(text) > question.max_length:
        error = _("Your answer is %(n)s characters long. Please shorten it to %(max)s "
                  "characters or fewer.", n=f"{len(text):,}", max=f"{question.max_length:,}")
    return AnswerInput(text=text or None, consent=consent if text else None), error


def _read_choices(question: Question, formdata) -> tuple[AnswerInput, str | None]:
    """Single and multiple choice, scale and dropdown."""
    answer, error = AnswerInput(), None
    values = [v for v in formdata.getlist(field_name(question)) if v]
    allowed = set(question.choice_keys()) | {PREFER_NOT_TO_SAY}
    if any(v not in allowed for v in values):
        error = _("Choose from the options shown.")
        values = [v for v in values if v in allowed]
    if question.kind != QuestionKind.MULTIPLE_CHOICE and len(values) > 1:
        error = _("Choose one option.")
    if PREFER_NOT_TO_SAY in values:
        answer.prefer_not_to_say = True
        if len(values) > 1:
            error = _('Choose "Prefer not to say" or other options, not both.')
        values = [v for v in values if v != PREFER_NOT_TO_SAY]
    answer.choices = values
    return answer, error


def _read_date(question: Question, formdata) -> tuple[AnswerInput, str | None]:
    name = field_name(question)
    typed = {part: (formdata.get(f"{name}-{part}") or "").strip()
             for part in ("day", "month", "year")}
    answer = AnswerInput(typed=typed)
    if not any(typed.values()):
        return answer, None
    if not all(typed.values()):
        missing = [label for part, label in (("day", _("day")), ("month", _("month")),
                                            ("year", _("year"))) if not typed[part]]
        return answer, _("The date must include a %(parts)s.", parts=_(" and ").join(missing))
    try:
        when = date(int(typed["year"]), int(typed["month"]), int(typed["day"]))
    except ValueError:
        return answer, _("Enter a real date, for example 27 3 2024.")
    if not EARLIEST_YEAR <= when.year <= LATEST_YEAR:
        return answer, _("Enter a year from %(first)s to %(last)s, for example 2024.",
                         first=EARLIEST_YEAR, last=LATEST_YEAR)
    answer.text = when.isoformat()
    return answer, None


def _read_ranking(question: Question, formdata) -> tuple[AnswerInput, str | None]:
    name = field_name(question)
    keys = question.choice_keys()
    typed = {key: (formdata.get(f"{name}-rank-{key}") or "").strip() for key in keys}
    answer = AnswerInput(typed=typed)
    prefer = PREFER_NOT_TO_SAY in formdata.getlist(name)
    given = {key: raw for key, raw in typed.items() if raw}
    if prefer:
        answer.prefer_not_to_say = True
        if given:
            return answer, _('Choose "Prefer not to say" or put options in order, not both.')
        return answer, None
    ranks: dict[int, str] = {}
    for key, raw in given.items():
        if not raw.isdigit() or not 1 <= int(raw) <= len(keys):
            return answer, _("Choose a number from 1 to %(n)s for each option you rank.",
                             n=len(keys))
        if int(raw) in ranks:
            return answer, _("Give each option a different number.")
        ranks[int(raw)] = key
    if ranks and sorted(ranks) != list(range(1, len(ranks) + 1)):
        return answer, _("Number the options you rank from 1, without gaps (1, 2, 3 and so "
                         "on).")
    answer.choices = [ranks[n] for n in sorted(ranks)]
    return answer, None


def _read_matrix(question: Question, formdata) -> tuple[AnswerInput, str | None]:
    name = field_name(question)
    allowed = set(question.column_keys()) | {PREFER_NOT_TO_SAY}
    answer, error = AnswerInput(), None
    for row in question.choice_keys():
        values = [v for v in formdata.getlist(f"{name}-{row}") if v]
        if not values:
            continue
        if len(values) > 1 or values[0] not in allowed:
            error = _("Choose one rating for each statement, from the ratings shown.")
            continue
        answer.choices.append(f"{row}{MATRIX_SEPARATOR}{values[0]}")
    return answer, error


_READERS = {
    QuestionKind.FREE_TEXT: _read_free_text,
    QuestionKind.DATE: _read_date,
    QuestionKind.RANKING: _read_ranking,
    QuestionKind.MATRIX: _read_matrix,
}


def values_for_page(question: Question, values: dict[str, Any] | None) -> dict[str, Any]:
    """What the answer page shows for one question: chosen keys, text, and for a date or a
    ranking the parts to put back in each box."""
    values = dict(values or {})
    choices = list(values.get("choices") or [])
    typed = dict(values.get("typed") or {})
    if question.kind == QuestionKind.DATE and not typed and values.get("text"):
        year, month, day = values["text"].split("-")
        typed = {"day": str(int(day)), "month": str(int(month)), "year": year}
    if question.kind == QuestionKind.RANKING and not typed:
        typed = {key: str(n) for n, key in enumerate(
            [c for c in choices if c != PREFER_NOT_TO_SAY], start=1)}
    if question.kind == QuestionKind.MATRIX:
        values["rows"] = dict(c.split(MATRIX_SEPARATOR, 1) for c in choices
                              if MATRIX_SEPARATOR in c)
    values["choices"] = choices
    values["typed"] = typed
    return values


def form_fields(question: Question, values: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An answer as the answer page's own fields, to carry it as hidden fields while a person
    is on another section (so paging works without JavaScript and without storing anything)."""
    name = field_name(question)
    shown = values_for_page(question, values)
    choices, typed = shown["choices"], shown["typed"]
    if question.kind == QuestionKind.FREE_TEXT:
        fields = [(name, shown.get("text") or "")]
        return fields + ([(f"{name}-consent", shown["consent"])] if shown.get("consent") else [])
    if question.kind == QuestionKind.DATE:
        return [(f"{name}-{part}", typed.get(part, "")) for part in ("day", "month", "year")]
    if question.kind == QuestionKind.MATRIX:
        return [(f"{name}-{row}", column) for row, column in shown["rows"].items()]
    if question.kind == QuestionKind.RANKING:
        fields = [(f"{name}-rank-{key}", rank) for key, rank in typed.items() if rank]
        return fields + ([(name, PREFER_NOT_TO_SAY)] if PREFER_NOT_TO_SAY in choices else [])
    return [(name, key) for key in choices]
