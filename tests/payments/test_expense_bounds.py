"""Issue 11, item 8: expense amounts and dates have sane bounds. Per-kind limits come from the
versioned policy data, never code; errors are clear and kind; nothing typed is lost."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engage.core import clock
from engage.core.permissions import Role
from engage.errors import ValidationFailed
from engage.payments import policy, services
from engage.payments.models import ExpenseRule
from tests.factories import make_member, make_staff
from tests.factories_panels import PersonClient
from tests.factories_payments import make_claim, seed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _setup(app, tmp_path):
    app.config["RECEIPTS_DIR"] = str(tmp_path / "receipts")
    seed()


def _add(member, claim, *, category="parking", day=None, amount=None, miles=None):
    return services.add_expense(member, claim, category=category,
                                expense_date=day or claim.activity_date, amount_pence=amount,
                                miles=miles, description="", preapproved=False,
                                receipt_file=("r.png", PNG))


def test_item_8_expense_amounts_and_dates_have_sane_bounds(app, db):
    member = make_member()
    claim = make_claim(member, make_staff(Role.FACILITATOR))
    with pytest.raises(ValidationFailed, match=r"parking or tolls expense can be at most "
                                               r"£100\.00 under this policy"):
        _add(member, claim, amount=999_999_999)
    with pytest.raises(ValidationFailed, match="at most 1,000 miles"):
        _add(member, claim, category="car", miles=1001)
    for day in (date(1, 1, 1), date(9999, 12, 31), clock.today_london() + timedelta(days=1),
                claim.activity_date - timedelta(days=200)):
        with pytest.raises(ValidationFailed, match="Enter a date between"):
            _add(member, claim, amount=650, day=day)
    assert claim.expenses == []
    _add(member, claim, amount=10000)  # exactly the limit is fine
    _add(member, claim, category="car", miles=1000)
    assert len(claim.expenses) == 2


def test_expense_limits_come_from_the_policy_version_in_force(app, db):
    admin = make_staff(Role.ADMIN)
    scheme = policy.default_scheme()
    latest = scheme.versions[-1]
    starts = clock.today_london() - timedelta(days=30)
    version = policy.add_version(admin, scheme, policy.VersionFigures(
        label="Higher parking limit", effective_from=starts, paid_levels=[4],
        payment_mode="day_rate", half_day_pence=7500, full_day_pence=15000,
        threshold_minutes=240, threshold_is_half_day=True, hourly_pence=0,
        claim_deadline_months=3, target_payment_days=30, cost_code="", notes="", rules={}),
        latest)
    parking = db.session.scalar(select(ExpenseRule).where(
        ExpenseRule.version_id == version.id, ExpenseRule.category == "parking"))
    parking.max_line_pence = 20000  # data in the new version, no code change
    member, lead = make_member(), make_staff(Role.FACILITATOR)
    before = make_claim(member, lead, ref_id=1, day=starts - timedelta(days=1))
    after = make_claim(member, lead, ref_id=2, day=starts + timedelta(days=1))
    with pytest.raises(ValidationFailed, match=r"£100\.00"):
        _add(member, before, amount=15000)
    _add(member, after, amount=15000)
    assert after.expenses_pence == 15000


@pytest.mark.parametrize(("fields", "message"), [
    ({"amount": "\uff19\uff19.00"}, "Enter an amount in pounds and pence"),  # full-width 99.00
    ({"amount": "9999999.99"}, "can be at most £100.00"),
    ({"expense_date": "\uff12\uff10\uff12\uff16-01-01"}, "using the digits 0 to 9"),
    ({"expense_date": "0001-01-01"}, "Enter a date between"),
    ({"category": "car", "amount": "", "miles": "\uff11\uff12"}, "digits 0 to 9"),
    ({"category": "car", "amount": "", "miles": "999999"}, "whole number"),
])
def test_bad_amounts_and_dates_get_a_kind_error_and_keep_what_was_typed(app, db, fields,
                                                                        message):
    member = make_member()
    claim = make_claim(member, make_staff(Role.FACILITATOR))
    db.session.commit()
    browser = PersonClient(app, member)
    typed = {"category": "parking", "expense_date": claim.activity_date.isoformat(),
             "amount": "6.50", "description": "Car park by the station", **fields}
    response = browser.post(f"/payments/claims/{claim.id}/expenses", typed,
                            form_url=f"/payments/claims/{claim.id}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert 'value="Car park by the station"' in page
    db.session.expire_all()
    assert claim.expenses == []
