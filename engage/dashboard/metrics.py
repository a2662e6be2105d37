"""The dashboard's first sections: participation, voice and equality.

Every figure says in plain English how it is counted. Counts come from the database in a few
grouped queries, so the page stays fast on a large programme (see bench/dashboard.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select, union_all

from engage.consultations.models import (
    AnonymousResponse,
    Consultation,
    Response,
    ResponseStatus,
)
from engage.core.charts import Bar, bar_chart
from engage.core.clock import from_london
from engage.core.models import AuditEvent
from engage.core.suppression import suppress_table
from engage.dashboard import programme
from engage.dashboard.sections import Figure, Filters, Section, small_numbers_note
from engage.equality.questions import BY_KEY
from engage.equality.services import population_figures, snapshot_counts
from engage.events.models import Event
from engage.extensions import db
from engage.panels.models import MembershipPeriod, Panel, PanelMembership


def month_label(month: str) -> str:
    year, number = month.split("-")
    return date(int(year), int(number), 1).strftime("%b %Y")


def _panels(filters: Filters) -> list[Panel]:
    query = select(Panel).order_by(Panel.name)
    if filters.panel_id:
        query = query.where(Panel.id == filters.panel_id)
    return list(db.session.scalars(query))


def month_ranges(filters: Filters) -> list[tuple[str, datetime, datetime]]:
    """Each month in the range with its first and after-last moment in UTC (London months,
    cut to the chosen dates), so counting is a few indexed range queries, not a Python loop."""
    out = []
    for month in filters.months():
        year, number = (int(x) for x in month.split("-"))
        first = max(date(year, number, 1), filters.start)
        following = date(year + (number == 12), 1 if number == 12 else number + 1, 1)
        last = min(following - timedelta(days=1), filters.end)
        out.append((month, from_london(datetime.combine(first, time.min)),
                    from_london(datetime.combine(last + timedelta(days=1), time.min))))
    return out


def _month_index(column, ranges):
    """Which month of `ranges` a time falls in (0 for the first), for rows already limited to
    the range: the months follow each other, so it is the first month ending after it. One
    CASE per row, grouped, counts every month in a single scan."""
    return case(*[(column < end, index) for index, (_month, _start, end) in enumerate(ranges)],
                else_=None)


# --- participation --------------------------------------------------------------------------


def members_per_panel(filters: Filters) -> Figure:
    panels = _panels(filters)
    ranges = month_ranges(filters)
    counts: Counter[tuple[int, str]] = Counter()
    shown = [p.id for p in panels]
    # Each time on a panel: the memberships' current dates, and earlier times kept when
    # someone who left applied again.
    times = union_all(*[
        select(model.panel_id, model.joined_at, model.left_at)
        .where(model.joined_at < ranges[-1][2], model.panel_id.in_(shown))
        for model in (PanelMembership, MembershipPeriod)]).subquery()
    holding = db.session.execute(
        select(times.c.panel_id, *[
            func.sum(case((and_(times.c.joined_at < end,
                                or_(times.c.left_at.is_(None), times.c.left_at >= end)), 1),
                          else_=0))
            for _month, _start, end in ranges])
        .group_by(times.c.panel_id))
    for panel_id, *numbers in holding:
        for (month, _start, _end), number in zip(ranges, numbers, strict=True):
            counts[(panel_id, month)] = number or 0
    months = [m for m, _s, _e in ranges]
    header = [_("Panel"), *[month_label(m) for m in months]]
    rows = [[p.name, *[counts[(p.id, m)] for m in months]] for p in panels]
    last = months[-1]
    chart = bar_chart(
        _("Members of each panel at the end of %(month)s", month=month_label(last)),
        [Bar(p.name, counts[(p.id, last)], str(counts[(p.id, last)])) for p in panels],
        chart_id="chart-members-per-panel") if panels else None
    return Figure(
        "members-per-panel", _("Members of each panel, month by month"),
        _("People holding a place on the panel on the last day of each month: members who "
          "had joined and not yet left, including members taking a break. Applications that "
          "were not accepted are not counted. Someone who left and later joined again is "
          "counted for both times."),
        header, rows, chart)


JOIN_LEAVE_ACTIONS = {
    "panel.application_accepted": "joined",
    "panel.left": "left",
    "panel.break_started": "breaks",
    "panel.break_ended": "back",
}


def joiners_and_leavers(filters: Filters) -> Figure:
    panel_ids = [p.id for p in _panels(filters)]
    counts: Counter[tuple[str, str]] = Counter()
    ranges = month_ranges(filters)
    rows = (select(AuditEvent.action,
                   _month_index(AuditEvent.occurred_at, ranges).label("month"))
            .where(AuditEvent.action.in_(JOIN_LEAVE_ACTIONS),
                   AuditEvent.occurred_at >= filters.start_utc,
                   AuditEvent.occurred_at < filters.end_utc,
                   AuditEvent.subject_type == "panel", AuditEvent.subject_id.in_(panel_ids))
            .subquery())
    events = db.session.execute(select(rows.c.action, rows.c.month, func.count())
                                .group_by(rows.c.action, rows.c.month))
    for action, index, number in events:
        counts[(ranges[index][0], JOIN_LEAVE_ACTIONS[action])] += number
    kinds = ["joined", "left", "breaks", "back"]
    header = [_("Month"), _("Joined"), _("Left"), _("Started a break"),
              _("Came back from a break")]
    rows = [[month_label(m), *[counts[(m, k)] for k in kinds]] for m in filters.months()]
    chart = bar_chart(_("People who joined a panel, by month"),
                      [Bar(month_label(m), counts[(m, "joined")], str(counts[(m, "joined")]))
                       for m in filters.months()], chart_id="chart-joiners")
    return Figure(
        "joiners-and-leavers", _("Joining, leaving and breaks"),
        _("Each time a facilitator accepted an application (joined), a member left a panel "
          "(closing an account counts as leaving each panel), started a break or came back "
          "from one, in the month it happened. One person can be counted more than once, for "
          "example if they took two breaks."),
        header, rows, chart)


def participation_section(filters: Filters) -> Section:
    return Section("participation", _("Participation"),
                   [members_per_panel(filters), joiners_and_leavers(filters),
                    programme.attendance_rate(filters)])


# --- voice ----------------------------------------------------------------------------------


def _consultation_ids(filters: Filters):
    query = select(Consultation.id)
    if filters.panel_id:
        query = query.where(Consultation.panel_id == filters.panel_id)
    return query


def responses_by_month(filters: Filters) -> Figure:
    ranges = month_ranges(filters)
    named_rows = (select(_month_index(Response.submitted_at, ranges).label("month"))
                  .where(Response.status == ResponseStatus.SUBMITTED,
                         Response.submitted_at >= filters.start_utc,
                         Response.submitted_at < filters.end_utc))
    anonymous_query = (select(AnonymousResponse.submitted_on, func.count())
                       .where(AnonymousResponse.submitted_on >= filters.start,
                              AnonymousResponse.submitted_on <= filters.end)
                       .group_by(AnonymousResponse.submitted_on))
    # Every response belongs to a consultation, so only a panel filter needs the join (which
    # would otherwise make the database walk the responses consultation by consultation).
    if filters.panel_id:
        named_rows = named_rows.where(
            Response.consultation_id.in_(_consultation_ids(filters)))
        anonymous_query = anonymous_query.where(
            AnonymousResponse.consultation_id.in_(_consultation_ids(filters)))
    named_rows = named_rows.subquery()
    named_counts: Counter[str] = Counter()
    for index, number in db.session.execute(
            select(named_rows.c.month, func.count()).group_by(named_rows.c.month)):
        named_counts[ranges[index][0]] += number
    anonymous = db.session.execute(anonymous_query).all()
    anonymous_counts: Counter[str] = Counter()
    for day, number in anonymous:
        anonymous_counts[day.strftime("%Y-%m")] += number
    rows = []
    for month in filters.months():
        n, a = named_counts[month], anonymous_counts[month]
        rows.append([month_label(month), n, a, n + a])
    chart = bar_chart(_("Consultation responses by month"),
                      [Bar(r[0], r[3], str(r[3])) for r in rows], chart_id="chart-responses")
    return Figure(
        "responses-by-month", _("Consultation responses by month"),
        _("Responses sent to consultations, in the month they were first sent. Named "
          "responses count once even if the person changed them later; anonymous responses "
          "count once each. Drafts that were never sent are not counted."),
        [_("Month"), _("Named"), _("Anonymous"), _("All responses")], rows, chart)


def voice_section(filters: Filters) -> Section:
    return Section("voice", _("Voice"), [responses_by_month(filters),
                                         programme.feedback_by_month(filters, month_label),
                                         programme.feedback_by_topic(filters)])


def closing_the_loop_section(filters: Filters) -> Section:
    return Section("closing-the-loop", _("Closing the loop"),
                   [programme.loop_measures(filters), programme.commitments_past_target(filters)])


def payments_section(filters: Filters) -> Section:
    return Section("payments", _("Payments"),
                   [programme.spend_by_panel_and_quarter(filters),
                    programme.payment_times(filters)])


# --- equality -------------------------------------------------------------------------------


def equality_make_up(filters: Filters) -> Figure:
    question = BY_KEY.get(filters.question) or BY_KEY["ethnicity"]
    months = (filters.start.strftime("%Y-%m"), filters.end.strftime("%Y-%m"))
    panel_ids = [filters.panel_id] if filters.panel_id else None
    consultation_ids = (list(db.session.scalars(_consultation_ids(filters)))
                        if filters.panel_id else None)
    only = [question.key]
    joined = snapshot_counts("panel", panel_ids, months=months, questions=only)[question.key]
    answered = snapshot_counts("consultation", consultation_ids, months=months,
                               questions=only)[question.key]
    event_ids = (list(db.session.scalars(select(Event.id).where(
        Event.panel_id == filters.panel_id))) if filters.panel_id else None)
    attended = snapshot_counts("event", event_ids, months=months,
                               questions=only)[question.key]
    keys = question.report_keys()
    table = suppress_table([[joined[k], answered[k], attended[k]] for k in keys])
    population = population_figures()
    rows: list[list[str | int]] = []
    for index, key in enumerate(keys):
        cells = table.cells[index]
        share = population.get((question.key, key))
        rows.append([question.label_for(key), cells[0].text, cells[1].text, cells[2].text,
                     table.row_totals[index].text,
                     f"{share // 10}.{share % 10}%" if share is not None else "-"])
    rows.append([_("Total"), table.column_totals[0].text, table.column_totals[1].text,
                 table.column_totals[2].text, table.grand_total.text, "-"])
    chart = bar_chart(
        _("Everyone taking part: %(q)s", q=question.text),
        [Bar(question.label_for(k), table.row_totals[i].shown, table.row_totals[i].text)
         for i, k in enumerate(keys)], chart_id="chart-equality")
    return Figure(
        f"equality-{question.key}", _("Who took part: %(q)s", q=question.text),
        _("Each time someone joined a panel, sent answers to a consultation or was marked as "
          "attending an event on a finalised register, an unnamed copy "
          "of their equality answers at that time was kept. This counts those copies in the "
          "months chosen, so one person who took part three times counts three times. People "
          "who had not answered the question are counted as \"Not answered\". The local "
          "population column is what an admin entered, for comparison."),
        [_("Answer"), _("Joined a panel"), _("Answered a consultation"),
         _("Attended an event"), _("All taking part"),
         _("Local population")], rows, chart,
        note=small_numbers_note() if table.any_suppressed else "")


def equality_section(filters: Filters) -> Section:
    return Section("equality", _("Equality"), [equality_make_up(filters)])
