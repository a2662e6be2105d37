"""Pages for advances, booked tickets, declining at booking, the programme filter and the
programme report, through real forms (CSRF included)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engage.core import clock
from engage.core.permissions import Role
from engage.events.models import Booking
from engage.payments import services
from engage.payments.models import ActivitySupport, LedgerEntry
from tests.conftest import csrf_from
from tests.factories import make_member, make_staff
from tests.factories_events import make_event, make_panel
from tests.factories_panels import PersonClient
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


def _html(response) -> str:
    return response.get_data(as_text=True)


def _form_tokens(html: str) -> tuple[str, str]:
    token = re.search(r'<input[^>]*name="token"[^>]*value="([^"]+)"', html)
    assert token, "no idempotency token on the page"
    return csrf_from(html), token.group(1)


def test_finance_records_an_advance_once_even_when_the_form_is_sent_twice(app, db):
    member, lead = make_member(display_name="River"), make_staff(Role.FACILITATOR)
    event = booked_event(member, needs_advance=True, needs_travel_booked=True)
    claim = make_claim(member, lead, level=2, ref_id=event.id)
    services.add_expense(member, claim, category="parking", expense_date=claim.activity_date,
                         amount_pence=3000, miles=None, description="", preapproved=False,
                         receipt_file=("r.png", PNG))
    finance = make_staff(Role.FINANCE)
    db.session.commit()
    browser = PersonClient(app, finance)

    queue = _html(browser.get("/payments/finance"))
    assert "1 person asked for an advance or a booked ticket" in queue
    overview = _html(browser.get("/payments/finance/advances"))
    assert event.title in overview and "1 person" in overview
    url = f"/payments/finance/advances/events/{event.id}"
    page = _html(browser.get(url))
    assert "River" in page and "An advance, Travel booked for them" in page
    assert "Not recorded yet" in page
    csrf, token = _form_tokens(page)
    data = {"csrf_token": csrf, "token": token, "person": str(member.id), "kind": "advance",
            "amount": "20.00", "paid_on": clock.today_london().isoformat(),
            "route": "voucher", "reference": "ADV-42"}
    first = browser.raw_post(url, data)
    second = browser.raw_post(url, data)  # a double click
    assert first.status_code == second.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ActivitySupport)) == 1
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    page = _html(browser.get(url))
    assert "Advance: £20.00 (ADV-42)" in page
    assert "Withdraw (recorded by mistake)" in page

    # the member sees it on their claim, with what is still to pay
    db.session.expire_all()
    mine = _html(PersonClient(app, member).get(f"/payments/claims/{claim.id}"))
    assert "£10.00, after the advance of £20.00 already paid" in mine
    assert "Advance paid on" in mine and "Still to pay £10.00" in mine


def test_a_mistake_in_the_form_is_explained_and_what_was_typed_is_kept(app, db):
    member = make_member()
    event = booked_event(member, needs_travel_booked=True)
    finance = make_staff(Role.FINANCE)
    db.session.commit()
    browser = PersonClient(app, finance)
    url = f"/payments/finance/advances/events/{event.id}"
    csrf, token = _form_tokens(_html(browser.get(url)))
    response = browser.raw_post(url, {
        "csrf_token": csrf, "token": token, "person": str(member.id), "kind": "ticket",
        "amount": "34.50", "paid_on": clock.today_london().isoformat(), "description": ""})
    page = _html(response)
    assert response.status_code == 400
    assert "Say what was booked" in page and 'value="34.50"' in page
    response = browser.raw_post(url, {
        "csrf_token": csrf, "token": token, "person": str(member.id), "kind": "ticket",
        "amount": "lots", "paid_on": clock.today_london().isoformat(),
        "description": "Train ticket"})
    assert response.status_code == 400
    assert "Enter an amount in pounds and pence" in _html(response)
    assert db.session.scalar(select(func.count()).select_from(ActivitySupport)) == 0


def test_the_member_sees_a_booked_ticket_and_an_advance_bigger_than_the_claim(app, db):
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    event = booked_event(member, needs_advance=True, needs_travel_booked=True)
    claim = make_claim(member, lead, level=2, ref_id=event.id)
    services.add_expense(member, claim, category="parking", expense_date=claim.activity_date,
                         amount_pence=1500, miles=None, description="", preapproved=False,
                         receipt_file=("r.png", PNG))
    record_ticket(member, event, 3450, description="Train ticket")
    record_advance(member, event, 2000)
    db.session.commit()
    page = _html(PersonClient(app, member).get(f"/payments/claims/{claim.id}"))
    assert "Train ticket booked for you: £34.50, nothing to claim" in page
    assert "Train ticket booked for you: £34.50. You do not need to claim it." in page
    assert "nothing more to pay" in page and "not taken back automatically" in page
    assert "Still to pay £0.00" in page
    officer = make_staff(Role.FINANCE)
    db.session.commit()
    page = _html(PersonClient(app, officer).get(f"/payments/finance/advances/events/{event.id}"))
    assert "£5.00 of the advance is more than the claim" in page


def test_declining_when_booking_and_seeing_it_on_the_claim(app, db):
    member = make_member()
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator], members=[member], involvement_level=4)
    event = make_event(organiser=facilitator, panel=panel, starts_in=timedelta(days=14),
                       length=timedelta(hours=3))
    db.session.commit()
    browser = PersonClient(app, member)
    page = _html(browser.get(f"/events/{event.id}/book"))
    assert "I do not want to be paid for taking part in this event" in page
    assert "Your expenses are still paid" in page
    assert browser.post(f"/events/{event.id}/book", {"declines_payment": "y"}).status_code == 302
    booking = db.session.scalar(select(Booking))
    assert booking.declines_payment is True
    # on the booking page afterwards the box stays ticked and can be unticked
    page = _html(browser.get(f"/events/{event.id}/book"))
    assert re.search(r'name="declines_payment"[^>]*checked', page)
    assert browser.post(f"/events/{event.id}/book", {}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).declines_payment is False
    assert browser.post(f"/events/{event.id}/book", {"declines_payment": "y"}).status_code == 302

    from engage.events import services as events

    event.starts_at -= timedelta(days=21)
    event.ends_at -= timedelta(days=21)
    events.register_rows(facilitator, event)
    events.finalise_register(facilitator, event)
    db.session.commit()
    claim = services.claims_of(member)[0]
    page = _html(browser.get(f"/payments/claims/{claim.id}"))
    assert "When you booked, you said you did not want to be paid" in page
    assert re.search(r'name="decline_this_time"[^>]*checked', page)
    assert "recorded as declined, not paid" in page


def test_the_finance_queue_filters_by_programme_and_totals_follow(app, db):
    programme = make_programme("Survivor voice")
    panel = put_in_programme(make_panel(), programme)
    for panel_id in (panel.id, None):
        member, lead = make_member(), make_staff(Role.FACILITATOR)
        claim = make_claim(member, lead, level=4)
        claim.panel_id = panel_id
        services.submit_claim(member, claim)
        services.lead_approve(lead, claim)
    finance = make_staff(Role.FINANCE)
    db.session.commit()
    browser = PersonClient(app, finance)
    page = _html(browser.get("/payments/finance"))
    assert "2 claims found, total £150.00" in page and "Survivor voice" in page
    page = _html(browser.get(f"/payments/finance?programme={programme.id}"))
    assert "1 claim found, total £75.00" in page
    assert f'<option value="{programme.id}" selected>' in page
    page = _html(browser.get("/payments/finance?programme=none"))
    assert "1 claim found, total £75.00" in page
    page = _html(browser.get("/payments/finance?programme=not-a-programme"))
    assert "2 claims found, total £150.00" in page


def test_the_report_has_spend_by_programme_with_a_csv(app, db):
    from tests.factories_payments import approved_claim

    programme = make_programme("Survivor voice")
    panel = put_in_programme(make_panel(), programme)
    claim = approved_claim()
    claim.panel_id = panel.id
    approved_claim()  # no panel
    finance = make_staff(Role.FINANCE)
    db.session.commit()
    browser = PersonClient(app, finance)
    page = _html(browser.get("/payments/finance/report"))
    assert "Approved spend by programme and quarter" in page
    assert "Survivor voice" in page and "No programme" in page
    assert page.count("They match.") == 2
    csv = _html(browser.get("/payments/finance/report?format=programme-csv"))
    lines = csv.lstrip("\ufeff").splitlines()
    assert lines[0] == "programme,quarter,Involvement payment,total"
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["No programme", "Survivor voice"]
    assert all(line.endswith(",75.00,75.00") for line in lines[1:])


def test_finance_withdraws_a_ticket_recorded_by_mistake(app, db):
    member = make_member()
    event = booked_event(member, needs_travel_booked=True)
    support = record_ticket(member, event, 3450, description="Train ticket")
    finance, facilitator = make_staff(Role.FINANCE), make_staff(Role.FACILITATOR)
    db.session.commit()
    url = f"/payments/finance/advances/events/{event.id}"
    withdraw = f"{url}/records/{support.id}/withdraw"
    assert PersonClient(app, facilitator).post(
        withdraw, {"reason": "x"}, form_url="/payments/").status_code == 403
    browser = PersonClient(app, finance)
    response = browser.post(withdraw, {"reason": ""}, form_url=url, follow_redirects=True)
    assert "Say why it is being withdrawn" in _html(response)
    response = browser.post(withdraw, {"reason": "Booked for the wrong day"}, form_url=url,
                            follow_redirects=True)
    page = _html(response)
    assert "Withdrawn. The person has been told" in page
    assert "Withdrawn: Booked for the wrong day" in page and "Not recorded yet" in page
    db.session.expire_all()
    assert db.session.get(ActivitySupport, support.id).is_withdrawn
