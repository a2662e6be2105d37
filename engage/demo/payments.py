"""Payments demo data for `make run`. Safe to run twice (checks before creating)."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta

from sqlalchemy import select

from engage.core import clock
from engage.core.money import format_pence
from engage.demo.panels import SURVIVOR_PANEL
from engage.extensions import db
from engage.panels.models import Panel
from engage.payments import receipts, services
from engage.payments.activities import Activity, Attendee
from engage.payments.models import Claim, ClaimState, Expense, Receipt
from engage.payments.policy import seed_policies

DEMO_ACCOUNT = "acct_demo_member"  # a test connected account (the local Stripe server knows it)


def _tiny_png() -> bytes:
    """A 1x1 white PNG, standing in for a photo of a parking ticket."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def seed(people: dict) -> list[str]:
    lines = seed_policies()
    member, member2 = people.get("demo-member"), people.get("demo-member2")
    lead, finance = people.get("demo-lead"), people.get("demo-finance")
    if not (member and member2 and lead and finance):
        return lines
    pref = services.preferences_of(member)
    if pref.id is None:
        pref.stripe_account_id = DEMO_ACCOUNT
        pref.stripe_onboarded = True
        db.session.add(pref)
        services.record_notice_seen(member)
    if services.preferences_of(member2).id is None:
        services.update_preferences(member2, choice="accept", cap_pence=None, route="payroll",
                                    capacity="self", payroll_number="PR-0042",
                                    legal_name=f"{member2.display_name} (legal name)",
                                    access_needs_taxi=False)
    day = clock.today_london() - timedelta(days=6)
    panel_id = db.session.scalar(select(Panel.id).where(Panel.name == SURVIVOR_PANEL))
    meeting = Activity(kind="event", ref_id=900001, title="Survivors' voice panel: quarterly "
                       "meeting", activity_date=day, involvement_level=4, kind_label="meeting",
                       lead_ids=(lead.id,), panel_id=panel_id)
    created = services.create_draft_involvement_claims(
        meeting, [Attendee(member.id, 210), Attendee(member2.id, 300)])
    for claim in created:
        if claim.user_id == member.id:
            services.add_expense(member, claim, category="car", expense_date=day,
                                 amount_pence=None, miles=12, description="Home to venue",
                                 preapproved=False, receipt_file=None)
            services.add_expense(member, claim, category="parking", expense_date=day,
                                 amount_pence=650, miles=None, description="Car park",
                                 preapproved=False, receipt_file=("parking.png", _tiny_png()))
        else:
            services.submit_claim(member2, claim)
            services.lead_approve(lead, claim)
            services.finance_approve(finance, claim)
    db.session.commit()
    claim = db.session.scalar(select(Claim).where(Claim.user_id == member.id,
                                                  Claim.activity_ref_id == 900001))
    if claim is not None:
        # Recreate a missing receipt file (for example after clearing instance/uploads).
        for expense in db.session.scalars(select(Expense).where(Expense.claim_id == claim.id)):
            receipt = db.session.get(Receipt, expense.receipt_id) if expense.receipt_id else None
            if receipt is not None and not receipts.exists(receipt.stored_name):
                receipts.replace(receipt.stored_name, _tiny_png())
        lines.append(f"  payments: demo-member has a {ClaimState(claim.state).label.lower()} "
                     f"claim for '{claim.activity_title}' ({format_pence(claim.total_pence)} "
                     "with a car journey and a parking receipt); demo-member2 has an approved "
                     "payroll claim; demo-member's test bank account is " + DEMO_ACCOUNT)
    return lines
