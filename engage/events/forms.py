"""Event forms. Every message says what to do next."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional

from engage.events.models import ATTENDANCE_LABELS, KIND_LABELS, EventMode

KIND_CHOICES = [(str(k), label) for k, label in KIND_LABELS.items()]
MODE_CHOICES = [(str(m), m.label) for m in EventMode]
LEVEL_CHOICES = [
    ("", _l("The panel's usual level (level 2 for open events)")),
    ("1", _l("Level 1: being informed")),
    ("2", _l("Level 2: being consulted")),
    ("3", _l("Level 3: shaping and advising")),
    ("4", _l("Level 4: leading and co-producing")),
]
REPEAT_CHOICES = [
    ("", _l("Does not repeat")),
    ("weekly", _l("Every week")),
    ("fortnightly", _l("Every two weeks")),
    ("monthly", _l("Every month, on the same date")),
]
ATTENDANCE_CHOICES = [(str(k), label) for k, label in ATTENDANCE_LABELS.items()]


class EventForm(FlaskForm):
    title = StringField(_l("Title"), validators=[
        DataRequired(message=_l("Enter a title for the event")),
        Length(max=150, message=_l("Use 150 characters or fewer."))])
    kind = SelectField(_l("Type of event"), choices=KIND_CHOICES)
    panel_id = SelectField(_l("Who can come"), choices=[])
    description = TextAreaField(_l("What the event is about (optional)"), validators=[
        Length(max=5000, message=_l("Use 5,000 characters or fewer."))])
    content_note = TextAreaField(_l("Content note (optional)"), validators=[
        Length(max=1000, message=_l("Use 1,000 characters or fewer."))])
    day = DateField(_l("Date"), validators=[
        InputRequired(message=_l("Enter the date of the event, for example 27 3 2027"))])
    start_time = TimeField(_l("Start time"), validators=[
        InputRequired(message=_l("Enter the start time, for example 18:00"))])
    end_time = TimeField(_l("End time"), validators=[
        InputRequired(message=_l("Enter the end time, for example 20:00"))])
    last_date = DateField(_l("Last day (only for an event over more than one day)"),
                         validators=[Optional()])
    runs = RadioField(_l("If it is over more than one day, how does it run?"), choices=[
        ("daily", _l("Each day, from the start time to the end time")),
        ("continuous", _l("Without a break, from the start on the first day to the end on the "
                          "last day")),
    ], default="daily", validators=[Optional()])
    mode = RadioField(_l("How people join"), choices=MODE_CHOICES, default=EventMode.IN_PERSON,
                      validators=[InputRequired(message=_l("Choose how people join"))])
    venue = TextAreaField(_l("Venue and address (in person)"), validators=[
        Length(max=500, message=_l("Use 500 characters or fewer."))])
    venue_accessibility = TextAreaField(_l("Accessibility of the venue (optional)"), validators=[
        Length(max=2000, message=_l("Use 2,000 characters or fewer."))])
    join_link = StringField(_l("Join link (online)"), validators=[
        Optional(), URL(message=_l("Enter the full join link, starting with https://"))])
    join_opens_minutes = IntegerField(
        _l("Show the join link this many minutes before the start"), default=30,
        validators=[InputRequired(message=_l("Enter a number of minutes, for example 30")),
                    NumberRange(min=0, max=1440, message=_l("Enter 0 to 1440 minutes."))])
    capacity = IntegerField(_l("Number of places"), default=12, validators=[
        InputRequired(message=_l("Enter how many places there are, for example 12")),
        NumberRange(min=1, max=10000, message=_l("Enter 1 or more places."))])
    offer_hours = IntegerField(
        _l("Hours someone on the waiting list has to accept a place"), default=24,
        validators=[InputRequired(message=_l("Enter a number of hours, for example 24")),
                    NumberRange(min=1, max=336, message=_l("Enter 1 to 336 hours."))])
    involvement_level = SelectField(_l("Involvement level"), choices=LEVEL_CHOICES)
    prep_paid = BooleanField(_l("Preparation time is paid"))
    prep_minutes = IntegerField(_l("Paid preparation time in minutes"), default=0, validators=[
        Optional(), NumberRange(min=0, max=6000, message=_l("Enter 0 or more minutes."))])
    repeat = SelectField(_l("Repeat"), choices=REPEAT_CHOICES)
    repeat_until = DateField(_l("Repeat until"), validators=[Optional()])


class EditEventForm(EventForm):
    repeat = None
    repeat_until = None


class BookingForm(FlaskForm):
    join_mode = RadioField(_l("How will you join?"), choices=[
        (str(EventMode.IN_PERSON), _l("In person")), (str(EventMode.ONLINE), _l("Online"))],
        validators=[Optional()])
    access_needs = TextAreaField(_l("Access needs (optional)"), validators=[
        Length(max=2000, message=_l("Use 2,000 characters or fewer."))])
    support_needs = TextAreaField(_l("Support on the day (optional)"), validators=[
        Length(max=2000, message=_l("Use 2,000 characters or fewer."))])
    needs_travel_booked = BooleanField(_l("I would like the organisers to book my travel"))
    needs_advance = BooleanField(_l("I would like an advance for my costs"))
    declines_payment = BooleanField(_l("I do not want to be paid for taking part in this "
                                       "event"))


class CancelEventForm(FlaskForm):
    reason = TextAreaField(_l("Message to people who booked (optional)"), validators=[
        Length(max=1000, message=_l("Use 1,000 characters or fewer."))])
    payable = BooleanField(_l("People with a place are paid as if it went ahead"))


class CorrectionForm(FlaskForm):
    status = RadioField(_l("Attendance"), choices=ATTENDANCE_CHOICES,
                        validators=[InputRequired(message=_l("Choose the attendance"))])
    minutes = IntegerField(_l("Minutes taken part (for attended part)"), validators=[Optional()])
    reason = TextAreaField(_l("Why the record is being corrected"), validators=[
        DataRequired(message=_l("Say why the record is being corrected")),
        Length(max=1000, message=_l("Use 1,000 characters or fewer."))])


class CancelPlaceForm(FlaskForm):
    message = TextAreaField(_l("Message to them (optional)"), validators=[
        Length(max=1000, message=_l("Use 1,000 characters or fewer."))])


WALK_IN_CHOICES = [(str(k), ATTENDANCE_LABELS[k]) for k in ("attended", "attended_part")]


class WalkInForm(FlaskForm):
    status = RadioField(_l("Attendance"), choices=WALK_IN_CHOICES, default="attended",
                        validators=[InputRequired(message=_l("Choose the attendance"))])
    minutes = IntegerField(_l("Minutes taken part (for attended part)"), validators=[Optional()])
    reason = TextAreaField(_l("Why they are being added"), validators=[
        Length(max=1000, message=_l("Use 1,000 characters or fewer."))])


class OrganiserForm(FlaskForm):
    user_id = SelectField(_l("Member of staff"), coerce=int, choices=[], validate_choice=False,
                          validators=[InputRequired(message=_l("Choose a member of staff"))])
