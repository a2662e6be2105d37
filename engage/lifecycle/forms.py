"""Retention settings form, built from the registered rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from engage.lifecycle.retention import MAX_MONTHS, MIN_MONTHS, rules


def retention_form(periods: dict[str, int]) -> FlaskForm:
    message = _l("Enter a whole number of months from %(low)s to %(high)s.", low=MIN_MONTHS,
                 high=MAX_MONTHS)
    fields = {
        key: IntegerField(rule.label, validators=[
            InputRequired(message=message),
            NumberRange(min=MIN_MONTHS, max=MAX_MONTHS, message=message)])
        for key, rule in sorted(rules().items())
    }
    return type("RetentionForm", (FlaskForm,), fields)(data=periods)
