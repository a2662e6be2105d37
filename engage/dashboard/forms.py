"""The dashboard's filters (a GET form: bookmarkable, no CSRF token needed to read), and the
form a member uses to add anonymous feedback to their impact page by its code."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Optional, ValidationError

from engage.core import clock
from engage.dashboard.sections import Filters
from engage.equality.questions import QUESTIONS

MAX_MONTHS = 36


def default_range() -> tuple[date, date]:
    today = clock.today_london()
    month_index = today.year * 12 + today.month - 1 - 11
    return date(month_index // 12, month_index % 12 + 1, 1), today


class DashboardFilterForm(FlaskForm):
    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()],
                      description=_l("For example, 2026-01-01"))
    end = DateField(_l("To"), validators=[Optional()], description=_l("For example, 2026-12-31"))
    panel = SelectField(_l("Panel"), validators=[Optional()])
    organisation = SelectField(_l("Organisation"), validators=[Optional()],
                               description=_l("For commitments in \"you said, we did\""))
    question = SelectField(_l("Equality question"),
                           choices=[(q.key, q.text) for q in QUESTIONS], default="ethnicity")

    def validate_end(self, field) -> None:
        if self.start.data and field.data:
            if field.data < self.start.data:
                raise ValidationError(_l("The end date must be on or after the start date."))
            months = (field.data.year - self.start.data.year) * 12 + \
                field.data.month - self.start.data.month
            if months >= MAX_MONTHS:
                raise ValidationError(ngettext("Choose a range of up to %(num)s month.",
                                               "Choose a range of up to %(num)s months.",
                                               MAX_MONTHS))

    def filters(self) -> Filters:
        start, end = default_range()
        valid = not self.errors
        panel = self.panel.data if valid and self.panel.data else ""
        return Filters(
            start=self.start.data if valid and self.start.data else start,
            end=self.end.data if valid and self.end.data else end,
            panel_id=int(panel) if panel.isdigit() else None,
            question=self.question.data if valid and self.question.data else "ethnicity",
            organisation=(self.organisation.data or None) if valid else None,
        )


class AddFeedbackCodeForm(FlaskForm):
    """Signed in, so the ordinary session CSRF token protects it."""

    code = StringField(_l("Your feedback code"),
                       validators=[DataRequired(message=_l("Enter your feedback code."))])
