"""Retention: how long each kind of personal data is kept, and the rules that remove it.

Each domain registers a `RetentionRule` (see engage/panels/retention.py): a key, a default period
in months, what the period is counted from, and `apply(now, months) -> count` which removes what
is older and returns how many records it removed. An admin can change each period
(/admin/retention); the daily job (tasks.py) applies every rule and writes only the counts to
the audit log.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import ngettext
from sqlalchemy import select

from engage.core import audit, clock
from engage.errors import ValidationFailed
from engage.extensions import db
from engage.lifecycle.models import RetentionSetting

MIN_MONTHS, MAX_MONTHS = 1, 240


@dataclass(frozen=True)
class RetentionRule:
    key: str
    label: str
    default_months: int
    counted_from: str  # plain English: "after the application was answered or withdrawn"
    apply: Callable[[datetime, int], int]


RULES: dict[str, RetentionRule] = {}


def register(rule: RetentionRule) -> RetentionRule:
    RULES[rule.key] = rule
    return rule


def months_before(moment: datetime, months: int) -> datetime:
    """The same time `months` calendar months earlier (the last day if that month is short)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def periods() -> dict[str, int]:
    """Months each rule keeps data for: the admin's setting, or the default."""
    chosen = {s.key: s.months for s in db.session.scalars(select(RetentionSetting))}
    return {key: chosen.get(key, rule.default_months) for key, rule in RULES.items()}


def period_text(months: int) -> str:
    if months % 12 == 0:
        return ngettext("%(num)s year", "%(num)s years", months // 12)
    return ngettext("%(num)s month", "%(num)s months", months)


def set_period(actor, key: str, months: int) -> None:
    if key not in RULES:
        raise ValidationFailed("There is no kind of data with that name.")
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        raise ValidationFailed(f"Enter a number of months from {MIN_MONTHS} to {MAX_MONTHS}.")
    setting = db.session.get(RetentionSetting, key)
    if setting is None:
        db.session.add(RetentionSetting(key=key, months=months))
    else:
        setting.months = months
    db.session.flush()
    audit.record("retention.period_changed", actor_id=actor.id, rule=key, months=months)


def apply_all(now: datetime | None = None) -> dict[str, int]:
    """Apply every rule; audit only the counts (never what was removed)."""
    moment = now or clock.now()
    months = periods()
    counts = {key: rule.apply(moment, months[key]) for key, rule in sorted(RULES.items())}
    audit.record("retention.applied", removed=counts)
    return counts
