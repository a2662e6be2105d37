"""The one place amounts are worked out. Pure: plain data in, amounts and explanation out.

Integer pence only. The same input always gives the same output. The result explains itself
line by line ("Level 4 meeting, 3 h 30 min attended → half day £75.00"), so the member, the
lead and finance all see exactly why.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from flask_babel import ngettext

from engage.core.money import format_pence
from engage.payments.models import ExpenseKind, PaymentChoice

# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleFacts:
    category: str
    label: str
    kind: str = "actual"  # "actual" or "mileage"
    cap_pence: int | None = None
    receipt_required: bool = True
    needs_preapproval: bool = False
    access_needs_waive_preapproval: bool = False
    mileage_bands: tuple[tuple[int, int], ...] = ()  # ((from_mile, pence_per_mile), ...)


@dataclass(frozen=True)
class PolicyFacts:
    label: str
    paid_levels: frozenset[int] = frozenset({4})
    payment_mode: str = "day_rate"  # or "hourly"
    half_day_pence: int = 0
    full_day_pence: int = 0
    threshold_minutes: int = 240
    threshold_is_half_day: bool = True
    hourly_pence: int = 0
    rules: tuple[RuleFacts, ...] = ()

    def rule(self, category: str) -> RuleFacts | None:
        return next((r for r in self.rules if r.category == category), None)

    @property
    def maximum_involvement_pence(self) -> int:
        """The most one day of an activity can earn under this policy."""
        return max(self.half_day_pence, self.full_day_pence)


@dataclass(frozen=True)
class ActivityFacts:
    title: str
    kind_label: str = "activity"  # "meeting", "workshop", ...
    involvement_level: int = 1
    minutes_taken_part: int = 0
    # An activity over several days: minutes on each day, in date order. Each day is paid as
    # a day of its own (a three-day course attended in full is three full days).
    day_minutes: tuple[int, ...] = ()
    prep_minutes: int = 0
    prep_paid: bool = False
    cancelled: bool = False
    cancellation_payable: bool = False
    activity_date: date | None = None
    # How long the activity was planned to last: what a cancellation marked payable pays.
    planned_minutes: int = 0


@dataclass(frozen=True)
class PersonFacts:
    choice: str = "accept"  # "accept", "decline" or "cap"
    cap_pence: int | None = None
    capacity: str = "self"  # "self", "representative", "employee"
    declined_for_activity: bool = False
    access_needs_taxi: bool = False
    # Already claimed this tax year on claims sent before this one:
    involvement_so_far_pence: int = 0
    # Miles already claimed, per (tax year's first calendar year, category): each journey
    # counts in the tax year of its own date.
    miles_so_far: dict[tuple[int, str], int] = field(default_factory=dict)
    tax_year_label: str = ""


@dataclass(frozen=True)
class ExpenseFacts:
    category: str
    amount_pence: int | None = None
    miles: int | None = None
    has_receipt: bool = False
    preapproved: bool = False
    expense_date: date | None = None  # the journey's or purchase's own date


@dataclass(frozen=True)
class AdvanceFacts:
    """Money already paid to the person for this activity, before it took place."""

    pence: int
    paid_on: date | None = None


@dataclass(frozen=True)
class TicketFacts:
    """A ticket the organisation booked and paid for: shown, never claimed again."""

    description: str
    pence: int


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpenseResult:
    category: str
    pence: int
    line: str


@dataclass(frozen=True)
class Result:
    involvement_pence: int
    declined_pence: int
    expenses: tuple[ExpenseResult, ...]
    lines: tuple[str, ...]
    problems: tuple[str, ...]  # what must be fixed before the claim can be sent
    advance_pence: int = 0  # advances taken off this claim (never more than its total)
    advance_not_covered_pence: int = 0  # advances beyond the claim's total: not clawed back

    @property
    def expenses_pence(self) -> int:
        return sum(e.pence for e in self.expenses)

    @property
    def total_pence(self) -> int:
        return self.involvement_pence + self.expenses_pence

    @property
    def to_pay_pence(self) -> int:
        return self.total_pence - self.advance_pence


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def tax_year_start(day: date) -> int:
    """The calendar year in which the UK tax year containing `day` began (6 April)."""
    return day.year if (day.month, day.day) >= (4, 6) else day.year - 1


def tax_year_label(day: date) -> str:
    start = tax_year_start(day)
    return f"{start}–{(start + 1) % 100:02d}"  # noqa: RUF001 - an en dash, on purpose


def tax_year_bounds(start_year: int) -> tuple[date, date]:
    return date(start_year, 4, 6), date(start_year + 1, 4, 5)


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, or that month's last day when it is
    shorter (31 January + 1 month is 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def claim_deadline(activity_date: date, months: int) -> date:
    """The last day a claim is in time: calendar months after the activity."""
    return add_months(activity_date, months)


def format_duration(minutes: int) -> str:
    hours, rest = divmod(max(minutes, 0), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return f"{hours} h"
    return f"{rest} min"


def _miles(miles: int) -> str:
    return ngettext("%(miles)s mile", "%(miles)s miles", miles, miles=f"{miles:,}")


def format_rate(pence: int) -> str:
    return f"{pence}p" if pence < 100 else format_pence(pence)


def _round_div(numerator: int, denominator: int) -> int:
    """Integer division rounding halves up (amounts are never negative here)."""
    return (numerator * 2 + denominator) // (denominator * 2)


# ---------------------------------------------------------------------------------------------
# Involvement payment
# ---------------------------------------------------------------------------------------------


def _one_day(policy: PolicyFacts, minutes: int) -> tuple[int, str]:
    """What one day's time earns, and how it is worked out ("half day £75.00")."""
    if policy.payment_mode == "hourly":
        amount = _round_div(minutes * policy.hourly_pence, 60)
        if policy.full_day_pence:
            amount = min(amount, policy.full_day_pence)
        return amount, (f"{format_duration(minutes)} at {format_pence(policy.hourly_pence)} "
                        f"an hour {format_pence(amount)}")
    threshold = policy.threshold_minutes
    half = minutes <= threshold if policy.threshold_is_half_day else minutes < threshold
    amount = policy.half_day_pence if half else policy.full_day_pence
    return amount, f"{'half' if half else 'full'} day {format_pence(amount)}"


def _over_several_days(policy: PolicyFacts, activity: ActivityFacts, what: str
                       ) -> tuple[int, list[str]]:
    """Each day taken part (or, for a payable cancellation, each day planned) is paid as a day
    of its own; paid preparation counts towards the first day."""
    total, lines = 0, []
    prep = activity.prep_minutes if activity.prep_paid and activity.prep_minutes > 0 else 0
    done = "planned (cancelled, paid as agreed by the lead)" if activity.cancelled else "attended"
    for number, minutes in enumerate(activity.day_minutes, start=1):
        if minutes <= 0:
            continue
        detail = f"{format_duration(minutes)} {done}"
        if prep:
            minutes += prep
            detail += f" + {format_duration(prep)} preparation"
            prep = 0
        amount, paid_as = _one_day(policy, minutes)
        total += amount
        lines.append(f"{what}, day {number}: {detail} → {paid_as}")
    if len(lines) > 1:
        lines.append(f"{len(lines)} days taken part → {format_pence(total)}")
    return total, lines


def _involvement(policy: PolicyFacts, activity: ActivityFacts, person: PersonFacts
                 ) -> tuple[int, int, list[str]]:
    """Returns (paid pence, declined pence, lines)."""
    what = f"Level {activity.involvement_level} {activity.kind_label}"
    if activity.involvement_level not in policy.paid_levels:
        return 0, 0, [f"{what} → expenses only (no involvement payment at this level)"]
    if activity.cancelled and not activity.cancellation_payable:
        return 0, 0, [f"{what}, cancelled → no involvement payment; expenses you could not "
                      "get back are still paid"]
    if person.capacity == "representative":
        return 0, 0, [f"{what} → no involvement payment when taking part for an "
                      "organisation; expenses are still paid"]
    if person.capacity == "employee":
        return 0, 0, [f"{what} → no involvement payment for a paid employee in work time; "
                      "expenses are still paid"]

    if len(activity.day_minutes) > 1:  # cancelled here means payable: each planned day
        amount, earned_lines = _over_several_days(policy, activity, what)
    else:
        minutes = max(activity.minutes_taken_part, 0)
        detail = f"{format_duration(minutes)} attended"
        if activity.cancelled:
            # Payable cancellations pay the activity as it was planned.
            minutes = max(activity.planned_minutes, 0)
            detail = (f"cancelled, paid as planned ({format_duration(minutes)}) as agreed by "
                      "the lead")
        if activity.prep_paid and activity.prep_minutes > 0:
            minutes += activity.prep_minutes
            detail += f" + {format_duration(activity.prep_minutes)} preparation"
        if minutes <= 0:
            return 0, 0, [f"{what}, no time recorded → no involvement payment"]
        amount, paid_as = _one_day(policy, minutes)
        earned_lines = [f"{what}, {detail} → {paid_as}"]
    if not earned_lines:
        return 0, 0, [f"{what}, no time recorded → no involvement payment"]

    if person.declined_for_activity or person.choice == PaymentChoice.DECLINE:
        why = "for this activity" if person.declined_for_activity else "in your preferences"
        return 0, amount, [*earned_lines, f"You declined involvement payments {why} → "
                           f"{format_pence(amount)} recorded as declined, not paid"]

    lines = list(earned_lines)
    declined = 0
    if person.choice == PaymentChoice.CAP and person.cap_pence is not None:
        room = max(person.cap_pence - person.involvement_so_far_pence, 0)
        if amount > room:
            declined = amount - room
            year = f" for the {person.tax_year_label} tax year" if person.tax_year_label else ""
            lines.append(
                f"Your cap of {format_pence(person.cap_pence)}{year}: "
                f"{format_pence(person.involvement_so_far_pence)} already claimed → "
                f"{format_pence(room)} paid, {format_pence(declined)} recorded as declined"
            )
            amount = room
    return amount, declined, lines


# ---------------------------------------------------------------------------------------------
# Expenses
# ---------------------------------------------------------------------------------------------


def _mileage(rule: RuleFacts, miles: int, so_far: int, year_label: str) -> tuple[int, str]:
    bands = sorted(rule.mileage_bands) or [(0, 0)]
    pieces: list[tuple[int, int]] = []  # (miles, rate)
    position = so_far
    remaining = miles
    for index, (start, rate) in enumerate(bands):
        end = bands[index + 1][0] if index + 1 < len(bands) else None
        if end is not None and position >= end:
            continue
        if remaining <= 0:
            break
        position = max(position, start)
        take = remaining if end is None else min(remaining, end - position)
        if take > 0:
            pieces.append((take, rate))
            remaining -= take
            position += take
    pence = sum(m * r for m, r in pieces)
    name = rule.label.lower()
    if len(pieces) == 1:
        text = f"{name} {_miles(miles)} at {format_rate(pieces[0][1])}"
    else:
        parts = ", ".join(f"{m} at {format_rate(r)}" for m, r in pieces)
        year = f"in the {year_label} tax year" if year_label else "this tax year"
        text = f"{name} {_miles(miles)} ({parts}, after {_miles(so_far)} {year})"
    return pence, text


def _expense(policy: PolicyFacts, person: PersonFacts, item: ExpenseFacts,
             miles_used: dict[tuple[int, str], int], activity_date: date | None
             ) -> tuple[ExpenseResult, list[str]]:
    rule = policy.rule(item.category)
    problems: list[str] = []
    if rule is None:
        return (ExpenseResult(item.category, 0,
                              f"{item.category}: not covered by this policy → £0.00"),
                [f"The expense type '{item.category}' is not covered by this policy: "
                 "remove it or ask finance."])
    if rule.kind == ExpenseKind.MILEAGE:
        miles = max(item.miles or 0, 0)
        journey_date = item.expense_date or activity_date
        key = (tax_year_start(journey_date) if journey_date else 0, rule.category)
        so_far = miles_used.get(key, 0)
        pence, text = _mileage(rule, miles, so_far,
                               tax_year_label(journey_date) if journey_date else "")
        miles_used[key] = so_far + miles
    else:
        pence = max(item.amount_pence or 0, 0)
        text = f"{rule.label.lower()} {format_pence(pence)}"
        if rule.receipt_required and not item.has_receipt:
            problems.append(f"Add a receipt for {rule.label.lower()}: it is needed for this "
                            "type of expense.")
    if rule.needs_preapproval and not item.preapproved and not (
        rule.access_needs_waive_preapproval and person.access_needs_taxi
    ):
        problems.append(f"{rule.label} needs agreeing with the lead before you claim it: tick "
                        "'agreed in advance' if they agreed, or ask them first.")
    if rule.cap_pence is not None and pence > rule.cap_pence:
        text += f", capped at {format_pence(rule.cap_pence)}"
        pence = rule.cap_pence
    return ExpenseResult(rule.category, pence, f"{text} → {format_pence(pence)}"), problems


# ---------------------------------------------------------------------------------------------
# The calculation
# ---------------------------------------------------------------------------------------------


def _day(day: date) -> str:
    return f"{day.day} {day:%B}"


def _advances(advances, total: int) -> tuple[int, int, list[str]]:
    """Take advances off the total, never below zero. Returns (taken off, not covered, lines)."""
    lines = []
    paid = 0
    for advance in advances:
        pence = max(advance.pence, 0)
        paid += pence
        when = f" on {_day(advance.paid_on)}" if advance.paid_on else ""
        lines.append(f"Advance paid{when} → −{format_pence(pence)}")  # noqa: RUF001 - a minus sign
    taken = min(paid, total)
    not_covered = paid - taken
    if not_covered:
        lines.append(f"Your advance ({format_pence(paid)}) was more than this claim "
                     f"({format_pence(total)}), so there is nothing more to pay. The "
                     f"{format_pence(not_covered)} left over is not taken back automatically: "
                     "finance can see it and will talk to you only if it needs sorting out.")
    return taken, not_covered, lines


def calculate(policy: PolicyFacts, activity: ActivityFacts, person: PersonFacts,
              expenses: tuple[ExpenseFacts, ...] | list[ExpenseFacts] = (),
              *, include_involvement: bool = True,
              advances: tuple[AdvanceFacts, ...] | list[AdvanceFacts] = (),
              tickets: tuple[TicketFacts, ...] | list[TicketFacts] = ()) -> Result:
    if include_involvement:
        paid, declined, lines = _involvement(policy, activity, person)
    else:
        paid, declined, lines = 0, 0, [f"Expenses for {activity.title}"]
    miles_used = dict(person.miles_so_far)
    results: list[ExpenseResult] = []
    problems: list[str] = []
    for item in expenses:
        result, item_problems = _expense(policy, person, item, miles_used,
                                         activity.activity_date)
        results.append(result)
        problems.extend(item_problems)
        lines.append(result.line[0].upper() + result.line[1:])
    for ticket in tickets:
        lines.append(f"{ticket.description or 'Ticket'} booked for you: "
                     f"{format_pence(max(ticket.pence, 0))}, nothing to claim")
    total = paid + sum(r.pence for r in results)
    lines.append(f"Total {format_pence(total)} (policy: {policy.label})")
    taken, not_covered = 0, 0
    if advances:
        taken, not_covered, advance_lines = _advances(advances, total)
        lines.extend(advance_lines)
        lines.append(f"Still to pay {format_pence(total - taken)}")
    return Result(paid, declined, tuple(results), tuple(lines), tuple(problems), taken,
                  not_covered)
