"""Policy tables: the shipped schemes (seed data), finding the version in force on a date,
turning a stored version into the calculation's plain facts, and adding new versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, select

from engage.core import audit
from engage.core.unit_of_work import atomic
from engage.errors import NotFound, ValidationFailed
from engage.extensions import db
from engage.payments.calculation import PolicyFacts, RuleFacts
from engage.payments.models import (
    Claim,
    ExpenseKind,
    ExpenseRule,
    PaymentMode,
    PaymentScheme,
    PolicyVersion,
)

# The expense table of PPV-POLICY.md section 3. Each: (category, label, kind, cap_pence,
# receipt_required, needs_preapproval, access_needs_waive, rule text, mileage bands,
# most one line may be in pence (actual costs) or miles (mileage)).
DEFAULT_EXPENSE_RULES = [
    ("public_transport", "Public transport", ExpenseKind.ACTUAL, None, True, False, False,
     "Actual cost, standard class. Receipt or ticket required.", [], 50000),
    ("car", "Car or van", ExpenseKind.MILEAGE, None, False, False, False,
     "45p a mile for the first 10,000 miles in the tax year, 25p after (HMRC approved amounts).",
     [[0, 45], [10000, 25]], 1000),
    ("motorcycle", "Motorcycle", ExpenseKind.MILEAGE, None, False, False, False,
     "24p a mile.", [[0, 24]], 1000),
    ("bicycle", "Bicycle", ExpenseKind.MILEAGE, None, False, False, False,
     "20p a mile.", [[0, 20]], 200),
    ("taxi", "Taxi", ExpenseKind.ACTUAL, None, True, True, True,
     "Actual cost with receipt. Agree it in advance unless your access needs say taxis.", [],
     30000),
    ("parking", "Parking or tolls", ExpenseKind.ACTUAL, None, True, False, False,
     "Actual cost with receipt.", [], 10000),
    ("care", "Care and support", ExpenseKind.ACTUAL, None, True, False, False,
     "Childcare, carer or personal assistant costs: actual cost with receipt.", [], 100000),
    ("meals", "Meals", ExpenseKind.ACTUAL, 1500, True, False, False,
     "Actual cost up to £15.00, receipt required.", [], 10000),
    ("accommodation", "Accommodation", ExpenseKind.ACTUAL, 12000, True, True, False,
     "Only when agreed in advance, actual cost up to £120.00 a night.", [], 50000),
    ("other", "Other", ExpenseKind.ACTUAL, None, True, True, False,
     "Agree it in advance; receipt required.", [], 50000),
]

SHIPPED_SCHEMES = [
    {
        "code": "nhse-ppv", "name": "NHS England PPV policy", "is_default": True,
        "description": "NHS England 'Reimbursing expenses and paying involvement payments' "
                       "(version 3, October 2021): level 4 paid, £150 a full day, £75 a half day "
                       "(up to and including 4 hours).",
        "versions": [dict(label="NHS England PPV v3", effective_from=date(2021, 10, 1),
                          paid_levels=[4], payment_mode=PaymentMode.DAY_RATE,
                          half_day_pence=7500, full_day_pence=15000, threshold_minutes=240,
                          threshold_is_half_day=True, claim_deadline_months=3,
                          target_payment_days=30, cost_code="PPV-NHSE")],
    },
    {
        "code": "nice-lay", "name": "NICE lay members (example)", "is_default": False,
        "description": "NICE lay members: £150 for a meeting of 4 hours or more, £75 under "
                       "4 hours; partial attendance paid for time attended.",
        "versions": [dict(label="NICE lay members", effective_from=date(2024, 4, 6),
                          paid_levels=[3, 4], payment_mode=PaymentMode.DAY_RATE,
                          half_day_pence=7500, full_day_pence=15000, threshold_minutes=240,
                          threshold_is_half_day=False, claim_deadline_months=3,
                          target_payment_days=30, cost_code="PPV-NICE")],
    },
    {
        "code": "nihr", "name": "NIHR public contributors (example)", "is_default": False,
        "description": "An hourly rate up to a maximum per activity. Example figures: check "
                       "them against NIHR's current payment guidance before use. Rates rose "
                       "by 10% from 16 December 2025. Public-sector employees are paid only "
                       "for work unrelated to their job done in their own time.",
        "versions": [
            dict(label="NIHR example rates", effective_from=date(2024, 4, 6),
                 paid_levels=[2, 3, 4], payment_mode=PaymentMode.HOURLY, hourly_pence=2500,
                 half_day_pence=7500, full_day_pence=15000, threshold_minutes=240,
                 claim_deadline_months=3, target_payment_days=30, cost_code="PPV-NIHR"),
            dict(label="NIHR example rates (+10%)", effective_from=date(2025, 12, 16),
                 paid_levels=[2, 3, 4], payment_mode=PaymentMode.HOURLY, hourly_pence=2750,
                 half_day_pence=8250, full_day_pence=16500, threshold_minutes=240,
                 claim_deadline_months=3, target_payment_days=30, cost_code="PPV-NIHR"),
        ],
    },
]


# Ledger and report categories that are not expense kinds.
OTHER_CATEGORY_LABELS = {"involvement": "Involvement payment", "payment": "Payment",
                         "advance": "Advance"}


def category_label(category: str, rules: dict | None = None) -> str:
    """A person's words for a category code ("public_transport" → "Public transport"): the
    version's own label when given, else the shipped one."""
    if rules and category in rules:
        return rules[category].label
    shipped = {rule[0]: rule[1] for rule in DEFAULT_EXPENSE_RULES}
    return (OTHER_CATEGORY_LABELS.get(category) or shipped.get(category)
            or category.replace("_", " ").capitalize())


def _add_rules(version: PolicyVersion, rules) -> None:
    for position, (category, label, kind, cap, receipt, pre, waive, text, bands,
                   most) in enumerate(rules):
        mileage = kind == ExpenseKind.MILEAGE
        version.expense_rules.append(ExpenseRule(
            position=position, category=category, label=label, kind=kind, cap_pence=cap,
            receipt_required=receipt, needs_preapproval=pre,
            access_needs_waive_preapproval=waive, rule_text=text, mileage_bands=bands,
            max_line_pence=None if mileage else most, max_miles=most if mileage else None,
        ))


def seed_policies() -> list[str]:
    """Create the shipped schemes and versions that are missing. Safe to run twice."""
    lines = []
    for spec in SHIPPED_SCHEMES:
        scheme = db.session.scalar(select(PaymentScheme).where(PaymentScheme.code == spec["code"]))
        if scheme is None:
            scheme = PaymentScheme(code=spec["code"], name=spec["name"],
                                   description=spec["description"], is_default=spec["is_default"])
            db.session.add(scheme)
            db.session.flush()
            lines.append(f"  payment scheme: {scheme.name}")
        for values in spec["versions"]:
            found = db.session.scalar(select(PolicyVersion).where(
                PolicyVersion.scheme_id == scheme.id,
                PolicyVersion.effective_from == values["effective_from"]))
            if found is None:
                version = PolicyVersion(scheme_id=scheme.id, **values)
                _add_rules(version, DEFAULT_EXPENSE_RULES)
                db.session.add(version)
    db.session.flush()
    return lines


def default_scheme() -> PaymentScheme:
    scheme = db.session.scalar(select(PaymentScheme).where(PaymentScheme.is_default.is_(True)))
    if scheme is None:
        seed_policies()
        scheme = db.session.scalar(select(PaymentScheme).where(
            PaymentScheme.is_default.is_(True)))
    return scheme


def version_in_force(on: date, scheme: PaymentScheme | None = None) -> PolicyVersion:
    scheme = scheme or default_scheme()
    version = db.session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.scheme_id == scheme.id, PolicyVersion.effective_from <= on)
        .order_by(PolicyVersion.effective_from.desc())
    )
    if version is None:
        raise NotFound(f"No version of {scheme.name} was in force on {on:%-d %B %Y}. An admin "
                       "can add one on the payment policy page.")
    return version


def facts_of(version: PolicyVersion) -> PolicyFacts:
    return PolicyFacts(
        label=f"{version.scheme.name}, {version.label}, from {version.effective_from:%-d %B %Y}",
        paid_levels=frozenset(version.paid_levels or []),
        payment_mode=version.payment_mode,
        half_day_pence=version.half_day_pence,
        full_day_pence=version.full_day_pence,
        threshold_minutes=version.threshold_minutes,
        threshold_is_half_day=version.threshold_is_half_day,
        hourly_pence=version.hourly_pence,
        rules=tuple(
            RuleFacts(
                category=r.category, label=r.label, kind=r.kind, cap_pence=r.cap_pence,
                receipt_required=r.receipt_required, needs_preapproval=r.needs_preapproval,
                access_needs_waive_preapproval=r.access_needs_waive_preapproval,
                mileage_bands=tuple((int(a), int(b)) for a, b in (r.mileage_bands or [])),
            )
            for r in version.expense_rules
        ),
    )


def is_used(version: PolicyVersion) -> bool:
    return bool(db.session.scalar(select(exists().where(Claim.policy_version_id == version.id))))


def get_version(version_id: int) -> PolicyVersion:
    version = db.session.get(PolicyVersion, version_id)
    if version is None:
        raise NotFound("That policy version does not exist.")
    return version


@dataclass
class VersionFigures:
    label: str
    effective_from: date
    paid_levels: list[int]
    payment_mode: str
    half_day_pence: int
    full_day_pence: int
    threshold_minutes: int
    threshold_is_half_day: bool
    hourly_pence: int
    claim_deadline_months: int
    target_payment_days: int
    cost_code: str
    notes: str
    # category -> (cap_pence or None, receipt_required, needs_preapproval, bands)
    rules: dict[str, tuple[int | None, bool, bool, list[list[int]]]]


@atomic
def add_version(actor, scheme: PaymentScheme, figures: VersionFigures,
                copy_rules_from: PolicyVersion | None) -> PolicyVersion:
    """A new version with its own effective date. Existing versions are never changed."""
    clash = db.session.scalar(select(PolicyVersion).where(
        PolicyVersion.scheme_id == scheme.id,
        PolicyVersion.effective_from == figures.effective_from))
    if clash is not None:
        raise ValidationFailed("There is already a version starting on that date. Choose "
                               "another date: versions are never changed once added.")
    if not figures.paid_levels:
        figures.paid_levels = []
    version = PolicyVersion(
        scheme_id=scheme.id, label=figures.label, effective_from=figures.effective_from,
        paid_levels=sorted(figures.paid_levels), payment_mode=figures.payment_mode,
        half_day_pence=figures.half_day_pence, full_day_pence=figures.full_day_pence,
        threshold_minutes=figures.threshold_minutes,
        threshold_is_half_day=figures.threshold_is_half_day,
        hourly_pence=figures.hourly_pence, claim_deadline_months=figures.claim_deadline_months,
        target_payment_days=figures.target_payment_days, cost_code=figures.cost_code,
        notes=figures.notes, created_by_id=actor.id,
    )
    source = copy_rules_from.expense_rules if copy_rules_from else []
    base = ([(r.category, r.label, r.kind, r.cap_pence, r.receipt_required, r.needs_preapproval,
              r.access_needs_waive_preapproval, r.rule_text, r.mileage_bands,
              r.max_miles if r.kind == ExpenseKind.MILEAGE else r.max_line_pence)
             for r in source]
            or DEFAULT_EXPENSE_RULES)
    rules = []
    for category, label, kind, cap, receipt, pre, waive, text, bands, most in base:
        if category in figures.rules:
            cap, receipt, pre, new_bands = figures.rules[category]
            bands = new_bands if new_bands else bands
        rules.append((category, label, kind, cap, receipt, pre, waive, text, bands, most))
    _add_rules(version, rules)
    db.session.add(version)
    db.session.flush()
    audit.record("payments.policy_version_added", actor_id=actor.id,
                 subject_type="payment_policy_version", subject_id=version.id,
                 scheme=scheme.code, effective_from=figures.effective_from.isoformat())
    return version


@atomic
def add_scheme(actor, code: str, name: str, description: str) -> PaymentScheme:
    if db.session.scalar(select(PaymentScheme).where(PaymentScheme.code == code)):
        raise ValidationFailed("A scheme with that short code already exists: choose another.")
    scheme = PaymentScheme(code=code, name=name, description=description)
    db.session.add(scheme)
    db.session.flush()
    audit.record("payments.scheme_added", actor_id=actor.id, subject_type="payment_scheme",
                 subject_id=scheme.id)
    return scheme
