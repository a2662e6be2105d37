"""Panel forms. Every message says what to do next."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from engage.panels.models import Attribution, Visibility

INVOLVEMENT_LEVELS = [
    ("1", _l("Level 1: one-off, such as answering a survey")),
    ("2", _l("Level 2: occasional, such as a focus group or workshop")),
    ("3", _l("Level 3: regular member of a working group or panel")),
    ("4", _l("Level 4: strategic partner, such as a panel co-chair or lead")),
]

VISIBILITY_CHOICES = [
    (Visibility.PUBLIC.value, _l("Anyone, including people without an account")),
    (Visibility.MEMBERS.value, _l("Only people who are signed in")),
]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PanelForm(FlaskForm):
    name = StringField(_l("Panel name"), validators=[
        DataRequired(message=_l("Enter a name for the panel")),
        Length(max=120, message=_l("Use 120 characters or fewer."))])
    purpose = TextAreaField(_l("What the panel is for"), validators=[
        DataRequired(message=_l("Say in a sentence or two what the panel is for")),
        Length(max=2000, message=_l("Use 2,000 characters or fewer."))])
    who_for = TextAreaField(_l("Who the panel is for"), validators=[
        Length(max=2000, message=_l("Use 2,000 characters or fewer."))])
    terms_of_reference = TextAreaField(_l("Terms of reference"), validators=[
        Length(max=20000, message=_l("Use 20,000 characters or fewer."))])
    group_agreement = TextAreaField(_l("Group agreement"), validators=[
        Length(max=20000, message=_l("Use 20,000 characters or fewer."))])
    involvement_level = RadioField(_l("Involvement level of the panel's regular meetings"),
                                   choices=INVOLVEMENT_LEVELS, default="3",
                                   validators=[DataRequired(message=_l(
                                       "Choose the involvement level of the meetings"))])
    visibility = RadioField(_l("Who can see this panel in the list of panels"),
                            choices=VISIBILITY_CHOICES, default=Visibility.PUBLIC.value,
                            validators=[DataRequired(message=_l("Choose who can see the panel"))])
    open_for_applications = BooleanField(_l("Open for applications"), default=True)
    size_limit = IntegerField(_l("Size limit (optional)"), validators=[
        Optional(), NumberRange(min=1, max=10000, message=_l(
            "Enter a whole number of 1 or more, or leave it empty for no limit."))])
    facilitators = MultiCheckboxField(_l("Facilitators"), coerce=int)
    leads = MultiCheckboxField(_l("Lived-experience leads"), coerce=int)
    # Only for people who manage programmes (the view removes it for everyone else).
    programme = RadioField(_l("Programme"), choices=[], default="",
                           validators=[Optional()])

    def validate_leads(self, field):
        overlap = set(field.data or []) & set(self.facilitators.data or [])
        if overlap:
            raise ValidationError(_l("Choose each person as either a facilitator or a "
                                     "lived-experience lead, not both."))


class ApplyForm(FlaskForm):
    why_joining = TextAreaField(
        _l("Why you would like to join (optional)"),
        validators=[Length(max=3000, message=_l("Use 3,000 characters or fewer."))])
    access_needs = TextAreaField(
        _l("Support or access needs (optional)"),
        validators=[Length(max=3000, message=_l("Use 3,000 characters or fewer."))])
    accept_agreement = BooleanField(
        _l("I have read the involvement agreement and I accept it"),
        validators=[DataRequired(message=_l(
            "To apply, tick the box to say you accept the involvement agreement. If you have "
            "questions about it first, you can ask the panel's facilitator."))])


def default_accept_message(panel_name: str) -> str:
    return _("Welcome to %(panel)s. We are really glad you are joining us. There is no pressure "
             "to share anything you do not want to, and you can take a break or leave whenever "
             "you need to. Your facilitator will be in touch about what happens next.",
             panel=panel_name)


def default_decline_message(panel_name: str) -> str:
    return _("Thank you for applying to %(panel)s, and for thinking about giving your time. We "
             "are not able to offer you a place this time. This is not a judgement about you or "
             "your experience. You are welcome to look at our other panels and consultations, "
             "and to apply again in the future.", panel=panel_name)


class DecisionForm(FlaskForm):
    message = TextAreaField(_l("Message to the person"), validators=[
        DataRequired(message=_l("Write a short message to the person, or use the one we "
                                "suggested")),
        Length(max=3000, message=_l("Use 3,000 characters or fewer."))])


class PanelMessageForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[
        DataRequired(message=_l("Enter a subject")),
        Length(max=150, message=_l("Use 150 characters or fewer."))])
    body = TextAreaField(_l("Message"), validators=[
        DataRequired(message=_l("Enter your message")),
        Length(max=5000, message=_l("Use 5,000 characters or fewer."))])


ATTRIBUTION_CHOICES = [
    (Attribution.NOT_CREDITED.value, _l("Do not credit me (quotes appear without a name)")),
    (Attribution.PSEUDONYM.value, _l("Credit me with a name I choose")),
    (Attribution.DISPLAY_NAME.value, _l("Credit me with my display name")),
]


class AttributionForm(FlaskForm):
    choice = RadioField(_l("How would you like to be credited?"), choices=ATTRIBUTION_CHOICES,
                        validators=[DataRequired(message=_l(
                            "Choose how you would like to be credited"))])
    pseudonym = StringField(_l("The name you would like us to use"), validators=[
        Length(max=60, message=_l("Use 60 characters or fewer."))])

    def validate_pseudonym(self, field):
        if self.choice.data == Attribution.PSEUDONYM and not (field.data or "").strip():
            raise ValidationError(_l("Enter the name you would like us to use, or choose "
                                     "another option."))


class EmptyForm(FlaskForm):
    pass


class ProgrammeForm(FlaskForm):
    name = StringField(_l("Programme name"), validators=[
        DataRequired(message=_l("Enter a name for the programme")),
        Length(max=120, message=_l("Use 120 characters or fewer."))])
    description = TextAreaField(_l("Short description (optional)"), validators=[
        Length(max=500, message=_l("Use 500 characters or fewer."))])


class EditProgrammeForm(ProgrammeForm):
    is_active = BooleanField(_l("Active: panels can be added to this programme"))
