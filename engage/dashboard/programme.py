"""Dashboard figures from the domains merged after the first dashboard: feedback, "you said,
we did", events and payments.

Measures that another domain already defines are reused, not written twice:
`engage.changes.services.measures` (closing the loop), `engage.payments.reports`
(spend by panel and quarter) and `engage.payments.services.is_overdue` (claims past the
target time). Counts that describe people are suppressed with `engage.core.suppression`.
"""

from __future__ import annotations

import statistics
from collections import Counter

from flask_babel import gettext as _
from sqlalchemy import func, select

from engage.changes.models import ChangeEntry, ChangeStatus, Publication
from engage.changes.services import measures
from engage.core import clock
from engage.core.charts import Bar, bar_chart
from engage.core.suppression import suppress_table
from engage.dashboard.sections import Figure, Filters
from engage.events.models import AttendanceRecord, Event, Register
from engage.extensions import db
from engage.feedback.models import FeedbackItem
from engage.panels.models import Panel
from engage.payments import reports
from engage.payments.models import Claim, ClaimState
from engage.payments.services import is_overdue

SMALL_NUMBERS_NOTE = ("To protect people in small groups, any number under 5 is not shown, and "
                      "neither are some other numbers that would let you work it out.")


def organisations() -> list[str]:
    """Organisations named on "you said, we did" entries, for the filter."""
    return list(db.session.scalars(select(ChangeEntry.organisation).distinct()
                                   .where(ChangeEntry.organisation != "")
                                   .order_by(ChangeEntry.organisation)))


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


def loop_measures() -> Figure:
    m = measures()
    share = (f"{round(m.linked_share * 100)}%" if m.linked_share is not None else _("None yet"))
    median = (_("%(n)s days", n=f"{m.median_days_to_done:g}")
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
        _("All feedback so far (these measures are the ones the \"you said, we did\" team "
          "watches, so they cover the whole programme, not the dates chosen). Linked: feedback "
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


TOOK_PART = ("attended", "attended_part")


def attendance_rate(filters: Filters) -> Figure:
    query = (select(Event.panel_id, AttendanceRecord.status, func.count())
             .join(AttendanceRecord, AttendanceRecord.event_id == Event.id)
             .join(Register, Register.event_id == Event.id)
             .where(Register.finalised_at.is_not(None),
                    Event.starts_at >= filters.start_utc, Event.starts_at < filters.end_utc,
                    AttendanceRecord.status != "cancelled_in_advance")
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
        note=_(SMALL_NUMBERS_NOTE) if table.any_suppressed else "")


# --- payments -------------------------------------------------------------------------------


def pounds(pence: int) -> str:
    return reports.pounds_text(pence)


def spend_by_panel_and_quarter(filters: Filters) -> Figure:
    spend, _categories, _grand = reports.spend_by_panel_and_quarter()
    panel_name = None
    if filters.panel_id:
        panel_name = db.session.scalar(select(Panel.name).where(Panel.id == filters.panel_id))
        spend = [r for r in spend if r.panel == panel_name]
    # How many people each amount is about: a total for one to four people is not shown.
    names = dict(db.session.execute(select(Panel.id, Panel.name)).all())
    people: dict[tuple[str, str], set[int | None]] = {}
    for panel_id, activity_date, user_id, claim_id in db.session.execute(
            select(Claim.panel_id, Claim.activity_date, Claim.user_id, Claim.id)
            .where(Claim.state.not_in([ClaimState.DRAFT, ClaimState.REJECTED]))):
        key = (names.get(panel_id, "No panel") if panel_id else "No panel",
               reports.financial_quarter(activity_date))
        # a pseudonymised claim (closed account) still counts as one person
        people.setdefault(key, set()).add(user_id if user_id is not None else -claim_id)
    rows: list[list[str | int]] = []
    bars = []
    hidden = False
    for row in spend:
        count = len(people.get((row.panel, row.quarter), ()))
        if 0 < count < 5:
            hidden = True
            rows.append([row.quarter, row.panel, _("not shown"), _("not shown")])
        else:
            rows.append([row.quarter, row.panel, pounds(row.total_pence), count])
            bars.append(Bar(f"{row.quarter} {row.panel}", row.total_pence // 100,
                            "£" + pounds(row.total_pence)))
    chart = bar_chart(_("Spend by panel and quarter (£)"), bars,
                      chart_id="chart-spend") if bars else None
    return Figure(
        "spend-by-panel-and-quarter", _("Spend by panel and quarter"),
        _("Approved involvement payments and expenses, with any corrections, from the payments "
          "ledger, by the panel and the financial quarter (April to March) of the activity. "
          "It covers every quarter, not only the dates chosen. Where fewer than 5 people were "
          "paid in a panel and quarter, the amount is not shown, because it would describe "
          "what a few people were paid."),
        [_("Quarter"), _("Panel"), _("Spend"), _("People")], rows, chart,
        note=_(SMALL_NUMBERS_NOTE) if hidden else "")


def payment_times(filters: Filters) -> Figure:
    paid = select(Claim.submitted_at, Claim.paid_at).where(
        Claim.state == ClaimState.PAID, Claim.submitted_at.is_not(None),
        Claim.paid_at >= filters.start_utc, Claim.paid_at < filters.end_utc)
    open_claims = select(Claim).where(
        Claim.submitted_at.is_not(None),
        Claim.state.not_in([ClaimState.PAID, ClaimState.REJECTED, ClaimState.DRAFT]))
    if filters.panel_id:
        paid = paid.where(Claim.panel_id == filters.panel_id)
        open_claims = open_claims.where(Claim.panel_id == filters.panel_id)
    days = [(p - s).days for s, p in db.session.execute(paid)]
    overdue = sum(1 for claim in db.session.scalars(open_claims) if is_overdue(claim))
    median = (_("%(n)s days", n=f"{statistics.median(days):g}") if days else _("None yet"))
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
