"""Claims: creation from an activity, expenses, preferences, submission and approvals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engage.core import clock
from engage.core.models import Notification
from engage.core.permissions import Role
from engage.errors import InvalidState, NotAllowed, ValidationFailed
from engage.payments import ledger, services
from engage.payments.activities import Attendee
from engage.payments.models import ClaimEvent, ClaimState, LedgerEntry
from tests.factories import make_member, make_staff
from tests.factories_payments import approved_claim, make_activity, make_claim, seed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


@pytest.fixture(autouse=True)
def _policies(app, tmp_path):
    app.config["UPLOADS_DIR"] = str(tmp_path / "receipts")
    seed()


def test_register_creates_one_draft_per_attendee_who_took_part(db):
    lead = make_staff(Role.FACILITATOR)
    a, b, c = make_member(), make_member(), make_member()
    activity = make_activity(lead_ids=[lead.id])
    claims = services.create_draft_involvement_claims(
        activity, [Attendee(a.id, 210), Attendee(b.id, 300), Attendee(c.id, 0)])
    assert [x.user_id for x in claims] == [a.id, b.id]
    assert claims[0].involvement_pence == 7500
    assert claims[1].involvement_pence == 15000
    assert claims[0].explanation[0] == "Level 4 meeting, 3 h 30 min attended → half day £75.00"
    # Finalising the register again creates nothing new.
    again = services.create_draft_involvement_claims(activity, [Attendee(a.id, 210)])
    assert again == []
    # The member is told, in the app.
    assert db.session.scalar(select(Notification).where(Notification.user_id == a.id))


def test_claim_records_the_policy_version_in_force(db):
    claim = make_claim()
    assert claim.policy_version.label == "NHS England PPV v3"


def test_expense_with_receipt_changes_the_total(db):
    member = make_member()
    claim = make_claim(member)
    services.add_expense(member, claim, category="car", expense_date=claim.activity_date,
                         amount_pence=None, miles=12, description="", preapproved=False,
                         receipt_file=None)
    services.add_expense(member, claim, category="parking", expense_date=claim.activity_date,
                         amount_pence=650, miles=None, description="Car park",
                         preapproved=False, receipt_file=("ticket.png", PNG))
    assert claim.total_pence == 7500 + 540 + 650
    assert "Car or van 12 miles at 45p → £5.40" in claim.explanation


def test_missing_receipt_blocks_submission_with_a_clear_reason(db):
    member = make_member()
    claim = make_claim(member)
    services.add_expense(member, claim, category="parking", expense_date=claim.activity_date,
                         amount_pence=650, miles=None, description="", preapproved=False,
                         receipt_file=None)
    with pytest.raises(ValidationFailed, match="Add a receipt"):
        services.submit_claim(member, claim)
    assert claim.state == ClaimState.DRAFT


def test_declining_for_this_activity_pays_expenses_only(db):
    member = make_member()
    claim = make_claim(member)
    services.add_expense(member, claim, category="car", expense_date=claim.activity_date,
                         amount_pence=None, miles=10, description="", preapproved=False,
                         receipt_file=None)
    services.submit_claim(member, claim, declined_for_activity=True)
    assert (claim.involvement_pence, claim.declined_pence, claim.expenses_pence) == (0, 7500, 450)


def test_standing_decline_and_cap_come_from_preferences(db):
    member = make_member()
    services.update_preferences(member, choice="cap", cap_pence=10000, route="stripe",
                                capacity="self", payroll_number=None, access_needs_taxi=False)
    first = make_claim(member, ref_id=1)
    services.submit_claim(member, first)
    second = make_claim(member, ref_id=2)
    services.submit_claim(member, second)
    assert (first.involvement_pence, second.involvement_pence) == (7500, 2500)
    assert second.declined_pence == 5000
    services.update_preferences(member, choice="decline", cap_pence=None, route="stripe",
                                capacity="self", payroll_number=None, access_needs_taxi=False)
    third = make_claim(member, ref_id=3)
    assert third.involvement_pence == 0


def test_employee_gets_no_involvement_payment(db):
    member = make_member()
    services.update_preferences(member, choice="accept", cap_pence=None, route="stripe",
                                capacity="employee", payroll_number=None, access_needs_taxi=False)
    assert make_claim(member).involvement_pence == 0


def test_payroll_route_needs_a_payroll_number(db):
    with pytest.raises(ValidationFailed, match="payroll number"):
        services.update_preferences(make_member(), choice="accept", cap_pence=None,
                                    route="payroll", capacity="self", payroll_number="",
                                    access_needs_taxi=False)


def test_the_notice_view_is_recorded(db):
    member = make_member()
    assert not services.has_seen_notice(member)
    services.record_notice_seen(member)
    assert services.has_seen_notice(member)


def test_full_approval_path_records_every_move(db):
    member, lead, finance = make_member(), make_staff(Role.FACILITATOR), make_staff(Role.FINANCE)
    claim = approved_claim(member, lead, finance)
    assert claim.state == ClaimState.APPROVED
    moves = db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id)
                               .order_by(ClaimEvent.id)).all()
    assert [(m.to_state, m.actor_id) for m in moves] == [
        ("draft", None), ("submitted", member.id), ("lead_approved", lead.id),
        ("approved", finance.id)]
    assert ledger.balance(claim.id) == 7500


def test_only_the_activity_lead_approves(db):
    member = make_member()
    claim = make_claim(member)
    services.submit_claim(member, claim)
    other_lead = make_staff(Role.FACILITATOR)
    with pytest.raises(NotAllowed):
        services.lead_approve(other_lead, claim)


def test_finance_cannot_be_the_lead_who_approved(db):
    member = make_member()
    both = make_staff(Role.FACILITATOR)
    both.roles.append(type(both.roles[0])(role=Role.FINANCE))
    db.session.flush()
    claim = make_claim(member, both)
    services.submit_claim(member, claim)
    services.lead_approve(both, claim)
    with pytest.raises(NotAllowed, match="different finance officer"):
        services.finance_approve(both, claim)


def test_nobody_approves_their_own_claim(db):
    finance = make_staff(Role.FINANCE)
    lead = make_staff(Role.FACILITATOR)
    claim = make_claim(finance, lead)
    services.submit_claim(finance, claim)
    services.lead_approve(lead, claim)
    with pytest.raises(NotAllowed):
        services.finance_approve(finance, claim)


def test_returned_claim_can_be_changed_and_sent_again(db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    claim = make_claim(member, lead)
    services.submit_claim(member, claim)
    with pytest.raises(ValidationFailed):
        services.lead_return(lead, claim, "")
    services.lead_return(lead, claim, "Please add the parking receipt")
    assert claim.state == ClaimState.RETURNED
    services.submit_claim(member, claim)
    assert claim.state == ClaimState.SUBMITTED


def test_the_same_approval_twice_moves_the_claim_once(db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    claim = make_claim(member, lead)
    services.submit_claim(member, claim)
    services.lead_approve(lead, claim)
    with pytest.raises(InvalidState, match="already dealt with"):
        services.lead_approve(lead, claim)


def test_late_claim_needs_a_finance_override(db):
    member, lead, finance = make_member(), make_staff(Role.FACILITATOR), make_staff(Role.FINANCE)
    claim = make_claim(member, lead, day=clock.today_london() - timedelta(days=120))
    services.submit_claim(member, claim)
    assert claim.is_late
    services.lead_approve(lead, claim)
    with pytest.raises(InvalidState, match="override"):
        services.finance_approve(finance, claim)
    services.override_late(finance, claim, "Member was in hospital")
    services.finance_approve(finance, claim)
    assert claim.state == ClaimState.APPROVED


def test_bulk_approval_reports_what_it_could_not_do(db):
    finance = make_staff(Role.FINANCE)
    ready = []
    for _ in range(3):
        member, lead = make_member(), make_staff(Role.FACILITATOR)
        claim = make_claim(member, lead)
        services.submit_claim(member, claim)
        services.lead_approve(lead, claim)
        ready.append(claim)
    own = make_claim(finance)
    approved, problems = services.bulk_finance_approve(finance, [c.id for c in ready] + [own.id])
    assert len(approved) == 3
    assert len(problems) == 1


def test_member_is_told_at_each_step(db):
    member = make_member()
    approved_claim(member)
    titles = db.session.scalars(select(Notification.body).where(Notification.user_id ==
                                                                member.id)).all()
    assert any("with finance" in t for t in titles)
    assert any("approved and will be paid" in t for t in titles)


def test_ledger_is_append_only(db):
    claim = approved_claim()
    entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.claim_id == claim.id)).first()
    entry.amount_pence = 1
    with pytest.raises(ValueError, match="never changed"):
        db.session.flush()
    db.session.rollback()


def test_ledger_correction_is_a_reversing_entry(db):
    claim = approved_claim()
    finance = make_staff(Role.FINANCE)
    entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.claim_id == claim.id)).first()
    reversal = ledger.reverse(finance, entry.id, "Approved twice by mistake")
    assert reversal.amount_pence == -entry.amount_pence
    assert ledger.balance(claim.id) == 0
    with pytest.raises(InvalidState):
        ledger.reverse(finance, entry.id, "again")


def test_expense_only_claim_for_another_activity(db):
    from tests.factories_events import make_panel

    member, lead = make_member(), make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[lead], members=[member])
    claim = services.create_expense_claim(member, title="Training day",
                                          activity_date=clock.today_london(), panel_id=panel.id)
    services.add_expense(member, claim, category="public_transport",
                         expense_date=clock.today_london(), amount_pence=1240, miles=None,
                         description="Train", preapproved=False,
                         receipt_file=("ticket.pdf", b"%PDF-1.4\n%%EOF"))
    services.submit_claim(member, claim)
    assert claim.involvement_pence == 0
    assert claim.expenses_pence == 1240
    assert services.is_lead_for(lead, claim)
    with pytest.raises(ValidationFailed, match="Choose the panel"):
        services.create_expense_claim(member, title="x", activity_date=clock.today_london(),
                                      panel_id=make_panel().id)


def test_payable_matches_the_amount_sent_even_after_later_claims_change_the_bands(db):
    member, lead, finance = make_member(), make_staff(Role.FACILITATOR), make_staff(Role.FINANCE)
    first = make_claim(member, lead, ref_id=1)
    services.add_expense(member, first, category="car", expense_date=first.activity_date,
                         amount_pence=None, miles=12, description="", preapproved=False,
                         receipt_file=None)
    services.submit_claim(member, first)
    later = make_claim(member, lead, ref_id=2, day=first.activity_date - timedelta(days=1))
    for miles in [1000] * 9 + [995]:
        services.add_expense(member, later, category="car", expense_date=later.activity_date,
                             amount_pence=None, miles=miles, description="", preapproved=False,
                             receipt_file=None)
    services.submit_claim(member, later)
    services.lead_approve(lead, first)
    services.finance_approve(finance, first)
    assert first.expenses_pence == 540
    assert ledger.balance(first.id) == first.total_pence
