"""Feedback forms. The anonymous ones carry no session CSRF token: see anonymous.py."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from engage.core.entry_method import ENTRY_METHOD_CHOICES
from engage.feedback.models import MAX_FEEDBACK_LENGTH
from engage.feedback.services import MAX_QUOTE_LENGTH, MAX_REASON_LENGTH, MAX_REPLY_LENGTH


class AnonymousForm(FlaskForm):
    class Meta:
        csrf = False

    form_token = HiddenField()


class GiveFeedbackForm(AnonymousForm):
    body = TextAreaField(
        _l("What do you want to tell us?"),
        validators=[DataRequired(message=_l("Tell us what you want to say before sending.")),
                    Length(max=MAX_FEEDBACK_LENGTH,
                           message=_l("Please shorten your feedback to %(max)d characters or "
                                      "fewer.", max=MAX_FEEDBACK_LENGTH))],
    )
    topic = SelectField(_l("Which service or topic is it about? (optional)"),
                        validators=[Optional()], validate_choice=False)
    may_quote = RadioField(
        _l("If your feedback leads to a change, may we quote it?"),
        choices=[("no", _l("No, please do not quote me")),
                 ("yes", _l("Yes, you may quote it without my name, after taking out "
                            "anything that could identify me"))],
        default="no", validate_choice=False,  # anything but "yes" means no
    )
    attach_name = RadioField(
        _l("Do you want to add your name?"),
        choices=[("anonymous", _l("No, send it anonymously")),
                 ("named", _l("Yes, add my name so I can see replies in my account"))],
        default="anonymous", validate_choice=False,  # anything but "named" is anonymous
    )
    # Honeypot: hidden from people by CSS; automated spam tends to fill every field.
    website = StringField(_l("Leave this field empty"))


class OnBehalfForm(FlaskForm):
    """Staff enter feedback for someone. Session CSRF as on every staff form, plus the page's
    one-time form token, so sending the page twice stores one item and shows the same code."""

    form_token = HiddenField()
    method = RadioField(
        _l("How did the person give you their feedback?"),
        choices=ENTRY_METHOD_CHOICES,
        validators=[DataRequired(message=_l("Choose how the person gave you their feedback."))],
        validate_choice=False,  # the service refuses anything else with the same message
    )
    body = TextAreaField(
        _l("What does the person want to tell us?"),
        validators=[DataRequired(message=_l("Write the person's feedback before sending.")),
                    Length(max=MAX_FEEDBACK_LENGTH,
                           message=_l("Please shorten the feedback to %(max)d characters or "
                                      "fewer.", max=MAX_FEEDBACK_LENGTH))],
    )
    topic = SelectField(_l("Which service or topic is it about? (optional)"),
                        validators=[Optional()], validate_choice=False)
    may_quote = RadioField(
        _l("If the feedback leads to a change, may we quote it?"),
        choices=[("no", _l("No, do not quote them")),
                 ("yes", _l("Yes, it may be quoted without their name, after taking out "
                            "anything that could identify them"))],
        default="no", validate_choice=False,
    )
    consent = BooleanField(
        _l("The person agreed to me entering this for them"),
        validators=[DataRequired(message=_l(
            "Tick the box to confirm the person agreed to you entering this for them. If they "
            "have not agreed, please do not enter it."))],
    )


class CheckCodeForm(AnonymousForm):
    code = StringField(_l("Your feedback code"),
                       validators=[DataRequired(message=_l("Enter your feedback code."))])


class CodeActionForm(AnonymousForm):
    code = HiddenField()
    confirmed = HiddenField()


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"), validators=[
        DataRequired(message=_l("Write your reply before sending it.")),
        Length(max=MAX_REPLY_LENGTH, message=_l("Please shorten the reply."))])


class CloseForm(FlaskForm):
    reason = TextAreaField(_l("Why is it being closed? The person will see this."), validators=[
        DataRequired(message=_l("Say why the feedback is being closed.")),
        Length(max=MAX_REASON_LENGTH, message=_l("Please shorten the reason."))])


class ThemesForm(FlaskForm):
    themes = StringField(_l("Themes (separate them with commas)"),
                         validators=[Length(max=600)])


class QuoteForm(FlaskForm):
    quote = TextAreaField(_l("Words that may be quoted, with identifying details taken out"),
                          validators=[Length(max=MAX_QUOTE_LENGTH,
                                             message=_l("Please shorten the quote."))])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
