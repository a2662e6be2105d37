"""Account forms. Every message says what to do next."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

USERNAME_RULE = Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{2,39}$",
    message=_l("Use 3 to 40 letters, numbers, dots, dashes or underscores, starting with a "
               "letter or number."),
)


def _required(what: str):
    return DataRequired(message=_l("Enter %(what)s", what=what))


class RegisterForm(FlaskForm):
    username = StringField(_l("Username"), validators=[_required(_l("a username")),
                                                        USERNAME_RULE])
    display_name = StringField(
        _l("Display name"),
        validators=[_required(_l("a display name")),
                    Length(max=80, message=_l("Use 80 characters or fewer."))],
    )
    email = EmailField(
        _l("Email address (optional)"),
        validators=[Optional(), Email(message=_l("Enter an email address like "
                                                 "name@example.org, or leave it empty."))],
    )
    password = PasswordField(_l("Password"), validators=[_required(_l("a password"))])


class SignInForm(FlaskForm):
    username = StringField(_l("Username"), validators=[_required(_l("your username"))])
    password = PasswordField(_l("Password"), validators=[_required(_l("your password"))])


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[_required(_l("the code"))])


class RecoverForm(FlaskForm):
    username = StringField(_l("Username"), validators=[_required(_l("your username"))])
    code = StringField(_l("Recovery code"), validators=[_required(_l("one of your recovery "
                                                                    "codes"))])
    password = PasswordField(_l("New password"), validators=[_required(_l("a new password"))])


class ForgotForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[_required(_l("your email address")),
                    Email(message=_l("Enter an email address like name@example.org."))],
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[_required(_l("a new password"))])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[_required(_l("your current password"))])
    password = PasswordField(_l("New password"), validators=[_required(_l("a new password"))])


class ContactForm(FlaskForm):
    email = EmailField(
        _l("Email address (optional)"),
        validators=[Optional(), Email(message=_l("Enter an email address like "
                                                 "name@example.org, or leave it empty."))],
    )
    email_is_safe = BooleanField(_l("It is safe to email me at this address"))
    discreet_mode = RadioField(
        _l("What should our emails say?"),
        choices=[
            ("on", _l("Nothing about what it is: a neutral subject and 'sign in to read it' "
                      "(recommended)")),
            ("off", _l("The message itself")),
        ],
        default="on",
    )


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[_required(_l("your password"))])


class CloseAccountForm(ConfirmPasswordForm):
    contributions = RadioField(
        _l("What should happen to what you contributed?"),
        choices=[("remove", _l("Delete my contributions")),
                 ("keep", _l("Keep my contributions without my name"))],
        default="remove",
        validators=[DataRequired(message=_l("Choose what should happen to what you "
                                            "contributed"))],
    )


class JoinStaffForm(FlaskForm):
    username = StringField(_l("Username"), validators=[_required(_l("a username")),
                                                        USERNAME_RULE])
    password = PasswordField(_l("Password"), validators=[_required(_l("a password"))])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""
