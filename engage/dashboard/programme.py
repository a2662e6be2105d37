"""Dashboard figures from the domains merged after the first dashboard: feedback, "you said,
we did", events and payments.

Measures that another domain already defines are reused, not written twice:
`engage.changes.services.measures` (closing the loop). Two payments measures are counted here
by the database, because reading every ledger entry or open claim made the page slow on a
large programme: spend by panel and quarter (as `engage.payments.reports` counts it, with its
`financial_quarter`) and claims past the target time (as `engage.payments.services.is_overdue`
decides it); tests/dashboard/test_dashboard_speed.py checks both give the same answers as the
payments code on varied data. Counts that describe people are suppressed with
`engage.core.suppression`.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)

from engage.changes.models import ChangeEntry, ChangeStatus, Publication
from engage.changes.services import measures
from engage.core import clock, wiring
from engage.core.charts import Bar, bar_chart
from engage.core.suppression import is_small, suppress_table
from engage.dashboard.sections import Figure, Filters, small_numbers_note
from engage.db import rows_as_text
from engage.events.models import TOOK_PART, AttendanceRecord, AttendanceStatus, Event, Register
from engage.extensions import db
from engage.feedback.models import FeedbackItem
from engage.panels.models import Panel
from engage.payments import reports
from engage.payments.models import (
    Claim,
    ClaimState,
    LedgerEntry,
    PolicyVersion,
)

PANEL, ORGANISATION = 0, 1
_CHOICES = union_all(
    select(literal(PANEL).label("kind"), Panel.id.label("panel_id"), Panel.name.label("name")),
    select(literal(ORGANISATION), cast(null(), Integer), ChangeEntry.organisation).distinct()
    .where(ChangeEntry.organisation != ""),
).subquery()
# Every choice as one text value (engage.db.rows_as_text), by kind then name: one row, so the
# dashboard has it read within the signed-in person's own query (views.index_reads).
FILTER_CHOICES = rows_as_text(select(_CHOICES.c.kind, _CHOICES.c.panel_id, _CHOICES.c.name)
                              .order_by(_CHOICES.c.kind, _CHOICES.c.name))


def filter_choices_read() -> tuple:
    return FILTER_CHOICES, None


def filter_choices() -> tuple[list[tuple[int, str]], list[str]]:
    """The panels (id and name, by name) and the organisations (by name) the dashboard can be
    narrowed to, in one text value: the one read with the person when it was
    (wiring.rows_sent_with_person), otherwise read now."""
    [[(text,)]] = wiring.rows_sent_with_person(db.session, filter_choices_read())
    rows = json.loads(f"[{text}]") if text else []
    return ([(panel_id, name) for kind, panel_id, name in rows if kind == PANEL],
            [name for kind, _, name in rows if kind == ORGANISATION])


# --- voice: feedback ------------------------------------------------------------------------


def feedback_by_month(filters: Filters, month_label) -> Figure:
    rows_db = db.session.execute(
        select(FeedbackItem.received_on, func.count())
        .where(FeedbackItem.received_on >= filters.start, FeedbackItem.received_on <= filters.end)
        .group_by(FeedbackItem.received_on)).all()
    counts: Counter[str] = Counter()
    for day, number in rows_db:
        counts[day.strftime("%Y-%m")] += number
    rows: list[list[str | int]] = [[month_label(m), counts[m]] for m in filters.months()]
    chart = bar_chart(_("Feedback received by month"),
                      [Bar(str(r[0]), int(r[1]), str(r[1])) for r in rows],
                      chart_id="chart-feedback-by-month")
    return Figure(
        "feedback-by-month", _("Feedback by month"),
        _("Every piece of feedback received in the month, named or anonymous, whatever "
          "happened to it afterwards. Feedback keeps only the day it arrived, and it is not "
          "linked to a panel, so the panel filter does not change these numbers."),
        [_("Month"), _("Feedback received")], rows, chart)


def feedback_by_topic(filters: Filters) -> Figure:
    rows_db = db.session.execute(
        select(FeedbackItem.topic, func.count())
        .where(FeedbackItem.received_on >= filters.start, FeedbackItem.received_on <= filters.end)
        .group_by(FeedbackItem.topic)).all()
    named = sorted(((t, n) for t, n in rows_db if t), key=lambda r: (-r[1], r[0]))
    none = sum(n for t, n in rows_db if not t)
    rows: list[list[str | int]] = [[t, n] for t, n in named]
    if none:
        rows.append([_("No topic chosen"), none])
    chart = bar_chart(_("Feedback by topic"), [Bar(str(r[0]), int(r[1]), str(r[1])) for r in rows],
                      chart_id="chart-feedback-by-topic") if rows else None
    return Figure(
        "feedback-by-topic", _("Feedback by topic"),
        _("Feedback received in the dates chosen, by the service or topic the person chose "
          "when giving it. Choosing a topic is optional."),
        [_("Topic"), _("Feedback received")], rows, chart)


# --- closing the loop -----------------------------------------------------------------------


def days_text(days: float) -> str:
    """A number of days, which may be a half (a median of two): "1 day", "2.5 days"."""
    return ngettext("%(days)s day", "%(days)s days", days, days=f"{days:g}")


def loop_measures(filters: Filters) -> Figure:
    m = measures(received_between=(filters.start, filters.end))
    share = (f"{round(m.linked_share * 100)}%" if m.linked_share is not None else _("None yet"))
    median = (days_text(m.median_days_to_done)
              if m.median_days_to_done is not None else _("None yet"))
    rows: list[list[str | int]] = [
        [_("Feedback received"), m.total_feedback],
        [_("Feedback linked to a change"), m.linked_feedback],
        [_("Share of feedback linked to a change"), share],
        [_("Median days from feedback to a change marked done"), median],
        [_("Feedback waiting over 30 days for a reply"), m.waiting_over_30_days],
    ]
    chart = bar_chart(_("Feedback linked to a change, and waiting for a reply"), [
        Bar(_("Received"), m.total_feedback, str(m.total_feedback)),
        Bar(_("Linked to a change"), m.linked_feedback, str(m.linked_feedback)),
        Bar(_("Waiting over 30 days"), m.waiting_over_30_days, str(m.waiting_over_30_days)),
    ], chart_id="chart-closing-the-loop")
    return Figure(
        "closing-the-loop", _("Closing the loop"),
        _("Feedback received in the dates chosen (the \"you said, we did\" measures page "
          "counts the same way over all feedback so far). Linked: feedback "
          "linked to at least one \"you said, we did\" entry. Median days: for each piece of "
          "feedback linked to a published change marked done, the whole days from the day it "
          "arrived to the day the change was done (the earliest, if several); the middle "
          "value. Waiting: feedback not yet replied to, still open, that arrived more than 30 "
          "days ago."),
        [_("Measure"), _("Value")], rows, chart)


OPEN_STATUSES = (ChangeStatus.CONSIDERING, ChangeStatus.PLANNED, ChangeStatus.IN_PROGRESS)


def commitments_past_target(filters: Filters) -> Figure:
    today = clock.today_london()
    query = (select(ChangeEntry.organisation, func.count())
             .where(ChangeEntry.publication == Publication.PUBLISHED,
                    ChangeEntry.status.in_(OPEN_STATUSES),
                    ChangeEntry.target_on.is_not(None), ChangeEntry.target_on < today)
             .group_by(ChangeEntry.organisation).order_by(ChangeEntry.organisation))
    if filters.organisation:
        query = query.where(ChangeEntry.organisation == filters.organisation)
    rows: list[list[str | int]] = [[org, n] for org, n in db.session.execute(query)]
    chart = bar_chart(_("Commitments past their target date"),
                      [Bar(str(r[0]), int(r[1]), str(r[1])) for r in rows],
                      chart_id="chart-past-target") if rows else None
    return Figure(
        "commitments-past-target", _("Commitments past their target date, by organisation"),
        _("Published \"you said, we did\" entries that are still being considered, planned or "
          "in progress on a target date that has passed, counted today by the organisation "
          "responsible. Entries marked done or not possible are not counted."),
        [_("Organisation"), _("Past their target date")], rows, chart)


# --- participation: attendance --------------------------------------------------------------


def attendance_rate(filters: Filters) -> Figure:
    query = (select(Event.panel_id, AttendanceRecord.status, func.count())
             .join(AttendanceRecord, AttendanceRecord.event_id == Event.id)
             .join(Register, Register.event_id == Event.id)
             .where(Register.finalised_at.is_not(None),
                    Event.starts_at >= filters.start_utc, Event.starts_at < filters.end_utc,
                    AttendanceRecord.status != AttendanceStatus.CANCELLED_IN_ADVANCE)
             .group_by(Event.panel_id, AttendanceRecord.status))
    if filters.panel_id:
        query = query.where(Event.panel_id == filters.panel_id)
    by_panel: dict[int | None, list[int]] = {}
    for panel_id, status, number in db.session.execute(query):
        pair = by_panel.setdefault(panel_id, [0, 0])
        pair[0 if status in TOOK_PART else 1] += number
    names = dict(db.session.execute(select(Panel.id, Panel.name)).all())
    keys = sorted(by_panel, key=lambda k: names.get(k, "~") if k else "~")
    table = suppress_table([by_panel[k] for k in keys])
    rows: list[list[str | int]] = []
    bars = []
    for index, key in enumerate(keys):
        label = names.get(key, _("Not a panel event")) if key else _("Not a panel event")
        took, missed = table.cells[index]
        rate = "-"
        if not took.suppressed and not missed.suppressed and sum(by_panel[key]):
            rate = f"{round(100 * by_panel[key][0] / sum(by_panel[key]))}%"
            bars.append(Bar(label, round(100 * by_panel[key][0] / sum(by_panel[key])), rate))
        rows.append([label, took.text, missed.text, table.row_totals[index].text, rate])
    chart = bar_chart(_("Attendance rate by panel (%)"), bars,
                      chart_id="chart-attendance") if bars else None
    return Figure(
        "attendance-rate", _("Attendance rate"),
        _("From the attendance registers of events that started in the dates chosen, once the "
          "register was finalised. Everyone with a place who did not cancel in advance is "
          "counted; the rate is the share who came for all or part of the event. One person "
          "at three events counts three times."),
        [_("Panel"), _("Came (all or part)"), _("Did not come"), _("Places"),
         _("Attendance rate")], rows, chart,
        note=small_numbers_note() if table.any_suppressed else "")


# --- payments -------------------------------------------------------------------------------


def pounds(pence: int) -> str:
    return reports.pounds_text(pence)


def quarter_of(column, first: date, last: date):
    """`reports.financial_quarter` of a date column, worked out by the database.

    The quarter labels and the days they change are found by asking
    `reports.financial_quarter` about every day from a year before `first` to a year after
    `last` (the padding keeps a claim added while the page is drawn in its own quarter), so
    the two can never disagree."""
    starts: list[tuple[date, str]] = []
    day, until = first - timedelta(days=366), last + timedelta(days=366)
    while day <= until:
        label = reports.financial_quarter(day)
        if not starts or starts[-1][1] != label:
            starts.append((day, label))
        day += timedelta(days=1)
    return _binary_search(column, starts)


def _binary_search(column, starts: list[tuple[date, str]]):
    """Nested CASEs halving the list each time: a few comparisons per row, however many
    quarters there are."""
    if len(starts) == 1:
        return literal(starts[0][1])
    middle = len(starts) // 2
    return case((column < starts[middle][0], _binary_search(column, starts[:middle])),
                else_=_binary_search(column, starts[middle:]))


NOT_SPEND_STATES = (ClaimState.DRAFT, ClaimState.REJECTED)


def whole_quarters(start: date, end: date) -> tuple[date, date]:
    """The first day of the financial quarter `start` is in and the last day of the one `end`
    is in, as `reports.financial_quarter` draws them."""
    first, last = start, end
    first_quarter, last_quarter = reports.financial_quarter(start), reports.financial_quarter(end)
    while reports.financial_quarter(first - timedelta(days=1)) == first_quarter:
        first -= timedelta(days=1)
    while reports.financial_quarter(last + timedelta(days=1)) == last_quarter:
        last += timedelta(days=1)
    return first, last


def spend_and_people(panel_name: str | None = None, *,
                     between: tuple[date, date] | None = None
                     ) -> tuple[list[tuple[str, str, int]], dict[tuple[str, str], int]]:
    """Approved spend per panel and quarter, as `reports.spend_by_panel_and_quarter` counts it
    (the ledger's payable entries and their corrections, by the name of the claim's panel and
    the financial quarter of its activity, sorted by quarter then panel), and how many people
    each is about: the people with a claim in that panel and quarter that was sent and not
    turned down. Two grouped queries instead of reading every ledger entry and claim.
    With `panel_name`, only that panel's rows (panels are told apart by name, as the payments
    report does); with `between`, only claims for activities on those days (inclusive)."""
    first, last = db.session.execute(
        select(func.min(Claim.activity_date), func.max(Claim.activity_date))).one()
    if first is None:
        return [], {}
    quarter = quarter_of(Claim.activity_date, first, last).label("quarter")
    name_of_panel = func.coalesce(Panel.name, "No panel")
    panel = name_of_panel.label("panel")
    only = [name_of_panel == panel_name] if panel_name is not None else []
    if between is not None:
        only += [Claim.activity_date >= between[0], Claim.activity_date <= between[1]]
    entries = (select(panel, quarter, LedgerEntry.amount_pence)
               .join(Claim, Claim.id == LedgerEntry.claim_id)
               .outerjoin(Panel, Panel.id == Claim.panel_id)
               .where(LedgerEntry.category.not_in(reports.NOT_SPEND_CATEGORIES),
                      LedgerEntry.entry_type.in_(reports.SPEND_TYPES), *only)
               .subquery())
    spend = db.session.execute(
        select(entries.c.panel, entries.c.quarter, func.sum(entries.c.amount_pence))
        .group_by(entries.c.panel, entries.c.quarter)).all()
    # A pseudonymised claim (closed account) still counts as one person: its own negative id.
    claims = (select(panel, quarter, func.coalesce(Claim.user_id, -Claim.id).label("person"))
              .outerjoin(Panel, Panel.id == Claim.panel_id)
              .where(Claim.state.not_in(NOT_SPEND_STATES), *only)
              .distinct().subquery())
    people = {(name, label): number for name, label, number in db.session.execute(
        select(claims.c.panel, claims.c.quarter, func.count())
        .group_by(claims.c.panel, claims.c.quarter))}
    rows = sorted(((name, label, int(pence)) for name, label, pence in spend),
                  key=lambda r: (r[1], r[0]))
    return rows, people


def spend_by_panel_and_quarter(filters: Filters) -> Figure:
    quarters = whole_quarters(filters.start, filters.end)
    if filters.panel_id:
        panel_name = db.session.scalar(select(Panel.name).where(Panel.id == filters.panel_id))
        spend, people = (spend_and_people(panel_name, between=quarters)
                         if panel_name is not None else ([], {}))
    else:
        spend, people = spend_and_people(between=quarters)
    # How many people each amount is about: a total for one to four people is not shown.
    rows: list[list[str | int]] = []
    bars = []
    hidden = False
    for panel, quarter, total_pence in spend:
        count = people.get((panel, quarter), 0)
        if is_small(count):
            hidden = True
            rows.append([quarter, panel, _("not shown"), _("not shown")])
        else:
            rows.append([quarter, panel, pounds(total_pence), count])
            bars.append(Bar(f"{quarter} {panel}", total_pence // 100,
                            "£" + pounds(total_pence)))
    chart = bar_chart(_("Spend by panel and quarter (£)"), bars,
                      chart_id="chart-spend") if bars else None
    return Figure(
        "spend-by-panel-and-quarter", _("Spend by panel and quarter"),
        _("Approved involvement payments and expenses, with any corrections, from the payments "
          "ledger, by the panel and the financial quarter (April to March) of the activity. "
          "It shows each quarter the dates chosen touch, whole, so a quarter's total is always "
          "the same whichever dates inside it you choose. Where fewer than 5 people were "
          "paid in a panel and quarter, the amount is not shown, because it would describe "
          "what a few people were paid."),
        [_("Quarter"), _("Panel"), _("Spend"), _("People")], rows, chart,
        note=small_numbers_note() if hidden else "")


# What `engage.payments.services.is_overdue` allows when a claim has no policy version.
DEFAULT_TARGET_DAYS = 30
OPEN_CLAIM_STATES_EXCLUDED = (ClaimState.PAID, ClaimState.REJECTED, ClaimState.DRAFT)


def claims_past_target(panel_id: int | None = None) -> int:
    """How many claims that were sent, and are not paid, turned down or a draft, are overdue
    today, exactly as `engage.payments.services.is_overdue` decides for each claim (more
    than its policy version's target days since it was sent), counted by the database:
    one condition per target in use, instead of loading every open claim."""
    now = clock.now()
    target = func.coalesce(PolicyVersion.target_payment_days, DEFAULT_TARGET_DAYS)
    targets = {DEFAULT_TARGET_DAYS, *db.session.scalars(
        select(PolicyVersion.target_payment_days).distinct())}
    query = (select(func.count()).select_from(Claim)
             .outerjoin(PolicyVersion, PolicyVersion.id == Claim.policy_version_id)
             .where(Claim.submitted_at.is_not(None),
                    Claim.state.not_in(OPEN_CLAIM_STATES_EXCLUDED),
                    or_(*[and_(target == days, Claim.submitted_at < now - timedelta(days=days))
                          for days in sorted(targets)])))
    if panel_id:
        query = query.where(Claim.panel_id == panel_id)
    return db.session.scalar(query) or 0


def whole_days(start, end):
    """`(end - start).days` worked out by the database, exactly (whole days, rounded down,
    to the microsecond), for two time columns."""
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite keeps UTC times as text, "YYYY-MM-DD HH:MM:SS.ffffff": the days between the
        # two dates, one fewer when the end's time of day is earlier than the start's.
        end_text, start_text = type_coerce(end, String), type_coerce(start, String)
        dates = cast(func.julianday(func.substr(end_text, 1, 10))
                     - func.julianday(func.substr(start_text, 1, 10)), Integer)
        return dates - case((func.substr(end_text, 12) < func.substr(start_text, 12), 1),
                            else_=0)
    return func.floor(extract("epoch", end - start) / 86400)


def days_to_paid(filters: Filters) -> list[int]:
    """For each claim paid in the dates chosen, the whole days from sent to paid (sorted).
    The database counts the claims per number of days, so only a few rows come back."""
    paid = select(whole_days(Claim.submitted_at, Claim.paid_at).label("days")).where(
        Claim.state == ClaimState.PAID, Claim.submitted_at.is_not(None),
        Claim.paid_at >= filters.start_utc, Claim.paid_at < filters.end_utc)
    if filters.panel_id:
        paid = paid.where(Claim.panel_id == filters.panel_id)
    paid = paid.subquery()
    counted = db.session.execute(select(paid.c.days, func.count()).group_by(paid.c.days)
                                 .order_by(paid.c.days))
    return [int(days) for days, number in counted for _n in range(number)]


def payment_times(filters: Filters) -> Figure:
    days = days_to_paid(filters)
    overdue = claims_past_target(filters.panel_id)
    median = days_text(statistics.median(days)) if days else _("None yet")
    rows: list[list[str | int]] = [
        [_("Claims paid in the dates chosen"), len(days)],
        [_("Median days from claim sent to paid"), median],
        [_("Claims not paid yet and past the target time"), overdue],
    ]
    return Figure(
        "payment-times", _("How quickly claims are paid"),
        _("Median: for claims paid in the dates chosen, the whole days from when the member "
          "sent the claim to when it was marked paid; the middle value. Past the target time: "
          "claims sent and not yet paid or turned down, today, where more days have passed "
          "since they were sent than the payment policy's target (30 days unless the policy "
          "says otherwise)."),
        [_("Measure"), _("Value")], rows)
