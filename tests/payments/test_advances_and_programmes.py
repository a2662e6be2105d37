"""Advances, booked tickets, per-activity decline at booking, the programme filter and the
spend reports (service level)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from engage.core.models import AuditEvent
from engage.core.permissions import Role
from engage.errors import InvalidState, NotAllowed, ValidationFailed
from engage.events import services as events
from engage.payments import ledger, payouts, reports, services
from engage.payments.models import (
    ActivitySupport,
    Claim,
    ClaimState,
    LedgerEntry,
)
from tests.factories import make_member, make_staff
from tests.factories_events import confirmed_booking, make_event, make_panel
from tests.factories_payments import make_claim, seed
from tests.factories_programmes_advances import (
    booked_event,
    make_programme,
    put_in_programme,
    record_advance,
    record_ticket,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _setup(app, tmp_path):
    app.config["UPLOADS_DIR"] = str(tmp_path / "receipts")
    seed()


def _parking(member, claim, pence):
    services.add_expense(member, claim, category="parking", expense_date=claim.activity_date,
                         amount_pence=pence, miles=None, description="", preapproved=False,
                         receipt_file=("r.png", PNG))


def _approve(member, lead, claim):
    services.submit_claim(member, claim)
    services.lead_approve(lead, claim)
    finance = make_staff(Role.FINANCE)
    if claim.is_late:  # activities months ago in the report tests
        services.override_late(finance, claim, "Agreed with the lead")
    services.finance_approve(finance, claim)


# --- advances --------------------------------------------------------------------------------


def test_an_advance_goes_in_the_ledger_and_is_taken_off_the_claim(db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    event = booked_event(member, needs_advance=True)
    claim = make_claim(member, lead, level=2, ref_id=event.id)
    _parking(member, claim, 3000)
    support = record_advance(member, event, 2000, paid_on=date(2026, 3, 3))

    entry = db.session.get(LedgerEntry, support.ledger_entry_id)
    assert (entry.entry_type, entry.category, entry.amount_pence, entry.user_id,
            entry.claim_id) == ("advance", "advance", -2000, member.id, None)
    assert claim.total_pence == 3000 and claim.advance_pence == 2000
    assert claim.to_pay_pence == 1000
    assert "Advance paid on 3 March → −£20.00" in claim.explanation  # noqa: RUF001
    assert claim.explanation[-1] == "Still to pay £10.00"


def test_the_claim_pays_only_the_rest_and_the_ledger_balances(db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    event = booked_event(member, needs_advance=True)
    claim = make_claim(member, lead, level=2, ref_id=event.id)
    _parking(member, claim, 3000)
    record_advance(member, event, 2000)
    _approve(member, lead, claim)
    payouts.record_manual_payment(make_staff(Role.FINANCE), claim, "V-1")

    payment = db.session.scalar(select(LedgerEntry).where(LedgerEntry.entry_type == "payment"))
    assert payment.amount_pence == -1000
    assert ledger.balance() == 0  # payable 30.00, advance -20.00, payment -10.00
    # spend is what the claim is worth, whatever was paid in advance
    assert reports.ledger_payable_total() == 3000
    assert payouts.reconcile() == 0


def test_an_advance_bigger_than_the_claim_leaves_zero_to_pay_and_no_clawback(db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    event = booked_event(member, needs_advance=True)
    claim = make_claim(member, lead, level=2, ref_id=event.id)
    _parking(member, claim, 1500)
    record_advance(member, event, 2000)
    assert (claim.advance_pence, claim.to_pay_pence) == (1500, 0)
    assert any("£5.00 left over is not taken back" in line for line in claim.explanation)

    _approve(member, lead, claim)
    assert claim.state == ClaimState.PAID  # covered by the advance: nothing more to send
    assert claim.payment_reference == "Covered by advance"
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.entry_type == "payment")) == 0
    # finance sees the 5.00 still out, on the event and as a negative balance; nothing is
    # taken back
    from engage.payments import advances

    [row] = advances.people_for_event(event)
    assert row.claim.id == claim.id and row.advance_not_covered_pence == 500
    assert ledger.balance() == -500
    assert payouts.reconcile() == 0


def test_an_advance_cannot_be_recorded_once_the_claim_is_sent(db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    event = booked_event(member, needs_advance=True)
    claim = make_claim(member, lead, level=4, ref_id=event.id)
    services.submit_claim(member, claim)
    with pytest.raises(InvalidState, match="already sent their claim"):
        record_advance(member, event)
    # a ticket is only shown, so it can still be recorded
    record_ticket(member, event)


def test_an_advance_recorded_after_sending_is_taken_off_when_finance_approves(db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    event = booked_event(member)
    claim = make_claim(member, lead, level=4, ref_id=event.id)
    services.submit_claim(member, claim)
    services.lead_approve(lead, claim)
    # an advance slipped in after the claim was sent (for example by a race)
    db.session.add(ActivitySupport(
        user_id=member.id, kind="advance", activity_kind="event", activity_ref_id=event.id,
        activity_title=event.title, activity_date=claim.activity_date, amount_pence=1000,
        route="voucher", reference="X", paid_on=claim.activity_date, idempotency_key="late"))
    db.session.flush()
    services.finance_approve(make_staff(Role.FINANCE), claim)
    # Worked out again at finance's step: the advance comes off what is paid.
    assert claim.state == ClaimState.APPROVED
    assert (claim.advance_pence, claim.to_pay_pence) == (1000, 6500)
    assert any("Worked out again at finance's check: £75.00 → £65.00" in (e.reason or "")
               for e in claim.history)


def test_the_same_form_sent_twice_records_one_advance(db):
    member = make_member()
    event = booked_event(member, needs_advance=True)
    finance = make_staff(Role.FINANCE)
    first = record_advance(member, event, finance=finance, token="same-token")
    second = record_advance(member, event, finance=finance, token="same-token")
    assert first.id == second.id
    assert db.session.scalar(select(func.count()).select_from(ActivitySupport)) == 1
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"reference": ""}, "payment reference"),
    ({"route": None}, "how the advance was paid"),
    ({"paid_on": date.today() + timedelta(days=3)}, "today or in the past"),
])
def test_an_advance_needs_what_finance_must_trace(db, kwargs, message):
    member = make_member()
    event = booked_event(member)
    with pytest.raises(ValidationFailed, match=message):
        record_advance(member, event, **kwargs)


def test_only_finance_records_and_only_for_people_booked(db):
    member, stranger = make_member(), make_member()
    event = booked_event(member)
    with pytest.raises(NotAllowed):
        record_advance(member, event, finance=make_staff(Role.FACILITATOR))
    with pytest.raises(ValidationFailed, match="booked this event"):
        record_advance(stranger, event)
    with pytest.raises(ValidationFailed, match="amount"):
        record_advance(member, event, 0)


def test_recording_is_audited_without_personal_details_and_the_person_is_told(db):
    member = make_member()
    event = booked_event(member, needs_advance=True)
    support = record_advance(member, event, reference="BANK-REF-99")
    audit = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "payments.advance_recorded"))
    assert audit.subject_id == event.id and audit.details == {"record_id": support.id}
    from engage.core.models import Notification

    note = db.session.scalar(select(Notification).where(Notification.user_id == member.id)
                             .order_by(Notification.id.desc()))
    assert "advance of £20.00" in note.body


def test_a_booked_ticket_is_shown_on_the_claim_and_not_claimable(db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    event = booked_event(member, needs_travel_booked=True)
    record_ticket(member, event, 3450, description="Train ticket")
    claim = make_claim(member, lead, level=2, ref_id=event.id)
    assert "Train ticket booked for you: £34.50, nothing to claim" in claim.explanation
    assert claim.total_pence == 0 and claim.to_pay_pence == 0
    assert ledger.balance() == 0  # the organisation paid the ticket: no money to the person


def test_finance_sees_who_asked_and_what_is_recorded(db):
    asked_advance, asked_ticket, asked_nothing = make_member(), make_member(), make_member()
    event = make_event()
    confirmed_booking(asked_advance, event)
    confirmed_booking(asked_ticket, event)
    confirmed_booking(asked_nothing, event)
    events_rows = {b.user_id: b for b in db.session.scalars(
        select(events.Booking).where(events.Booking.event_id == event.id))}
    events_rows[asked_advance.id].needs_advance = True
    events_rows[asked_ticket.id].needs_travel_booked = True
    db.session.flush()
    from engage.payments import advances

    [row] = advances.overview()
    assert (row.asked_advance, row.asked_ticket, row.waiting) == (1, 1, 2)
    record_advance(asked_advance, event)
    [row] = advances.overview()
    assert row.waiting == 1
    people = {r.booking.user_id: r for r in advances.people_for_event(event)}
    assert not people[asked_advance.id].waiting and people[asked_ticket.id].waiting
    assert list(people)[-1] == asked_nothing.id  # people who asked come first
    assert advances.waiting_count() == 1


def test_an_advance_recorded_by_mistake_is_withdrawn_and_reversed_in_the_ledger(db):
    from engage.core.models import Notification
    from engage.payments import advances

    member, lead = make_member(), make_staff(Role.FACILITATOR)
    finance = make_staff(Role.FINANCE)
    event = booked_event(member, needs_advance=True)
    claim = make_claim(member, lead, level=2, ref_id=event.id)
    _parking(member, claim, 3000)
    support = record_advance(member, event, 2000, finance=finance)
    assert claim.to_pay_pence == 1000

    advances.withdraw_support(finance, event, support.id, "Recorded twice")
    assert support.is_withdrawn and support.withdrawn_reason == "Recorded twice"
    assert ledger.balance() == 0  # the advance entry and its reversal
    assert [e.entry_type for e in db.session.scalars(select(LedgerEntry)
                                                     .order_by(LedgerEntry.id))] == [
        "advance", "correction"]
    assert (claim.advance_pence, claim.to_pay_pence) == (0, 3000)
    assert not any("Advance paid" in line for line in claim.explanation)
    [row] = advances.people_for_event(event)
    assert row.waiting  # they asked, and nothing valid is recorded now
    note = db.session.scalar(select(Notification).where(Notification.user_id == member.id)
                             .order_by(Notification.id.desc()))
    assert "recorded by mistake" in note.body and "Recorded twice" not in note.body
    with pytest.raises(InvalidState, match="already been withdrawn"):
        advances.withdraw_support(finance, event, support.id, "Again")
    with pytest.raises(ValidationFailed, match="Say why"):
        advances.withdraw_support(finance, event, record_ticket(member, event).id, " ")


def test_an_advance_cannot_be_withdrawn_once_the_claim_is_sent(db):
    from engage.payments import advances

    member, lead = make_member(), make_staff(Role.FACILITATOR)
    event = booked_event(member)
    claim = make_claim(member, lead, level=4, ref_id=event.id)
    support = record_advance(member, event, 2000)
    services.submit_claim(member, claim)
    with pytest.raises(InvalidState, match="already sent their claim"):
        advances.withdraw_support(make_staff(Role.FINANCE), event, support.id, "Mistake")
    with pytest.raises(NotAllowed):
        advances.withdraw_support(make_staff(Role.FACILITATOR), event, support.id, "Mistake")
    other_event = make_event()
    from engage.errors import NotFound

    with pytest.raises(NotFound):
        advances.withdraw_support(make_staff(Role.FINANCE), other_event, support.id, "Mistake")


# --- declining before the activity -----------------------------------------------------------


def _meeting_with(member, declines: bool):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator], members=[member], involvement_level=4)
    event = make_event(organiser=facilitator, panel=panel, starts_in=timedelta(days=14),
                       length=timedelta(hours=3, minutes=30))
    events.book_event(member, event, events.BookingDetails(declines_payment=declines))
    event.starts_at -= timedelta(days=21)
    event.ends_at -= timedelta(days=21)
    events.register_rows(facilitator, event)
    events.finalise_register(facilitator, event)
    return db_claim(member)


def db_claim(member) -> Claim:
    from engage.extensions import db

    return db.session.scalar(select(Claim).where(Claim.user_id == member.id))


def test_declining_when_booking_starts_the_claim_declined(db):
    member = make_member()
    claim = _meeting_with(member, declines=True)
    assert claim.declined_for_activity is True
    assert (claim.involvement_pence, claim.declined_pence) == (0, 7500)
    assert any("You declined involvement payments for this activity" in line
               for line in claim.explanation)


def test_not_declining_when_booking_leaves_the_claim_paid(db):
    member = make_member()
    claim = _meeting_with(member, declines=False)
    assert claim.declined_for_activity is False and claim.involvement_pence == 7500


def test_the_member_can_still_change_their_mind_on_the_claim(db):
    member = make_member()
    claim = _meeting_with(member, declines=True)
    services.submit_claim(member, claim, declined_for_activity=False)
    assert claim.involvement_pence == 7500 and claim.declined_pence == 0


def test_the_booking_remembers_the_choice_and_can_change_it(db):
    member = make_member()
    event = make_event()
    booking = events.book_event(member, event, events.BookingDetails(declines_payment=True))
    assert booking.declines_payment is True
    events.update_booking_needs(member, booking, events.BookingDetails(declines_payment=False))
    assert booking.declines_payment is False


# --- programmes: the finance filter and the reports --------------------------------------------


def _claim_in(panel, *, day: date | None = None, approve: bool = True) -> Claim:
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    claim = make_claim(member, lead, level=4, day=day)
    claim.panel_id = panel.id if panel else None
    if approve:
        _approve(member, lead, claim)
    else:
        services.submit_claim(member, claim)
        services.lead_approve(lead, claim)
    return claim


def test_the_finance_queue_filters_by_programme(db):
    programme, other = make_programme("Survivor voice"), make_programme("Police and crime")
    in_programme = put_in_programme(make_panel(), programme)
    in_other = put_in_programme(make_panel(), other)
    no_programme = make_panel()
    a = _claim_in(in_programme, approve=False)
    b = _claim_in(in_other, approve=False)
    c = _claim_in(no_programme, approve=False)
    d = _claim_in(None, approve=False)

    assert {x.id for x in services.finance_queue(programme=programme.id)} == {a.id}
    assert {x.id for x in services.finance_queue(programme=str(other.id))} == {b.id}
    assert {x.id for x in services.finance_queue(programme="none")} == {c.id, d.id}
    assert {x.id for x in services.finance_queue()} == {a.id, b.id, c.id, d.id}
    # filters combine
    assert services.finance_queue(programme=programme.id, route="payroll") == []


def test_spend_by_programme_and_by_panel_add_up_to_the_ledger(db):
    programme = make_programme("Survivor voice")
    panel = put_in_programme(make_panel(), programme)
    other_panel = make_panel()
    _claim_in(panel, day=date(2026, 4, 3))  # 1-5 April: Q1 of the new financial year
    _claim_in(panel, day=date(2026, 6, 30))
    _claim_in(other_panel, day=date(2026, 3, 31))  # Q4 of the year before
    _claim_in(None, day=date(2026, 7, 1))

    rows, categories, grand = reports.spend_by_programme_and_quarter()
    found = {(r.programme, r.quarter): r.total_pence for r in rows}
    assert found == {("Survivor voice", "2026–27 Q1"): 15000,  # noqa: RUF001
                     ("No programme", "2025–26 Q4"): 7500,  # noqa: RUF001
                     ("No programme", "2026–27 Q2"): 7500}  # noqa: RUF001
    assert categories == ["involvement"]
    panel_rows, _categories, panel_grand = reports.spend_by_panel_and_quarter()
    assert grand == panel_grand == reports.ledger_payable_total() == 30000
    assert sum(r.total_pence for r in panel_rows) == panel_grand
    assert {(r.panel, r.quarter) for r in panel_rows} == {
        (panel.name, "2026–27 Q1"), (other_panel.name, "2025–26 Q4"),  # noqa: RUF001
        ("No panel", "2026–27 Q2")}  # noqa: RUF001


def test_reports_include_corrections_but_not_payments_or_advances(db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    event = booked_event(member)
    claim = make_claim(member, lead, level=4, ref_id=event.id)
    record_advance(member, event, 2000)
    _approve(member, lead, claim)
    payouts.record_manual_payment(make_staff(Role.FINANCE), claim, "V-2")
    payable = db.session.scalar(select(LedgerEntry).where(LedgerEntry.entry_type == "payable"))
    ledger.reverse(make_staff(Role.FINANCE), payable.id, "Paid in error")

    _rows, _categories, grand = reports.spend_by_programme_and_quarter()
    assert grand == reports.ledger_payable_total() == 0
    assert reports.spend_by_panel_and_quarter()[2] == 0


def test_a_programme_spend_report_groups_in_the_database(db, app):
    """The sums are worked out by the database (GROUP BY), not by loading every ledger row."""
    from sqlalchemy import event as sa_event

    panel = put_in_programme(make_panel(), make_programme())
    for _ in range(6):
        _claim_in(panel, day=date(2026, 5, 1))
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        rows, _categories, grand = reports.spend_by_programme_and_quarter()
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert grand == 6 * 7500 and len(rows) == 1
    assert len(statements) <= 2
    [summing] = [s for s in statements if "sum(" in s.lower()]
    assert "GROUP BY" in summing.upper()


# --- personal data ---------------------------------------------------------------------------


def test_advances_are_exported_and_pseudonymised_on_closure(db):
    from engage.core.personal_data import erase_all, export_all

    member = make_member()
    event = booked_event(member, needs_advance=True, declines_payment=True)
    support = record_advance(member, event, 2000, reference="ADV-7")
    record_ticket(member, event, 3450)
    exported = export_all(member)
    kinds = sorted(r["kind"] for r in exported["payment_activity_support"])
    assert kinds == ["advance", "ticket"]
    assert exported["payment_activity_support"][0]["reference"] == "ADV-7"
    assert exported["bookings"][0]["declines_payment"] is True
    support_id, entry_id = support.id, support.ledger_entry_id

    erase_all(member)
    db.session.flush()
    db.session.expire_all()
    kept = db.session.get(ActivitySupport, support_id)
    assert kept is not None and kept.user_id is None and kept.amount_pence == 2000
    assert db.session.get(LedgerEntry, entry_id).user_id is None
    assert ledger.balance() == -2000  # the money record stays, without the person


def test_old_advances_lose_the_person_when_payment_records_do(db):
    from datetime import UTC, datetime

    from engage.payments.retention import pseudonymise_old_payment_records

    member = make_member()
    event = booked_event(member)
    old = record_advance(member, event, 2000)
    recent = record_advance(member, event, 500)
    old.activity_date = date(2018, 5, 1)
    db.session.flush()
    old_id, recent_id, old_entry = old.id, recent.id, old.ledger_entry_id

    pseudonymise_old_payment_records(datetime(2026, 11, 1, tzinfo=UTC), 72)
    assert db.session.get(ActivitySupport, old_id).user_id is None
    assert db.session.get(LedgerEntry, old_entry).user_id is None
    assert db.session.get(ActivitySupport, recent_id).user_id == member.id
