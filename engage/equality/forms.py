"""The equality questionnaire form, built from the one list of questions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import Optional, Regexp

from engage.equality.questions import QUESTIONS


class _EqualityBase(FlaskForm):
    def answers(self) -> dict[str, str | None]:
        return {q.key: self[q.key].data for q in QUESTIONS}


def equality_form(data: dict[str, str] | None = None) -> FlaskForm:
    fields = {
        q.key: RadioField(q.text, choices=q.choices(), validators=[Optional()],
                          validate_choice=True, description=q.hint)
        for q in QUESTIONS
    }
    form_class = type("EqualityForm", (_EqualityBase,), fields)
    return form_class(data=data or {})


PERCENT = Regexp(r"^\s*(100(\.0)?|\d{1,2}(\.\d)?)?\s*$",
                 message=_l("Enter a percentage between 0 and 100, with at most one decimal "
                            "place, like 12.5"))


def population_field_name(question_key: str, option_key: str) -> str:
    return f"{question_key}__{option_key}"


def population_form(figures: dict[tuple[str, str], int]) -> FlaskForm:
    fields = {}
    data = {}
    for question in QUESTIONS:
        for option_key, label in question.options:
            name = population_field_name(question.key, option_key)
            fields[name] = StringField(label, validators=[PERCENT])
            value = figures.get((question.key, option_key))
            if value is not None:
                data[name] = f"{value // 10}.{value % 10}" if value % 10 else str(value // 10)
    return type("PopulationForm", (FlaskForm,), fields)(data=data)


def population_values(form) -> dict[tuple[str, str], int | None]:
    values: dict[tuple[str, str], int | None] = {}
    for question in QUESTIONS:
        for option_key, _label in question.options:
            raw = (form[population_field_name(question.key, option_key)].data or "").strip()
            if not raw:
                values[(question.key, option_key)] = None
                continue
            whole, _dot, tenth = raw.partition(".")
            values[(question.key, option_key)] = int(whole) * 10 + int(tenth or 0)
    return values


