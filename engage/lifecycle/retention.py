"""Retention: how long each kind of personal data is kept, and the rules that remove it.

Each domain declares its `RetentionRule`s (engage.core.personal_data) with the kinds of personal
data they remove, in its init_app: a key, a default period in months, what the period is
counted from, and `apply(now, months) -> count` which removes what is older and returns how many
records it removed. An admin can change each period (/admin/retention); the daily job
(tasks.py) applies every rule and writes only the counts to the audit log.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import ngettext
from sqlalchemy import select

from engage.core import audit, clock
from engage.core.personal_data import RetentionRule
from engage.core.wiring import registries
from engage.errors import ValidationFailed
from engage.extensions import db
from engage.lifecycle.models import RetentionSetting

MIN_MONTHS, MAX_MONTHS = 1, 240


def rules() -> dict[str, RetentionRule]:
    """Every rule the domains declared with their personal data, by key."""
    return dict(registries().retention_rules.items())


def periods() -> dict[str, int]:
    """Months each rule keeps data for: the admin's setting, or the default."""
    chosen = {s.key: s.months for s in db.session.scalars(select(RetentionSetting))}
    return {key: chosen.get(key, rule.default_months) for key, rule in rules().items()}


def period_text(months: int) -> str:
    if months % 12 == 0:
        return ngettext("%(num)s year", "%(num)s years", months // 12)
    return ngettext("%(num)s month", "%(num)s months", months)


def set_period(actor, key: str, months: int) -> None:
    if key not in rules():
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
    counts = {key: rule.apply(moment, months[key]) for key, rule in sorted(rules().items())}
    audit.record("retention.applied", removed=counts)
    return counts
