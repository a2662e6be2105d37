"""Factories for the payments tests."""

from __future__ import annotations

from datetime import date, timedelta

from engage.core import clock
from engage.core.permissions import Role
from engage.extensions import db
from engage.payments import services
from engage.payments.activities import Activity, Attendee
from engage.payments.models import Claim, PaymentPreference
from engage.payments.policy import seed_policies
from tests.factories import make_member, make_staff


def seed() -> None:
    seed_policies()


def make_activity(*, lead_ids=(), level: int = 4, ref_id: int = 1, day: date | None = None,
                  **kwargs) -> Activity:
    return Activity(kind="event", ref_id=ref_id, title=kwargs.pop("title", "Panel meeting"),
                    activity_date=day or clock.today_london() - timedelta(days=7),
                    involvement_level=level,
                    kind_label="meeting", lead_ids=tuple(lead_ids), **kwargs)


def make_claim(member=None, lead=None, *, minutes: int = 210, level: int = 4,
               ref_id: int | None = None, day: date | None = None) -> Claim:
    seed_policies()
    member = member or make_member()
    lead = lead or make_staff(Role.FACILITATOR)
    ref_id = ref_id if ref_id is not None else member.id * 1000 + lead.id
    claims = services.create_draft_involvement_claims(
        make_activity(lead_ids=[lead.id], level=level, ref_id=ref_id, day=day),
        [Attendee(member.id, minutes)])
    return claims[0]


def connect_bank(member, account_id: str = "acct_demo") -> PaymentPreference:
    pref = services.preferences_of(member)
    pref.stripe_account_id = account_id
    pref.stripe_onboarded = True
    db.session.add(pref)
    db.session.flush()
    return pref


def approved_claim(member=None, lead=None, finance=None, **kwargs) -> Claim:
    member = member or make_member()
    lead = lead or make_staff(Role.FACILITATOR)
    finance = finance or make_staff(Role.FINANCE)
    claim = make_claim(member, lead, **kwargs)
    services.submit_claim(member, claim)
    services.lead_approve(lead, claim)
    services.finance_approve(finance, claim)
    return claim
