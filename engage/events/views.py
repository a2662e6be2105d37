"""Event pages: calendar, booking, waiting list, calendar feeds, organising and registers."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from engage.accounts.decorators import require
from engage.accounts.forms import EmptyForm
from engage.core import clock, page_shell
from engage.core.permissions import Permission
from engage.errors import DomainError, NotFound
from engage.events import ical, services
from engage.events.forms import (
    KIND_CHOICES,
    MODE_CHOICES,
    BookingForm,
    CancelEventForm,
    CancelPlaceForm,
    CorrectionForm,
    EditEventForm,
    EventForm,
    OrganiserForm,
    WalkInForm,
)
from engage.events.models import ATTENDANCE_LABELS, BookingStatus, EventMode
from engage.panels.services import role_notices

bp = Blueprint("events", __name__, url_prefix="/events")
MODE_FILTER_CHOICES = [choice for choice in MODE_CHOICES if choice[0] != EventMode.BOTH]
NEW_FEED_TOKEN = "new_calendar_feed_token"  # noqa: S105 - a session key name


def _user():
    return current_user._get_current_object()


def _event(event_id: int):
    return services.get_event(event_id, _user())


def _managed(event_id: int):
    return services.get_managed_event(event_id, _user())


# --- calendar pages -----------------------------------------------------------------------------


KIND_NAMES = frozenset(dict(KIND_CHOICES))


def _wanted_filters() -> services.EventFilters:
    """The list's filters as asked for (a panel is checked against the person's choices)."""
    args = request.args.to_dict()
    try:
        panel_id = int(args.get("panel", "") or 0) or None
    except ValueError:
        panel_id = None
    kind, mode = args.get("kind", ""), args.get("mode", "")
    return services.EventFilters(
        kind=kind if kind in KIND_NAMES else "",
        panel_id=panel_id,
        mode=mode if mode in (EventMode.IN_PERSON, EventMode.ONLINE) else "",
        booked_only=args.get("booked") == "y",
    )


def index_reads(person_id: int) -> list[tuple]:
    """The list's own read for someone who holds no staff role, read within the signed-in
    person's query (wiring.send_with_person): the page then asks the database once."""
    return services.listing_reads(person_id, _wanted_filters())


@bp.route("/")
@login_required
def index():
    user = _user()
    listing = services.events_listing(user, _wanted_filters())
    filters, panel_choices = listing.filters, listing.panel_choices
    can_create = services.can_create_events(user)
    registers = services.count_registers_to_complete(user)

    def events_and_bookings() -> dict:
        events, bookings = services.upcoming_with_bookings(user, filters)
        return {"events": events, "bookings": bookings}

    # Kept (engage/core/page_shell.py): the key holds everything the list shows, read as one
    # text value; the events themselves are loaded only when the page is drawn.
    return page_shell.kept_page(
        "events/index.html", draw=events_and_bookings,
        key=(tuple(vars(filters).values()), tuple(panel_choices), can_create, registers,
             listing.shown),
        filters=filters, kind_choices=KIND_CHOICES, panel_choices=panel_choices,
        mode_choices=MODE_FILTER_CHOICES, can_create=can_create,
        registers_to_complete=registers)


@bp.route("/registers")
@require(Permission.MANAGE_EVENTS)
def registers():
    return render_template("events/registers.html",
                           events=services.registers_to_complete(_user()))


@bp.route("/calendar")
@login_required
def month():
    today = clock.today_london()
    try:
        year, month_number = (int(part) for part in request.args.get("month", "").split("-"))
        first = date(year, month_number, 1)
    except ValueError:
        first = today.replace(day=1)
    if not date(2000, 1, 1) <= first <= date(2100, 12, 1):
        first = today.replace(day=1)
    start = clock.from_london(datetime.combine(first, time()))
    following = (first + timedelta(days=32)).replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    end = clock.from_london(datetime.combine(following, time()))
    by_day: dict[date, list] = {}
    for event in services.events_between(_user(), start, end):
        days = event.sessions
        for number, day in enumerate(days, start=1):
            if day.day.month == first.month:
                by_day.setdefault(day.day, []).append((event, day, number, len(days)))
    return render_template(
        "events/month.html", first=first, weeks=services.month_grid(first.year, first.month),
        by_day=by_day, today=today, previous=previous, following=following)


@bp.route("/mine")
@login_required
def mine():
    user = _user()
    token = session.pop(NEW_FEED_TOKEN, None)
    feed_url = url_for("events.feed", token=token, _external=True) if token else None
    return render_template("events/mine.html", bookings=services.bookings_of(user),
                           feed=services.feed_of(user), feed_url=feed_url, form=EmptyForm())


# --- one event ----------------------------------------------------------------------------------


@bp.route("/<int:event_id>")
@login_required
def detail(event_id: int):
    user = _user()
    event = _event(event_id)
    booking = services.booking_of(user, event)
    return render_template(
        "events/detail.html", event=event, booking=booking,
        join_link=services.join_link_for(user, event),
        join_opens_at=services.join_link_opens_at(event),
        waiting_position=services.waiting_position(booking) if booking else None,
        can_book=services.can_book(user, event),
        can_manage=services.can_manage_event(user, event),
        register=services.register_of(event), form=EmptyForm())


@bp.route("/<int:event_id>.ics")
@login_required
def ics(event_id: int):
    event = _event(event_id)
    body = ical.single_event(event, discreet=_user().discreet_mode)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="event-{event.id}.ics"'})


# --- booking ------------------------------------------------------------------------------------


def _booking_details(form: BookingForm) -> services.BookingDetails:
    return services.BookingDetails(
        join_mode=form.join_mode.data or "", access_needs=form.access_needs.data or "",
        support_needs=form.support_needs.data or "",
        needs_travel_booked=form.needs_travel_booked.data, needs_advance=form.needs_advance.data,
        declines_payment=form.declines_payment.data)


@bp.route("/<int:event_id>/book", methods=["GET", "POST"])
@login_required
def book(event_id: int):
    user = _user()
    event = _event(event_id)
    if not services.can_book(user, event):
        abort(403)
    booking = services.booking_of(user, event)
    form = BookingForm(obj=booking if booking and booking.is_active else None)
    if form.validate_on_submit():
        try:
            if booking is not None and booking.is_active:
                services.update_booking_needs(user, booking, _booking_details(form))
                message = _("Your booking details are saved.")
            else:
                booking = services.book_event(user, event, _booking_details(form))
                message = (_("Your place is booked.")
                           if booking.status == BookingStatus.CONFIRMED else
                           _("The event is full, so you are on the waiting list. We will tell "
                             "you if a place comes free."))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(message, "success")
            return redirect(url_for("events.detail", event_id=event.id))
    return render_template("events/book.html", event=event, form=form, booking=booking,
                           notices=[] if booking is not None and booking.is_active else
                           role_notices(user, event.involvement_level, f"event {event.id}"))


def _own_booking(event_id: int):
    event = _event(event_id)
    booking = services.booking_of(_user(), event)
    if booking is None:
        raise NotFound()
    return event, booking


@bp.route("/<int:event_id>/booking/cancel", methods=["GET", "POST"])
@login_required
def cancel_booking(event_id: int):
    event, booking = _own_booking(event_id)
    form = EmptyForm()
    if form.validate_on_submit():
        was_waiting = booking.status == BookingStatus.WAITING
        services.cancel_booking(_user(), booking)
        flash(_("You have left the waiting list.") if was_waiting else
              _("Your booking is cancelled. Thank you for letting us know."), "success")
        return redirect(url_for("events.detail", event_id=event.id))
    if not booking.is_active:
        return redirect(url_for("events.detail", event_id=event.id))
    return render_template("events/cancel_booking.html", event=event, booking=booking, form=form)


@bp.route("/<int:event_id>/offer/accept", methods=["POST"])
@login_required
def accept_offer(event_id: int):
    event, booking = _own_booking(event_id)
    if EmptyForm().validate_on_submit():
        services.accept_offer(_user(), booking)
        flash(_("The place is yours. We look forward to seeing you."), "success")
    return redirect(url_for("events.detail", event_id=event.id))


@bp.route("/<int:event_id>/offer/decline", methods=["POST"])
@login_required
def decline_offer(event_id: int):
    event, booking = _own_booking(event_id)
    if EmptyForm().validate_on_submit():
        services.decline_offer(_user(), booking)
        flash(_("Thank you for letting us know. The place will go to the next person."),
              "success")
    return redirect(url_for("events.detail", event_id=event.id))


# --- calendar feed ------------------------------------------------------------------------------


@bp.route("/feed", methods=["POST"])
@login_required
def feed_renew():
    if EmptyForm().validate_on_submit():
        token = services.renew_feed(_user())
        session[NEW_FEED_TOKEN] = token
    return redirect(url_for("events.mine") + "#calendar-feed")


@bp.route("/feed/revoke", methods=["POST"])
@login_required
def feed_revoke():
    if EmptyForm().validate_on_submit():
        services.revoke_feed(_user())
        flash(_("Your calendar feed is turned off. The old address no longer works."),
              "success")
    return redirect(url_for("events.mine") + "#calendar-feed")


@bp.route("/feed/<token>.ics")
def feed(token: str):
    user = services.feed_owner(token)
    body = ical.feed(services.feed_bookings(user), discreet=user.discreet_mode)
    return Response(body, mimetype="text/calendar")


# --- organising ---------------------------------------------------------------------------------


def _prepare_event_form(form: EventForm, user) -> None:
    form.panel_id.choices = [("", _("Open to all members"))] + [
        (str(p.id), _("Members of %(panel)s", panel=p.name))
        for p in services.panels_for_events(user)]


def _details_from(form: EventForm) -> services.EventDetails:
    starts_at = services.london_moment(form.day.data, form.start_time.data)
    ends_at = services.london_moment(form.last_date.data or form.day.data, form.end_time.data)
    return services.EventDetails(
        title=form.title.data, kind=form.kind.data,
        panel_id=int(form.panel_id.data) if form.panel_id.data else None,
        starts_at=starts_at, ends_at=ends_at, mode=form.mode.data,
        description=form.description.data or "", content_note=form.content_note.data or "",
        venue=form.venue.data or "", venue_accessibility=form.venue_accessibility.data or "",
        join_link=form.join_link.data or "", join_opens_minutes=form.join_opens_minutes.data,
        capacity=form.capacity.data, offer_hours=form.offer_hours.data,
        involvement_level=int(form.involvement_level.data) if form.involvement_level.data
        else None,
        prep_paid=form.prep_paid.data, prep_minutes=form.prep_minutes.data or 0,
        repeat=form.repeat.data if form.repeat else "",
        repeat_until=form.repeat_until.data if form.repeat_until else None,
        runs_daily=form.runs.data != "continuous")


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.MANAGE_EVENTS)
def new():
    user = _user()
    form = EventForm()
    _prepare_event_form(form, user)
    if request.method == "GET" and request.args.get("panel"):
        form.panel_id.data = request.args["panel"]
    if form.validate_on_submit():
        try:
            events = services.create_event(user, _details_from(form))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            if len(events) > 1:
                flash(ngettext("%(num)s event is set up.",
                               "%(num)s events are set up. You can change or cancel each one "
                               "on its own.", len(events)), "success")
            else:
                flash(_("The event is set up."), "success")
            return redirect(url_for("events.detail", event_id=events[0].id))
    return render_template("events/form.html", form=form, event=None)


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit(event_id: int):
    user = _user()
    event = _managed(event_id)
    form = EditEventForm(obj=event)
    _prepare_event_form(form, user)
    if request.method == "GET":
        local_start = clock.to_london(event.starts_at)
        form.day.data = local_start.date()
        form.start_time.data = local_start.time()
        form.end_time.data = clock.to_london(event.ends_at).time()
        end_date = clock.to_london(event.ends_at).date()
        form.last_date.data = end_date if end_date != local_start.date() else None
        form.runs.data = "daily" if event.runs_daily else "continuous"
        form.panel_id.data = str(event.panel_id) if event.panel_id else ""
        form.involvement_level.data = str(event.involvement_level)
        form.join_link.data = event.join_link or ""
    if form.validate_on_submit():
        try:
            changes = services.update_event(user, event, _details_from(form))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The event is updated.") + (
                " " + _("Everyone booked has been told about the change.") if changes else ""),
                "success")
            return redirect(url_for("events.detail", event_id=event.id))
    return render_template("events/form.html", form=form, event=event)


@bp.route("/<int:event_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel_event(event_id: int):
    event = _managed(event_id)
    form = CancelEventForm()
    if form.validate_on_submit():
        services.cancel_event(_user(), event, form.reason.data or "",
                              cancellation_payable=form.payable.data)
        flash(_("The event is cancelled and everyone booked has been told."), "success")
        return redirect(url_for("events.detail", event_id=event.id))
    return render_template("events/cancel_event.html", event=event, form=form)


@bp.route("/<int:event_id>/bookings")
@login_required
def bookings(event_id: int):
    user = _user()
    event = _managed(event_id)
    return render_template("events/bookings.html", event=event,
                           bookings=services.event_bookings(user, event),
                           show_needs=services.is_organiser(user, event),
                           can_cancel=not event.has_started and not event.is_cancelled)


@bp.route("/<int:event_id>/bookings/<int:booking_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel_place(event_id: int, booking_id: int):
    user = _user()
    event = _managed(event_id)
    booking = services.get_booking(user, event, booking_id)
    if not booking.is_active:
        return redirect(url_for("events.bookings", event_id=event.id))
    form = CancelPlaceForm()
    if form.validate_on_submit():
        try:
            services.cancel_place(user, booking, form.message.data or "")
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("%(name)s's booking is cancelled and they have been told.",
                    name=booking.user.display_name), "success")
            return redirect(url_for("events.bookings", event_id=event.id))
    return render_template("events/cancel_place.html", event=event, booking=booking,
                           form=form)


@bp.route("/<int:event_id>/organisers", methods=["GET", "POST"])
@login_required
def organisers(event_id: int):
    user = _user()
    event = _managed(event_id)
    form = OrganiserForm()
    choices = services.organiser_choices(user, event)
    form.user_id.choices = [(p.id, p.display_name) for p in choices]
    if form.validate_on_submit():
        try:
            person = services.add_organiser(user, event, form.user_id.data)
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("%(name)s is now an organiser of this event and has been told.",
                    name=person.display_name), "success")
            return redirect(url_for("events.organisers", event_id=event.id))
    return render_template("events/organisers.html", event=event, form=form,
                           organisers=services.organisers_of(event), choices=choices,
                           remove_form=EmptyForm())


@bp.route("/<int:event_id>/organisers/<int:user_id>/remove", methods=["POST"])
@login_required
def remove_organiser(event_id: int, user_id: int):
    user = _user()
    event = _managed(event_id)
    if EmptyForm().validate_on_submit():
        try:
            services.remove_organiser(user, event, user_id)
        except DomainError as error:
            if error.status_code == 404:
                raise
            flash(error.message, "error")
        else:
            flash(_("They are no longer an organiser of this event."), "success")
    if user_id == user.id and not services.can_manage_event(user, event):
        return redirect(url_for("events.detail", event_id=event.id))
    return redirect(url_for("events.organisers", event_id=event.id))


# --- attendance register ------------------------------------------------------------------------


def _whole_minutes(raw: str) -> int | None:
    """A typed number of minutes; raises ValueError when it is not a whole number."""
    raw = raw.strip()
    return int(raw) if raw else None


def _mark_from(form, event, prefix: str, status: str) -> services.Mark:
    """One person's attendance as typed: `prefix` names their minutes field(s), which for an
    event over several days are one per day (`prefix-2027-05-03`)."""
    if event.is_multi_day:
        days = {session.day.isoformat(): _whole_minutes(
                    form.get(f"{prefix}-{session.day.isoformat()}", ""))
                for session in event.sessions}
        return services.Mark(status, None, days)
    return services.Mark(status, _whole_minutes(form.get(prefix, "")))


def _typed_mark(form, event) -> services.Mark:
    """The attendance on a correction or walk-in form (per day for a multi-day event)."""
    if event.is_multi_day:
        return _mark_from(request.form, event, "minutes", form.status.data)
    return services.Mark(form.status.data, form.minutes.data)


def _marks_from_form(event, records) -> tuple[dict[int, services.Mark], dict[int, str]]:
    marks, errors = {}, {}
    for record in records:
        status = request.form.get(f"status-{record.user_id}", "")
        try:
            marks[record.user_id] = _mark_from(request.form, event, f"minutes-{record.user_id}",
                                               status)
        except ValueError:
            errors[record.user_id] = _("Enter the minutes as a whole number, for example 45.")
            marks[record.user_id] = services.Mark(status)
    return marks, errors


@bp.route("/<int:event_id>/register", methods=["GET", "POST"])
@login_required
def register(event_id: int):
    user = _user()
    event = _managed(event_id)
    form = EmptyForm()
    typed, errors, problem = {}, {}, None
    if form.validate_on_submit():
        marks, errors = _marks_from_form(event, services.register_preview(user, event))
        typed = marks
        if not errors:
            try:
                services.save_register(user, event, marks)
            except DomainError as error:
                problem = error.message
            else:
                flash(_("The register is saved. You can come back and change it until you "
                        "finalise it."), "success")
                return redirect(url_for("events.register", event_id=event.id))
    page = render_template(
        "events/register.html", event=event, records=services.register_preview(user, event),
        register=services.register_of(event), form=form, typed=typed, errors=errors,
        problem=problem, attendance_choices=list(ATTENDANCE_LABELS.items()),
        corrections=services.corrections_for(event), can_finalise=services.can_finalise(event))
    return page, (400 if errors or problem else 200)


@bp.route("/<int:event_id>/register/finalise", methods=["GET", "POST"])
@login_required
def finalise(event_id: int):
    user = _user()
    event = _managed(event_id)
    register = services.register_of(event)
    if register is not None and register.is_final:
        return redirect(url_for("events.register", event_id=event.id))
    if not services.can_finalise(event):
        flash(_("The register can be finalised once the event has ended. You can save it "
                "until then."), "info")
        return redirect(url_for("events.register", event_id=event.id))
    form = EmptyForm()
    if form.validate_on_submit():
        services.finalise_register(user, event)
        flash(_("The register is finalised. Any later change will be recorded as a "
                "correction."), "success")
        return redirect(url_for("events.register", event_id=event.id))
    records = services.register_preview(user, event)
    return render_template("events/finalise.html", event=event, records=records,
                           counts=services.register_counts(records), register=register,
                           form=form)


@bp.route("/<int:event_id>/register/walk-in")
@login_required
def walk_in_search(event_id: int):
    user = _user()
    event = _managed(event_id)
    search = request.args.get("q", "")
    return render_template("events/walk_in_search.html", event=event, search=search,
                           matches=services.walk_in_matches(user, event, search),
                           register=services.register_of(event))


@bp.route("/<int:event_id>/register/walk-in/<int:user_id>", methods=["GET", "POST"])
@login_required
def walk_in(event_id: int, user_id: int):
    user = _user()
    event = _managed(event_id)
    person = services.walk_in_person(user, event, user_id)
    register = services.register_of(event)
    form = WalkInForm()
    if form.validate_on_submit():
        try:
            services.add_walk_in(user, event, person, _typed_mark(form, event),
                                 form.reason.data or "")
        except ValueError:
            form.form_errors.append(_("Enter the minutes as a whole number, for example 45."))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("%(name)s is on the register.", name=person.display_name), "success")
            return redirect(url_for("events.register", event_id=event.id))
    return render_template("events/walk_in.html", event=event, person=person, form=form,
                           final=register is not None and register.is_final)


@bp.route("/<int:event_id>/register/<int:record_id>/correct", methods=["GET", "POST"])
@login_required
def correct(event_id: int, record_id: int):
    user = _user()
    event = _managed(event_id)
    record = services.get_record(user, event, record_id)
    form = CorrectionForm(status=record.status, minutes=record.minutes_attended)
    if form.validate_on_submit():
        try:
            services.correct_attendance(user, record, _typed_mark(form, event),
                                        form.reason.data)
        except ValueError:
            form.form_errors.append(_("Enter the minutes as a whole number, for example 45."))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The correction is recorded."), "success")
            return redirect(url_for("events.register", event_id=event.id))
    return render_template("events/correct.html", event=event, record=record, form=form)


@bp.app_template_filter("london_day")
def london_day(moment) -> str:
    return clock.to_london(moment).strftime("%A %-d %B %Y") if moment else ""


@bp.app_template_filter("london_time")
def london_time(moment) -> str:
    return clock.to_london(moment).strftime("%H:%M") if moment else ""


@bp.app_template_filter("attendance_label")
def attendance_label(status: str) -> str:
    return ATTENDANCE_LABELS.get(status, status)
