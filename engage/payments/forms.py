"""Payments forms. Money is typed in pounds ("6.50") and stored as integer pence."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FieldError
from wtforms.widgets import CheckboxInput, ListWidget

# ASCII digits only: Python's \d and int() also accept other scripts' digits (full-width
# digits, U+FF11 and so on), which a typed amount must not slip through as.
_POUNDS = re.compile(r"^£?\s*([0-9]{1,7})(?:\.([0-9]{1,2}))?$", re.ASCII)
_WHOLE = re.compile(r"^[0-9]{1,9}$", re.ASCII)
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)


def parse_pounds(text: str | None) -> int | None:
    """'6.50', '£6.5', '6' → pence. None for empty; ValueError for anything else."""
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    match = _POUNDS.match(text)
    if not match:
        raise ValueError(text)
    try:
        value = Decimal(match.group(1) + "." + (match.group(2) or "0"))
    except InvalidOperation as error:
        raise ValueError(text) from error
    return int(value * 100)


def pounds(pence: int | None) -> str:
    if pence is None:
        return ""
    return f"{pence // 100}.{pence % 100:02d}"


class MoneyField(StringField):
    """A pounds-and-pence text field whose `pence` holds the parsed value."""

    pence: int | None = None

    def pre_validate(self, form) -> None:
        try:
            self.pence = parse_pounds(self.data)
        except ValueError as error:
            raise FieldError(_l("Enter an amount in pounds and pence, like 6.50.")) from error


class WholeNumberField(IntegerField):
    """A whole number typed with the digits 0 to 9 (not full-width or other scripts' digits)."""

    def process_formdata(self, valuelist) -> None:
        text = (valuelist[0] if valuelist else "").strip().replace(",", "")
        if not text:
            self.data = None
            return
        if not _WHOLE.match(text):
            self.data = None
            raise ValueError(self.gettext("Enter a whole number using the digits 0 to 9, "
                                          "like 12."))
        self.data = int(text)


class PlainDateField(DateField):
    """A date as the browser's date box sends it (YYYY-MM-DD), digits 0 to 9 only."""

    def process_formdata(self, valuelist) -> None:
        text = (valuelist[0] if valuelist else "").strip()
        if text and not _ISO_DATE.match(text):
            self.data = None
            raise ValueError(self.gettext("Enter the date using the digits 0 to 9, like "
                                          "2027-03-14."))
        super().process_formdata(valuelist)


class PreferencesForm(FlaskForm):
    choice = RadioField(_l("Do you want to be paid for taking part?"), choices=[
        ("accept", _l("Yes, pay me")),
        ("cap", _l("Yes, up to a limit each tax year (6 April to 5 April)")),
        ("decline", _l("No, I do not want involvement payments (expenses are still paid)")),
    ], validators=[InputRequired(message=_l("Choose whether you want to be paid."))])
    cap = MoneyField(_l("The most you want to be paid in a tax year, in pounds"))
    route = RadioField(_l("How would you like to be paid?"), choices=[
        ("stripe", _l("Bank transfer (you connect your bank account securely through Stripe)")),
        ("payroll", _l("Through the organisation's payroll")),
        ("voucher", _l("A voucher or another way agreed with finance")),
    ], validators=[InputRequired(message=_l("Choose how you would like to be paid."))])
    capacity = RadioField(_l("How do you usually take part?"), choices=[
        ("self", _l("As myself, with my own lived experience")),
        ("representative", _l("As the representative of an organisation")),
        ("employee", _l("As a paid employee, in my work time")),
    ], validators=[InputRequired(message=_l("Choose how you usually take part."))])
    legal_name = StringField(_l("Your full legal name (only if paid through payroll)"),
                             validators=[Optional(), Length(max=120)])
    payroll_number = StringField(_l("Payroll number (only if paid through payroll)"),
                                 validators=[Optional(), Length(max=40)])
    access_needs_taxi = BooleanField(_l("My access needs mean I travel by taxi"))


class ExpenseClaimForm(FlaskForm):
    title = StringField(_l("What were the expenses for?"), validators=[
        DataRequired(message=_l("Say what the expenses were for, like 'Training day in Leeds'.")),
        Length(max=200)])
    activity_date = PlainDateField(_l("Date of the activity"), validators=[
        InputRequired(message=_l("Enter the date of the activity."))])
    panel_id = SelectField(_l("Which panel was it for?"), coerce=int, validators=[
        InputRequired(message=_l("Choose the panel the activity was for."))])


class ExpenseForm(FlaskForm):
    category = SelectField(_l("Type of expense"), validators=[
        InputRequired(message=_l("Choose the type of expense."))])
    expense_date = PlainDateField(_l("Date"), validators=[
        InputRequired(message=_l("Enter the date of the expense."))])
    amount = MoneyField(_l("Amount in pounds (for costs you paid)"))
    miles = WholeNumberField(_l("Miles (for car, motorcycle or bicycle journeys)"), validators=[
        Optional(), NumberRange(min=1, max=5000, message=_l("Enter the miles as a whole number, "
                                                            "like 12."))])
    description = StringField(_l("Short description (optional)"),
                              validators=[Optional(), Length(max=200)])
    preapproved = BooleanField(_l("This was agreed with the lead in advance"))
    receipt = FileField(_l("Receipt (PDF, JPEG or PNG, up to 10 MB)"))


CAPACITY_CHOICES = [
    ("self", _l("As myself, with my own lived experience")),
    ("representative", _l("For an organisation, as its representative (no involvement "
                          "payment; expenses are paid)")),
    ("employee", _l("As a paid employee, in my work time (no involvement payment; expenses "
                    "are paid)")),
]


class SubmitClaimForm(FlaskForm):
    # Shown on claims with an involvement payment; when not sent, the person's usual way.
    capacity = RadioField(_l("How did you take part in this activity?"),
                          choices=CAPACITY_CHOICES, validators=[Optional()])
    decline_this_time = BooleanField(_l("I do not want the involvement payment for this "
                                        "activity (expenses are still paid)"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Give a reason so the person knows what happens next.")),
        Length(max=2000)])


def _reason_form(field_id: str, label, message) -> type[FlaskForm]:
    """A reason box posted as `reason`, with an id of its own: a claim page can show several
    of these forms, and ids must be unique on a page."""

    class ActionReasonForm(FlaskForm):
        reason = TextAreaField(label, id=field_id, validators=[
            DataRequired(message=message), Length(max=2000)])

    return ActionReasonForm


LeadReturnForm = _reason_form("return-reason", _l("Why you are returning it"), _l(
    "Say what needs changing, so the member knows what to do."))
LeadRejectForm = _reason_form("lead-reject-reason", _l("Why should it not be paid?"), _l(
    "Say why the claim should not be paid, so the member knows."))
FinanceReturnForm = _reason_form("finance-return-reason", _l("What needs changing?"), _l(
    "Say what needs changing, so the member knows what to do."))
FinanceRejectForm = _reason_form("reject-reason", _l("Why it is not approved"), _l(
    "Say why the claim is not approved, so the member knows."))
LateOverrideForm = _reason_form("late-reason", _l("Reason for accepting it late"), _l(
    "Say why this late claim should be paid."))


class LeadApproveForm(FlaskForm):
    reason = TextAreaField(_l("Note for finance (optional)"), id="approve-note",
                           validators=[Optional(), Length(max=2000)])


class WithdrawForm(FlaskForm):
    withdraw_reason = TextAreaField(_l("Why is the approval being withdrawn?"), validators=[
        DataRequired(message=_l("Say why, so the member and finance know what happens next.")),
        Length(max=2000)])
    to = RadioField(_l("What happens to the claim next?"), choices=[
        ("member", _l("Return it to the member to change and send again")),
        ("finance", _l("Keep it with finance to check and approve again")),
        ("not_paid", _l("It will not be paid (tell the member why)")),
    ], validators=[InputRequired(message=_l("Choose what happens to the claim next."))])


class PayrollExportForm(FlaskForm):
    pay_date = PlainDateField(_l("Date payroll will pay these claims"), validators=[
        InputRequired(message=_l("Enter the date payroll will pay these claims."))])


class NoteForm(FlaskForm):
    reason = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=2000)])


class BulkApproveForm(FlaskForm):
    claim_ids = SelectMultipleField(_l("Claims"), coerce=int, option_widget=CheckboxInput(),
                                    widget=ListWidget(prefix_label=False))


class ReferenceForm(FlaskForm):
    reference = StringField(_l("Payment reference (voucher number or bank reference)"),
                            validators=[DataRequired(message=_l("Enter the payment reference.")),
                                        Length(max=120)])


class PolicyVersionForm(FlaskForm):
    label = StringField(_l("Name of this version"), validators=[
        DataRequired(message=_l("Give the version a name, like 'April 2027 rates'.")),
        Length(max=80)])
    effective_from = DateField(_l("In force from"), validators=[
        InputRequired(message=_l("Enter the date this version comes into force."))])
    paid_levels = SelectMultipleField(
        _l("Involvement levels that earn an involvement payment"), coerce=int,
        choices=[(1, "1"), (2, "2"), (3, "3"), (4, "4")], option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False))
    payment_mode = RadioField(_l("How involvement is paid"), choices=[
        ("day_rate", _l("Half day and full day amounts")),
        ("hourly", _l("An hourly rate, up to the full day amount")),
    ], validators=[InputRequired()])
    half_day = MoneyField(_l("Half day, in pounds"))
    full_day = MoneyField(_l("Full day (or most per activity), in pounds"))
    hourly = MoneyField(_l("Hourly rate, in pounds"))
    threshold_minutes = IntegerField(_l("Half day threshold, in minutes"), validators=[
        InputRequired(), NumberRange(min=1, max=1440)])
    threshold_is_half_day = BooleanField(_l("An activity of exactly the threshold is a half day"))
    claim_deadline_months = IntegerField(
        _l("Claims must be made within (calendar months after the activity)"), validators=[
            InputRequired(), NumberRange(min=1, max=120)])
    target_payment_days = IntegerField(_l("Target time to pay (days)"), validators=[
        InputRequired(), NumberRange(min=1, max=365)])
    cost_code = StringField(_l("Cost code for payroll"), validators=[Optional(), Length(max=40)])
    car_first_rate = IntegerField(_l("Car: pence a mile for the first band"), validators=[
        InputRequired(), NumberRange(min=0, max=1000)])
    car_band_miles = IntegerField(_l("Car: miles in the tax year before the lower rate"),
                                  validators=[InputRequired(), NumberRange(min=1)])
    car_after_rate = IntegerField(_l("Car: pence a mile after that"), validators=[
        InputRequired(), NumberRange(min=0, max=1000)])
    meals_cap = MoneyField(_l("Meals: most per claim line, in pounds"))
    accommodation_cap = MoneyField(_l("Accommodation: most a night, in pounds"))
    notes = TextAreaField(_l("Notes (where the figures come from)"),
                          validators=[Optional(), Length(max=4000)])


class SchemeForm(FlaskForm):
    code = StringField(_l("Short code (letters, numbers and dashes)"), validators=[
        DataRequired(message=_l("Enter a short code, like 'pcc-2027'.")), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter a name.")),
                                               Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])

    def validate_code(self, field) -> None:
        if not re.fullmatch(r"[a-z0-9-]+", field.data or ""):
            raise FieldError(_l("Use lower-case letters, numbers and dashes only."))


class PayoutBatchForm(FlaskForm):
    claim_ids = SelectMultipleField(_l("Claims to pay"), coerce=int,
                                    option_widget=CheckboxInput(),
                                    widget=ListWidget(prefix_label=False))


class SupportForm(FlaskForm):
    """An advance paid or a ticket booked for someone booked on an event."""

    person = SelectField(_l("Who is it for?"), coerce=int, validators=[
        InputRequired(message=_l("Choose the person it is for."))])
    kind = RadioField(_l("What was done?"), choices=[
        ("advance", _l("An advance was paid to them")),
        ("ticket", _l("A ticket was booked and paid for them by the organisation")),
    ], validators=[InputRequired(message=_l("Choose whether it was an advance or a ticket."))])
    amount = MoneyField(_l("Amount in pounds"), validators=[
        DataRequired(message=_l("Enter the amount in pounds and pence, like 20.00."))])
    paid_on = DateField(_l("Date it was paid or booked"), validators=[
        InputRequired(message=_l("Enter the date it was paid or booked."))])
    route = RadioField(_l("How the advance was paid (advances only)"), choices=[
        ("stripe", _l("Bank transfer")), ("payroll", _l("Organisation's payroll")),
        ("voucher", _l("Voucher, cash or another way")),
    ], validators=[Optional()])
    reference = StringField(_l("Payment reference or voucher number (advances only)"),
                            validators=[Optional(), Length(max=120)])
    description = StringField(_l("What was booked (tickets only)"),
                              validators=[Optional(), Length(max=200)])
    # A fresh random token per form: the same form sent twice records one row.
    token = HiddenField()


class OtherPaymentForm(FlaskForm):
    """Finance records a claim as paid outside Stripe."""

    method = RadioField(_l("How was it paid?"), choices=[
        ("voucher", _l("Voucher")), ("cash", _l("Cash")), ("payroll", _l("Payroll")),
    ], validators=[InputRequired(message=_l("Choose how it was paid: voucher, cash or "
                                            "payroll."))])
    reference = StringField(_l("Voucher number or payment reference"), validators=[
        DataRequired(message=_l("Enter the voucher number or payment reference.")),
        Length(max=120)])
