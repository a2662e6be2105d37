"""Programmes, advances and booked tickets, and declining at booking, in a real browser: axe
on every new page type (and its error state), and recording an advance without JavaScript."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from engage.core.permissions import Role
from engage.extensions import db
from engage.payments import services
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.factories import make_member, make_staff
from tests.factories_events import make_event, make_panel
from tests.factories_payments import approved_claim, make_claim, seed
from tests.factories_programmes_advances import (
    booked_event,
    make_programme,
    put_in_programme,
    record_advance,
    record_ticket,
)

pytestmark = pytest.mark.browser

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def world(live_server: LiveServer, tmp_path):
    live_server.app.config["UPLOADS_DIR"] = str(tmp_path / "receipts")
    with live_server.app.app_context():
        seed()
        member, lead = make_member(display_name="River"), make_staff(Role.FACILITATOR)
        finance, admin = make_staff(Role.FINANCE), make_staff(Role.ADMIN)
        programme_lead = make_staff(Role.PROGRAMME_LEAD)
        programme = make_programme("Survivor voice")
        panel = put_in_programme(make_panel(facilitators=[lead], members=[member]), programme)
        event = booked_event(member, panel=panel, needs_advance=True, needs_travel_booked=True)
        claim = make_claim(member, lead, level=2, ref_id=event.id)
        services.add_expense(member, claim, category="parking",
                             expense_date=claim.activity_date, amount_pence=1500, miles=None,
                             description="Car park", preapproved=False,
                             receipt_file=("parking.png", PNG))
        record_ticket(member, event, 3450, description="Train ticket")
        record_advance(member, event, 2000)
        spent = approved_claim(make_member(), lead)
        spent.panel_id = panel.id
        upcoming = make_event(panel=panel, starts_in=timedelta(days=10))
        db.session.commit()
        ids = {"programme": programme.id, "panel": panel.id, "event": event.id,
               "claim": claim.id, "upcoming": upcoming.id}
    return {"member": member, "finance": finance, "admin": admin,
            "programme_lead": programme_lead, **ids}


def test_programme_pages_are_accessible(live_server, page, world):
    sign_in_as(page, live_server, world["admin"])
    page.goto(f"{live_server.url}/panels/programmes/")
    expect(page.get_by_role("heading", level=1, name="Programmes")).to_be_visible()
    assert_accessible(page, "programmes")
    page.get_by_label("Programme name").fill("survivor VOICE")
    page.get_by_role("button", name="Add programme").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page, "programmes with an error")
    page.goto(f"{live_server.url}/panels/programmes/{world['programme']}/edit")
    expect(page.get_by_label("Active: panels can be added to this programme")).to_be_checked()
    assert_accessible(page, "change a programme")

    page.goto(f"{live_server.url}/leave")  # signs out
    sign_in_as(page, live_server, world["programme_lead"])
    page.goto(f"{live_server.url}/panels/{world['panel']}/edit")
    expect(page.get_by_role("radio", name="Survivor voice")).to_be_checked()
    assert_accessible(page, "panel form with its programme")


def test_finance_pages_are_accessible(live_server, page, world):
    sign_in_as(page, live_server, world["finance"])
    page.goto(f"{live_server.url}/payments/finance?programme={world['programme']}")
    expect(page.get_by_label("Programme")).to_have_value(str(world["programme"]))
    assert_accessible(page, "finance queue filtered by programme")
    page.goto(f"{live_server.url}/payments/finance/report")
    expect(page.get_by_role("heading", name="Approved spend by programme and quarter")) \
        .to_be_visible()
    assert_accessible(page, "reports with spend by programme")
    page.goto(f"{live_server.url}/payments/finance/advances")
    assert_accessible(page, "advances and booked tickets")
    page.goto(f"{live_server.url}/payments/finance/advances/events/{world['event']}")
    expect(page.get_by_text("Advance: £20.00")).to_be_visible()
    assert_accessible(page, "advances for one event")
    page.get_by_role("button", name="Record it").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page, "advances for one event with errors")


def test_finance_records_a_ticket_without_javascript(live_server, page_without_js, world):
    page = page_without_js
    sign_in_as(page, live_server, world["finance"])
    page.goto(f"{live_server.url}/payments/finance/advances/events/{world['event']}")
    page.get_by_label("Who is it for?").select_option(label="River")
    page.get_by_label("A ticket was booked and paid for them by the organisation").check()
    page.get_by_label("Amount in pounds").fill("12.00")
    page.get_by_label("What was booked (tickets only)").fill("Bus pass for the day")
    page.get_by_role("button", name="Record it").click()
    expect(page.get_by_text("Recorded. The person has been told")).to_be_visible()
    expect(page.get_by_text("Ticket booked for them: £12.00 (Bus pass for the day)")) \
        .to_be_visible()


def test_member_pages_are_accessible(live_server, page, world):
    sign_in_as(page, live_server, world["member"])
    page.goto(f"{live_server.url}/payments/claims/{world['claim']}")
    expect(page.get_by_text("Train ticket booked for you: £34.50, nothing to claim")) \
        .to_be_visible()
    expect(page.get_by_text("Still to pay £0.00")).to_be_visible()
    assert_accessible(page, "claim with an advance and a booked ticket")
    page.goto(f"{live_server.url}/events/{world['upcoming']}/book")
    box = page.get_by_label("I do not want to be paid for taking part in this event")
    box.check()
    assert_accessible(page, "booking with the choice to decline payment")
    page.get_by_role("button", name="Book my place").click()
    page.goto(f"{live_server.url}/events/{world['upcoming']}/book")
    expect(page.get_by_label("I do not want to be paid for taking part in this event")) \
        .to_be_checked()
