"""Consultation forms for staff. The answer page reads its fields directly (services.parse_answers),
because its questions are made by facilitators."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from engage.consultations.models import OPTION_KINDS, QuestionKind
from engage.core.entry_method import ENTRY_METHOD_CHOICES

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
WHEN_HINT = _l("Time in the UK. For example 2026-12-01 at 09:00.")


def _when(label):
    return DateTimeLocalField(label, format=DATETIME_FORMAT, validators=[
        InputRequired(message=_l("Enter a date and time, like 2026-12-01 09:00"))])


class ConsultationForm(FlaskForm):
    title = StringField(_l("Title"), validators=[
        DataRequired(message=_l("Enter a title")),
        Length(max=150, message=_l("Use 150 characters or fewer."))])
    summary = TextAreaField(_l("Summary"), validators=[
        DataRequired(message=_l("Enter a short summary of what you are asking about")),
        Length(max=1000, message=_l("Use 1,000 characters or fewer."))])
    background = TextAreaField(_l("Background (optional)"), validators=[
        Length(max=20000, message=_l("Use 20,000 characters or fewer."))])
    content_note = TextAreaField(_l("Content note (optional)"), validators=[
        Length(max=1000, message=_l("Use 1,000 characters or fewer."))])
    opens_at = _when(_l("Opens"))
    closes_at = _when(_l("Closes"))
    response_type = RadioField(_l("Are responses named or anonymous?"), choices=[
        ("named", _l("Named: staff can see who gave each answer, and people can change their "
                     "answers until the close")),
        ("anonymous", _l("Anonymous: answers are stored with no link to the person")),
    ], default="anonymous", validators=[DataRequired(message=_l(
        "Choose whether responses are named or anonymous"))])

    def validate_closes_at(self, field):
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("The closing time must be after the opening time."))


class ExtendForm(FlaskForm):
    closes_at = _when(_l("New closing date and time"))


class PartForm(FlaskForm):
    title = StringField(_l("Title of the part"), validators=[
        DataRequired(message=_l("Enter a title for the part")),
        Length(max=150, message=_l("Use 150 characters or fewer."))])
    intro = TextAreaField(_l("Introduction (optional)"), validators=[
        Length(max=2000, message=_l("Use 2,000 characters or fewer."))])
    content_note = TextAreaField(_l("Content note (optional)"), validators=[
        Length(max=1000, message=_l("Use 1,000 characters or fewer."))])


QUESTION_KINDS = [(k.value, _l(k.label)) for k in QuestionKind]


class QuestionForm(FlaskForm):
    part_id = SelectField(_l("Part"), coerce=int)
    kind = RadioField(_l("Type of question"), choices=QUESTION_KINDS,
                      default=QuestionKind.FREE_TEXT.value,
                      validators=[DataRequired(message=_l("Choose a type of question"))])
    text = StringField(_l("Question"), validators=[
        DataRequired(message=_l("Enter the question")),
        Length(max=500, message=_l("Use 500 characters or fewer."))])
    hint = TextAreaField(_l("Hint (optional)"), validators=[
        Length(max=1000, message=_l("Use 1,000 characters or fewer."))])
    required = BooleanField(_l("People must answer this question"))
    max_length = IntegerField(_l("Length limit for free text (characters)"), default=1500,
                              validators=[InputRequired(message=_l("Enter a length limit")),
                                          NumberRange(min=1, max=10000, message=_l(
                                              "Enter a number from 1 to 10,000"))])
    options = TextAreaField(_l("Options, or the statements of a matrix, one on each line"),
                            validators=[Length(max=5000, message=_l(
                                "Use 5,000 characters or fewer."))])
    columns = TextAreaField(_l("Ratings for a matrix, one on each line (optional)"), validators=[
        Length(max=1000, message=_l("Use 1,000 characters or fewer."))])
    scale_low_label = StringField(_l("Label for 1 on a scale"), validators=[
        Length(max=60, message=_l("Use 60 characters or fewer."))])
    scale_high_label = StringField(_l("Label for 5 on a scale"), validators=[
        Length(max=60, message=_l("Use 60 characters or fewer."))])

    def validate_options(self, field):
        lines = [line for line in (field.data or "").splitlines() if line.strip()]
        if self.kind.data == QuestionKind.MATRIX:
            if not lines:
                raise ValidationError(_l("Enter the statements to rate, one on each line."))
        elif self.kind.data in OPTION_KINDS and len(lines) < 2:
            raise ValidationError(_l("Enter at least two options, one on each line."))


class TagForm(FlaskForm):
    label = StringField(_l("Add a tag"), validators=[
        DataRequired(message=_l("Enter a tag, for example \"waiting times\"")),
        Length(max=40, message=_l("Use 40 characters or fewer."))])


class EmptyForm(FlaskForm):
    pass


class OnBehalfForm(FlaskForm):
    """Staff enter a person's answers for them. The questions are read by
    services.parse_answers, like the answer page's."""

    member = SelectField(_l("Who are you entering answers for?"), validate_choice=False)
    method = RadioField(
        _l("How did the person give you their answers?"),
        choices=ENTRY_METHOD_CHOICES,
        validators=[DataRequired(message=_l("Choose how the person gave you their answers."))],
        validate_choice=False,  # the service refuses anything else with the same message
    )
    consent = BooleanField(
        _l("They agreed that I enter this for them"),
        validators=[DataRequired(message=_l(
            "Tick the box to confirm the person agreed to you entering their answers for them. "
            "If they have not agreed, please do not enter them."))],
    )
