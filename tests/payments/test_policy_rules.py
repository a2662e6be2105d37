"""Every rule of PPV-POLICY.md, each in a test named after it, through the real services (and
pages, where a person clicks)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from engage.core import clock
from engage.core.permissions import Role
from engage.errors import InvalidState, ValidationFailed
from engage.events import services as events
from engage.events.models import AttendanceRecord
from engage.extensions import db as _db
from engage.payments import ledger, payouts, services
from engage.payments.calculation import claim_deadline
from engage.payments.models import (
    BenefitsNoticeView,
    Claim,
    ClaimState,
    LedgerEntry,
    LedgerEntryType,
    Payout,
    PayoutState,
)
from tests.factories import make_member, make_staff
from tests.factories_events import confirmed_booking, make_event, make_panel
from tests.factories_panels import PersonClient
from tests.factories_payments import approved_claim, connect_bank, make_claim, seed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _setup(app, tmp_path):
    app.config["RECEIPTS_DIR"] = str(tmp_path / "receipts")
    seed()
    yield
    clock.set_frozen(None)


def _today(day: date) -> None:
    """Freeze the clock at noon London time on `day`."""
    clock.set_frozen(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


def _prefs(member, **values) -> None:
    chosen = {"choice": "accept", "cap_pence": None, "route": "stripe", "capacity": "self",
              "payroll_number": None, "access_needs_taxi": False, **values}
    services.update_preferences(member, **chosen)


def _expense(member, claim, category="car", *, day=None, miles=None, amount=None,
             receipt=False):
    return services.add_expense(member, claim, category=category,
                                expense_date=day or claim.activity_date, amount_pence=amount,
                                miles=miles, description="", preapproved=False,
                                receipt_file=("r.png", PNG) if receipt else None)


def _reasons(claim) -> str:
    return " | ".join(event.reason or "" for event in claim.history)


# --- the tax-year cap ---


def test_tax_year_cap_is_worked_out_again_at_each_approval_step_and_rejected_claims_free_room(db):
    member, lead, finance = make_member(), make_staff(Role.FACILITATOR), make_staff(Role.FINANCE)
    _prefs(member, choice="cap", cap_pence=10000)
    first, second = make_claim(member, lead, ref_id=1), make_claim(member, lead, ref_id=2)
    services.submit_claim(member, first)
    services.submit_claim(member, second)
    assert (first.involvement_pence, first.declined_pence) == (7500, 0)
    assert (second.involvement_pence, second.declined_pence) == (2500, 5000)

    # The lead rejects the first claim: the room it took goes to the second.
    services.lead_reject(lead, first, "You were not at this meeting.")
    db.session.refresh(second)
    assert (second.involvement_pence, second.declined_pence) == (7500, 0)
    assert "because another of your claims is no longer counted: £25.00 → £75.00" in (
        _reasons(second))

    # A third claim sent now has only what is left under the cap...
    third = make_claim(member, lead, ref_id=3)
    services.submit_claim(member, third)
    assert third.involvement_pence == 2500
    # ...and is worked out again at each approval step (here the cap was raised meanwhile).
    _prefs(member, choice="cap", cap_pence=20000)
    services.lead_approve(lead, third)
    assert third.involvement_pence == 7500
    assert "Worked out again at the lead's check: £25.00 → £75.00" in _reasons(third)

    # A claim returned to the member frees its room too.
    _prefs(member, choice="cap", cap_pence=10000)
    services.lead_approve(lead, second)
    services.finance_return(finance, second, "Please add your parking receipt.")
    services.finance_approve(finance, third)
    assert third.involvement_pence == 7500  # still within the cap without the second
    assert ledger.balance(third.id) == 7500


# --- mileage bands ---


def test_mileage_bands_follow_each_journeys_own_date_and_tax_year(db):
    _today(date(2026, 5, 20))
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    march = make_claim(member, lead, ref_id=1, day=date(2026, 3, 20))
    for _ in range(10):
        _expense(member, march, miles=999)  # 9,990 miles in the 2025-26 tax year
    services.submit_claim(member, march)

    # An activity on 4 April 2026 is still in the 2025-26 tax year; one of its journeys is on
    # 10 April, in the 2026-27 tax year, where no miles have been claimed yet.
    april = make_claim(member, lead, ref_id=2, day=date(2026, 4, 4))
    _expense(member, april, miles=20, day=date(2026, 4, 4))
    _expense(member, april, miles=20, day=date(2026, 4, 10))
    first, second = april.expenses
    assert first.allowed_pence == 10 * 45 + 10 * 25  # crosses 10,000 miles in 2025-26
    assert second.allowed_pence == 20 * 45  # a new tax year: back to 45p
    lines = " ".join(april.explanation)
    assert "10 at 45p, 10 at 25p, after 9,990 miles in the 2025\u201326 tax year" in lines


# --- the claim deadline ---


def test_claim_deadline_is_calendar_months_not_91_days(db):
    assert claim_deadline(date(2027, 1, 31), 3) == date(2027, 4, 30)  # the month's last day
    assert claim_deadline(date(2027, 11, 30), 3) == date(2028, 2, 29)  # a leap year
    assert claim_deadline(date(2026, 6, 15), 3) == date(2026, 9, 15)  # the same day

    member, lead = make_member(), make_staff(Role.FACILITATOR)
    _today(date(2027, 2, 28))
    in_time = make_claim(member, lead, ref_id=1, day=date(2026, 11, 30))
    assert services.deadline_of(in_time) == date(2027, 2, 28)  # 91 days would be 1 March
    services.submit_claim(member, in_time)
    assert not in_time.is_late
    _today(date(2027, 3, 1))
    late = make_claim(member, lead, ref_id=2, day=date(2026, 11, 30))
    services.submit_claim(member, late)
    assert late.is_late


# --- cancellations ---


def _paid_panel_event(*people, hours=5, starts_in=timedelta(days=1)):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator], members=people, involvement_level=4)
    event = make_event(organiser=facilitator, panel=panel, starts_in=starts_in,
                       length=timedelta(hours=hours))
    for person in people:
        confirmed_booking(person, event)
    return facilitator, event


def test_payable_cancellation_pays_the_activity_as_planned_and_creates_claims(db):
    came, also = make_member(), make_member()
    organiser, event = _paid_panel_event(came, also, hours=5)
    events.cancel_event(organiser, event, "Cancelled on the day: the room flooded.",
                        cancellation_payable=True)
    claims = {c.user_id: c for c in db.session.scalars(select(Claim))}
    assert set(claims) == {came.id, also.id}
    claim = claims[came.id]
    assert claim.state == ClaimState.DRAFT and claim.activity_cancelled
    # Paid as planned: 5 hours is a full day (not one minute, which would be a half day).
    assert claim.involvement_pence == 15000
    assert "cancelled, paid as planned (5 h)" in claim.explanation[0]
    assert organiser.id in claim.lead_ids


def test_payable_cancellation_of_an_event_over_several_days_pays_each_planned_day(db):
    _today(date(2027, 1, 5))
    booked = make_member()
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator], members=[booked], involvement_level=4)
    # Three days, 10:00 to 16:00 each day (January: London time is UTC).
    event = make_event(organiser=facilitator, panel=panel,
                       starts_at=datetime(2027, 1, 12, 10, tzinfo=UTC),
                       length=timedelta(days=2, hours=6), runs_daily=True)
    assert len(event.sessions) == 3
    confirmed_booking(booked, event)
    events.cancel_event(facilitator, event, "The venue closed.", cancellation_payable=True)
    claim = db.session.scalar(select(Claim).where(Claim.user_id == booked.id))
    # Each planned day of 6 hours is a full day: three full days, not one.
    assert claim.involvement_pence == 3 * 15000
    assert "day 3: 6 h planned" in " ".join(claim.explanation)


def test_cancelled_event_creates_claims_for_expenses_already_spent(db):
    booked = make_member()
    organiser, event = _paid_panel_event(booked, starts_in=timedelta(days=3))
    events.cancel_event(organiser, event, "")  # not payable
    claim = db.session.scalar(select(Claim).where(Claim.user_id == booked.id))
    assert claim.involvement_pence == 0
    assert "cancelled → no involvement payment" in claim.explanation[0]
    # The train ticket was bought last week and cannot be refunded.
    _expense(booked, claim, "public_transport", day=clock.today_london() - timedelta(days=7),
             amount=3450, receipt=True)
    services.submit_claim(booked, claim)
    assert claim.state == ClaimState.SUBMITTED and claim.total_pence == 3450


# --- attendance corrections ---


def _finalised_meeting(*people):
    organiser, event = _paid_panel_event(*people, hours=5, starts_in=timedelta(days=14))
    event.starts_at -= timedelta(days=21)
    event.ends_at -= timedelta(days=21)
    events.register_rows(organiser, event)
    return organiser, event


def _record(event, person) -> AttendanceRecord:
    return _db.session.scalar(select(AttendanceRecord).where(
        AttendanceRecord.event_id == event.id, AttendanceRecord.user_id == person.id))


def test_attendance_corrections_after_a_register_is_finalised_update_or_create_claims(db):
    came, missed, approved = make_member(), make_member(), make_member()
    organiser, event = _finalised_meeting(came, missed, approved)
    events.save_register(organiser, event, {missed.id: events.Mark("did_not_attend")})
    events.finalise_register(organiser, event)
    claims = {c.user_id: c for c in db.session.scalars(select(Claim))}
    assert set(claims) == {came.id, approved.id}
    assert claims[came.id].involvement_pence == 15000

    # A draft claim follows the correction.
    events.correct_attendance(organiser, _record(event, came), events.Mark("attended_part", 120),
                              "Left at the break")
    assert claims[came.id].minutes_taken_part == 120
    assert claims[came.id].involvement_pence == 7500
    assert "Attendance corrected by the organiser: 5 h → 2 h (Left at the break)" in (
        _reasons(claims[came.id]))

    # Someone marked absent by mistake gets a claim.
    events.correct_attendance(organiser, _record(event, missed), events.Mark("attended"),
                              "Signed in late")
    made = db.session.scalar(select(Claim).where(Claim.user_id == missed.id))
    assert made.state == ClaimState.DRAFT and made.involvement_pence == 15000

    # An approved, unpaid claim goes back to finance and is never paid the old amount.
    lead, finance = make_staff(Role.FACILITATOR), make_staff(Role.FINANCE)
    claim = claims[approved.id]
    claim.lead_ids = [lead.id]
    services.submit_claim(approved, claim)
    services.lead_approve(lead, claim)
    services.finance_approve(finance, claim)
    assert ledger.balance(claim.id) == 15000
    events.correct_attendance(organiser, _record(event, approved),
                              events.Mark("attended_part", 60), "Only came for an hour")
    assert claim.state == ClaimState.LEAD_APPROVED
    assert ledger.balance(claim.id) == 0
    assert claim.involvement_pence == 7500
    services.finance_approve(finance, claim)
    assert ledger.balance(claim.id) == 7500


# --- how the person took part, chosen per activity ---


def test_representative_and_work_time_are_chosen_per_activity_when_the_claim_is_sent(app, db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    _prefs(member, capacity="self")
    at_work = make_claim(member, lead, ref_id=1)
    _expense(member, at_work, miles=10)
    services.submit_claim(member, at_work, capacity="employee")
    assert at_work.capacity == "employee" and at_work.involvement_pence == 0
    assert at_work.expenses_pence == 450  # expenses are still paid
    for_a_charity = make_claim(member, lead, ref_id=2)
    _expense(member, for_a_charity, miles=10)
    services.submit_claim(member, for_a_charity, capacity="representative")
    assert for_a_charity.involvement_pence == 0
    as_myself = make_claim(member, lead, ref_id=3)
    services.submit_claim(member, as_myself)
    assert as_myself.capacity == "self" and as_myself.involvement_pence == 7500
    with pytest.raises(ValidationFailed):
        services.submit_claim(member, make_claim(member, lead, ref_id=4), capacity="boss")

    # The claim page starts from the person's usual way, and sending it records the choice.
    _prefs(member, capacity="representative")
    draft = make_claim(member, lead, ref_id=5)
    db.session.commit()
    browser = PersonClient(app, member)
    page = browser.get(f"/payments/claims/{draft.id}").get_data(as_text=True)
    checked = re.search(r'<input[^>]*name="capacity"[^>]*value="(\w+)"[^>]*checked', page)
    assert checked and checked.group(1) == "representative"
    response = browser.post(f"/payments/claims/{draft.id}/submit", {"capacity": "self"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, draft.id).involvement_pence == 7500


# --- the benefits and tax notice ---


def test_benefits_notice_is_shown_and_recorded_before_joining_a_paid_panel_or_booking_an_event(
        app, db):
    member = make_member()
    paid_panel = make_panel(involvement_level=4)
    unpaid_panel = make_panel(involvement_level=2)
    paid_event = make_event(panel=make_panel(members=[member], involvement_level=4))
    db.session.commit()
    browser = PersonClient(app, member)

    page = browser.get(f"/panels/{paid_panel.id}/apply").get_data(as_text=True)
    assert 'id="benefits-notice"' in page and "independent advice" in page
    seen = db.session.scalars(select(BenefitsNoticeView).where(
        BenefitsNoticeView.user_id == member.id)).all()
    assert [v.shown_on for v in seen] == [f"panel {paid_panel.id}"]
    # Accepting is never blocked by the notice: nothing more to tick.
    response = browser.post(f"/panels/{paid_panel.id}/apply", {"accept_agreement": "y"})
    assert response.status_code == 302

    page = browser.get(f"/panels/{unpaid_panel.id}/apply").get_data(as_text=True)
    assert 'id="benefits-notice"' not in page

    page = browser.get(f"/events/{paid_event.id}/book").get_data(as_text=True)
    assert 'id="benefits-notice"' in page
    assert db.session.scalar(select(BenefitsNoticeView).where(
        BenefitsNoticeView.shown_on == f"event {paid_event.id}")) is not None
    assert browser.post(f"/events/{paid_event.id}/book", {}).status_code == 302


# --- approvals: reject, return, withdraw, correct ---


def test_leads_can_reject_not_only_return_at_their_step(app, db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    claim = make_claim(member, lead)
    services.submit_claim(member, claim)
    db.session.commit()
    browser = PersonClient(app, lead)
    page = browser.get(f"/payments/claims/{claim.id}").get_data(as_text=True)
    assert "Return to member" in page and "Do not approve" in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "ids on the lead's claim page must be unique"
    # A reason is needed, and what was typed is not lost.
    response = browser.post(f"/payments/claims/{claim.id}/lead-reject", {"reason": " "})
    assert response.status_code == 400
    assert "Say why the claim should not be paid" in response.get_data(as_text=True)
    response = browser.post(f"/payments/claims/{claim.id}/lead-reject",
                            {"reason": "This meeting was unpaid."})
    assert response.status_code == 302
    db.session.expire_all()
    claim = db.session.get(Claim, claim.id)
    assert claim.state == ClaimState.REJECTED
    assert "This meeting was unpaid." in _reasons(claim)


def test_finance_can_return_a_claim_to_the_member_from_the_page(app, db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    claim = make_claim(member, lead)
    services.submit_claim(member, claim)
    services.lead_approve(lead, claim)
    finance = make_staff(Role.FINANCE)
    db.session.commit()
    browser = PersonClient(app, finance)
    page = browser.get(f"/payments/claims/{claim.id}").get_data(as_text=True)
    assert f'action="/payments/claims/{claim.id}/finance-return"' in page
    response = browser.post(f"/payments/claims/{claim.id}/finance-return",
                            {"reason": "Please add the date of your journey."})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == ClaimState.RETURNED


def _paying_claim(stripe_server, finance):
    member = make_member()
    account = stripe_server.add_account()
    connect_bank(member, account)
    claim = approved_claim(member, finance=make_staff(Role.FINANCE))
    payouts.start_batch(finance, [claim.id])
    assert claim.state == ClaimState.PAYING
    return claim, account


def test_finance_can_withdraw_an_approved_claim_before_payment(app, db, stripe_server):
    finance = make_staff(Role.FINANCE)
    returned = approved_claim()
    services.withdraw_approval(finance, returned, "The wrong meeting was claimed.", "member")
    assert returned.state == ClaimState.RETURNED
    assert ledger.balance(returned.id) == 0
    assert returned.finance_approved_by_id is None

    # In a payout not yet sent: the payout never pays it.
    claim, account = _paying_claim(stripe_server, finance)
    services.withdraw_approval(finance, claim, "Paid by voucher already.", "not_paid")
    assert claim.state == ClaimState.REJECTED
    payouts.process_batches()
    assert stripe_server.transfers_for(account) == []
    payout = db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))
    assert payout.state == PayoutState.CANCELLED
    assert ledger.balance(claim.id) == 0

    # Once paid, there is nothing to withdraw.
    paid = approved_claim()
    payouts.record_manual_payment(finance, paid, "V-1")
    with pytest.raises(InvalidState, match="no approval to withdraw"):
        services.withdraw_approval(finance, paid, "Too late", "member")


def test_the_sender_never_sends_a_payout_whose_claim_is_no_longer_being_paid(
        app, db, stripe_server):
    # A withdrawal committed while the worker was about to send: the claim has left "paying"
    # but its payout row still says pending.
    finance = make_staff(Role.FINANCE)
    claim, account = _paying_claim(stripe_server, finance)
    db.session.commit()
    db.session.execute(update(Claim).where(Claim.id == claim.id)
                       .values(state=ClaimState.REJECTED))
    db.session.commit()
    payouts.process_batches()
    assert stripe_server.transfers_for(account) == []
    payout = db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))
    db.session.refresh(payout)
    assert payout.state == PayoutState.PENDING and payout.stripe_transfer_id is None


def test_a_ledger_correction_stops_an_unpaid_payout_paying_the_old_amount(app, db, stripe_server):
    finance = make_staff(Role.FINANCE)
    claim, account = _paying_claim(stripe_server, finance)
    payable = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.claim_id == claim.id, LedgerEntry.entry_type == LedgerEntryType.PAYABLE))
    services.correct_ledger(finance, payable.id, "Approved at the wrong rate")
    assert claim.state == ClaimState.LEAD_APPROVED  # waits for finance to check it again
    assert ledger.balance(claim.id) == 0
    payouts.process_batches()
    assert stripe_server.transfers_for(account) == []
    # Approved again, it is owed afresh and can be paid.
    services.finance_approve(finance, claim)
    assert ledger.balance(claim.id) == claim.total_pence


# --- the expense-only claim ---


def test_expense_only_claim_goes_to_the_lead_of_the_activity(app, db):
    member, facilitator, lead = (make_member(), make_staff(Role.FACILITATOR),
                                 make_staff(Role.FACILITATOR))
    panel = make_panel(facilitators=[facilitator], members=[member])
    db.session.commit()
    browser = PersonClient(app, member)
    page = browser.get("/payments/claims/new").get_data(as_text=True)
    assert "Who asked you to take part?" not in page and panel.name in page
    response = browser.post("/payments/claims/new", {
        "title": "Reading the strategy papers",
        "activity_date": clock.today_london().isoformat(), "panel_id": str(panel.id)})
    assert response.status_code == 302
    claim = db.session.scalar(select(Claim).where(Claim.user_id == member.id))
    assert claim.lead_ids == [facilitator.id] and claim.panel_id == panel.id
    assert services.is_lead_for(facilitator, claim)
    assert not services.is_lead_for(lead, claim)
    # A panel they are not on is refused, and what they typed is kept.
    response = browser.post("/payments/claims/new", {
        "title": "Kept title", "activity_date": clock.today_london().isoformat(),
        "panel_id": str(make_panel().id)})
    assert response.status_code == 400
    assert "Kept title" in response.get_data(as_text=True)
