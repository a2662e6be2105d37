"""Forms for writing 'you said, we did' entries and linking feedback."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from engage.changes.models import CHANGE_STATUS_LABELS, ChangeStatus
from engage.changes.services import MAX_TEXT


class EntryForm(FlaskForm):
    said = TextAreaField(_l("You said: a summary of what people told us"), validators=[
        DataRequired(message=_l("Summarise what people said.")),
        Length(max=MAX_TEXT, message=_l("Please keep this to %(max)d characters.", max=MAX_TEXT))])
    done = TextAreaField(_l("We did: what was done, or what will be done"), validators=[
        DataRequired(message=_l("Say what was done, or what will be done.")),
        Length(max=MAX_TEXT, message=_l("Please keep this to %(max)d characters.", max=MAX_TEXT))])
    organisation = StringField(_l("Which organisation or service did it?"), validators=[
        DataRequired(message=_l("Say which organisation or service made the change.")),
        Length(max=120, message=_l("Use 120 characters or fewer."))])
    theme = StringField(_l("Theme (optional)"), validators=[Optional(), Length(max=60)])
    status = RadioField(_l("Status"), choices=[(str(s), CHANGE_STATUS_LABELS[s])
                                               for s in ChangeStatus],
                        default=str(ChangeStatus.CONSIDERING))
    not_possible_reason = TextAreaField(
        _l("If it is not possible, why not?"),
        validators=[Optional(), Length(max=MAX_TEXT)])
    target_on = DateField(_l("Target date (optional)"), validators=[Optional()],
                          format="%Y-%m-%d")
    completed_on = DateField(_l("Date completed (optional, set when done)"),
                             validators=[Optional()], format="%Y-%m-%d")


class FeedbackSearchForm(FlaskForm):
    """Find feedback in the triage list to link to an entry (a GET form: nothing changes)."""

    class Meta:
        csrf = False

    words = StringField(_l("Words in the feedback"), validators=[Optional(), Length(max=100)])
    received_from = DateField(_l("Received on or after"), validators=[Optional()],
                              format="%Y-%m-%d")
    received_to = DateField(_l("Received on or before"), validators=[Optional()],
                            format="%Y-%m-%d")
    theme = SelectField(_l("Theme"), coerce=int, validate_choice=False, default=0)

    @property
    def searched(self) -> bool:
        return bool(self.words.data or self.received_from.data or self.received_to.data
                    or self.theme.data)


class LinkFeedbackForm(FlaskForm):
    feedback_id = IntegerField(widget=HiddenInput(), validators=[
        DataRequired(message=_l("Choose the feedback to link from the list."))])


class SendBackForm(FlaskForm):
    note = TextAreaField(_l("What needs changing?"), validators=[
        DataRequired(message=_l("Say what needs changing, so the writer knows what to do.")),
        Length(max=2000, message=_l("Keep the comment to 2000 characters or fewer."))])


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Why is it being withdrawn? Everyone can read this."), validators=[
        DataRequired(message=_l("Give the reason people will see for withdrawing it.")),
        Length(max=300, message=_l("Keep the reason to 300 characters or fewer."))])


class LinkConsultationForm(FlaskForm):
    consultation = SelectField(_l("Consultation"), coerce=int, validate_choice=False,
                               validators=[DataRequired(
                                   message=_l("Choose a consultation from the list."))])


class LinkAnswerForm(FlaskForm):
    """From a consultation's answers page: link one written answer to an entry."""

    answer_id = HiddenField(validators=[DataRequired(), Length(max=32)])
    entry = SelectField(_l("Change"), coerce=int, validate_choice=False,
                        validators=[DataRequired(message=_l("Choose a change from the list."))])
    back = HiddenField()


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
