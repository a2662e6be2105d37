"""The calculation: table-driven cases from PPV-POLICY.md and property-based checks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engage.payments.calculation import (
    ActivityFacts,
    AdvanceFacts,
    ExpenseFacts,
    PersonFacts,
    PolicyFacts,
    RuleFacts,
    TicketFacts,
    calculate,
    tax_year_label,
    tax_year_start,
)

CAR = RuleFacts("car", "Car", kind="mileage", receipt_required=False,
                mileage_bands=((0, 45), (10000, 25)))
RULES = (
    CAR,
    RuleFacts("parking", "Parking", receipt_required=True),
    RuleFacts("meals", "Meals", cap_pence=1500),
    RuleFacts("taxi", "Taxi", needs_preapproval=True, access_needs_waive_preapproval=True),
    RuleFacts("bicycle", "Bicycle", kind="mileage", receipt_required=False,
              mileage_bands=((0, 20),)),
)
NHSE = PolicyFacts(label="NHS England PPV v3", paid_levels=frozenset({4}), half_day_pence=7500,
                   full_day_pence=15000, threshold_minutes=240, threshold_is_half_day=True,
                   rules=RULES)
NICE = PolicyFacts(label="NICE", paid_levels=frozenset({3, 4}), half_day_pence=7500,
                   full_day_pence=15000, threshold_minutes=240, threshold_is_half_day=False,
                   rules=RULES)
NIHR = PolicyFacts(label="NIHR", paid_levels=frozenset({2, 3, 4}), payment_mode="hourly",
                   hourly_pence=2750, half_day_pence=8250, full_day_pence=16500, rules=RULES)


MEETING_DAY = date(2026, 5, 1)  # in the 2026-27 tax year
YEAR = 2026


def meeting(level=4, minutes=210, **kwargs):
    kwargs.setdefault("activity_date", MEETING_DAY)
    return ActivityFacts(title="Panel meeting", kind_label="meeting", involvement_level=level,
                         minutes_taken_part=minutes, **kwargs)


INVOLVEMENT_CASES = [
    # (policy, activity, person, expected paid, expected declined, why)
    (NHSE, meeting(minutes=210), PersonFacts(), 7500, 0, "3 h 30 min is a half day"),
    (NHSE, meeting(minutes=240), PersonFacts(), 7500, 0, "exactly 4 h is still a half day"),
    (NHSE, meeting(minutes=241), PersonFacts(), 15000, 0, "over 4 h is a full day"),
    (NICE, meeting(minutes=240), PersonFacts(), 15000, 0, "NICE: 4 h or more is a full day"),
    (NICE, meeting(minutes=239), PersonFacts(), 7500, 0, "NICE: under 4 h is a half day"),
    (NHSE, meeting(level=3), PersonFacts(), 0, 0, "level 3 is expenses only by default"),
    (NICE, meeting(level=3), PersonFacts(), 7500, 0, "a scheme can pay level 3"),
    (NHSE, meeting(minutes=200, prep_minutes=60, prep_paid=True), PersonFacts(), 15000, 0,
     "paid preparation counts towards the time"),
    (NHSE, meeting(minutes=200, prep_minutes=60, prep_paid=False), PersonFacts(), 7500, 0,
     "unpaid preparation does not count"),
    (NHSE, meeting(), PersonFacts(choice="decline"), 0, 7500, "standing decline"),
    (NHSE, meeting(), PersonFacts(declined_for_activity=True), 0, 7500, "declined this time"),
    (NHSE, meeting(), PersonFacts(capacity="representative"), 0, 0, "representative"),
    (NHSE, meeting(), PersonFacts(capacity="employee"), 0, 0, "employee in work time"),
    (NHSE, meeting(cancelled=True), PersonFacts(), 0, 0, "cancelled, not payable"),
    (NHSE, meeting(minutes=0, cancelled=True, cancellation_payable=True, planned_minutes=210),
     PersonFacts(), 7500, 0, "cancelled on the day and marked payable: a half day as planned"),
    (NHSE, meeting(minutes=0, cancelled=True, cancellation_payable=True, planned_minutes=360),
     PersonFacts(), 15000, 0, "a payable cancellation of a full day pays the full day"),
    (NHSE, meeting(minutes=0, cancelled=True, cancellation_payable=True, planned_minutes=720,
                   day_minutes=(360, 360)),
     PersonFacts(), 30000, 0, "a payable cancellation over two days pays each planned day"),
    (NHSE, meeting(minutes=0, cancelled=True, planned_minutes=720, day_minutes=(360, 360)),
     PersonFacts(), 0, 0, "cancelled over two days, not payable"),
    (NHSE, meeting(minutes=0), PersonFacts(), 0, 0, "did not take part"),
    (NHSE, meeting(), PersonFacts(choice="cap", cap_pence=10000, involvement_so_far_pence=5000),
     5000, 2500, "cap: the excess is recorded as declined"),
    (NHSE, meeting(), PersonFacts(choice="cap", cap_pence=10000, involvement_so_far_pence=12000),
     0, 7500, "cap already reached"),
    (NHSE, meeting(), PersonFacts(choice="cap", cap_pence=100000), 7500, 0, "cap not reached"),
    (NIHR, meeting(level=2, minutes=90), PersonFacts(), 4125, 0, "hourly: 1.5 h at £27.50"),
    (NIHR, meeting(minutes=600), PersonFacts(), 16500, 0, "hourly: capped at the maximum"),
    (NHSE, meeting(minutes=720, day_minutes=(360, 360)), PersonFacts(), 30000, 0,
     "two days: each is a full day"),
    (NHSE, meeting(minutes=480, day_minutes=(360, 0, 120)), PersonFacts(), 22500, 0,
     "three days, one missed: a full day and a half day"),
    (NHSE, meeting(minutes=300, day_minutes=(180, 120), prep_minutes=90, prep_paid=True),
     PersonFacts(), 22500, 0, "several days: preparation counts towards the first day"),
    (NIHR, meeting(minutes=1200, day_minutes=(600, 600)), PersonFacts(), 33000, 0,
     "hourly over several days: each day capped on its own"),
    (NHSE, meeting(minutes=720, day_minutes=(360, 360)),
     PersonFacts(choice="cap", cap_pence=20000), 20000, 10000, "several days, then the cap"),
]


@pytest.mark.parametrize(("policy", "activity", "person", "paid", "declined", "why"),
                         INVOLVEMENT_CASES, ids=[c[-1] for c in INVOLVEMENT_CASES])
def test_involvement_payment(policy, activity, person, paid, declined, why):
    result = calculate(policy, activity, person)
    assert (result.involvement_pence, result.declined_pence) == (paid, declined)


def test_an_activity_over_several_days_explains_each_day():
    result = calculate(NHSE, meeting(minutes=480, day_minutes=(360, 0, 120)), PersonFacts(),
                       [])
    assert result.lines[:3] == (
        "Level 4 meeting, day 1: 6 h attended → full day £150.00",
        "Level 4 meeting, day 3: 2 h attended → half day £75.00",
        "2 days taken part → £225.00",
    )


def test_the_policy_example_explanation():
    result = calculate(NHSE, meeting(minutes=210), PersonFacts(),
                       [ExpenseFacts("car", miles=12)])
    assert result.lines[0] == "Level 4 meeting, 3 h 30 min attended → half day £75.00"
    assert result.lines[1] == "Car 12 miles at 45p → £5.40"
    assert result.total_pence == 8040
    assert "NHS England PPV v3" in result.lines[-1]


EXPENSE_CASES = [
    (ExpenseFacts("car", miles=12), PersonFacts(), 540, ()),
    (ExpenseFacts("car", miles=12), PersonFacts(miles_so_far={(YEAR, "car"): 9995}),
     5 * 45 + 7 * 25, ()),
    (ExpenseFacts("car", miles=10), PersonFacts(miles_so_far={(YEAR, "car"): 20000}), 250,
     ()),
    (ExpenseFacts("bicycle", miles=7), PersonFacts(), 140, ()),
    (ExpenseFacts("parking", amount_pence=650, has_receipt=True), PersonFacts(), 650, ()),
    (ExpenseFacts("parking", amount_pence=650), PersonFacts(), 650, ("receipt",)),
    (ExpenseFacts("meals", amount_pence=2200, has_receipt=True), PersonFacts(), 1500, ()),
    (ExpenseFacts("taxi", amount_pence=1800, has_receipt=True), PersonFacts(), 1800,
     ("in advance",)),
    (ExpenseFacts("taxi", amount_pence=1800, has_receipt=True, preapproved=True), PersonFacts(),
     1800, ()),
    (ExpenseFacts("taxi", amount_pence=1800, has_receipt=True),
     PersonFacts(access_needs_taxi=True), 1800, ()),
    (ExpenseFacts("hot_air_balloon", amount_pence=1800), PersonFacts(), 0, ("not covered",)),
]


@pytest.mark.parametrize(("item", "person", "pence", "problems"), EXPENSE_CASES)
def test_expenses(item, person, pence, problems):
    result = calculate(NHSE, meeting(level=1), person, [item])
    assert result.expenses_pence == pence
    assert len(result.problems) == len(problems)
    for expected, found in zip(problems, result.problems, strict=True):
        assert expected in found


def test_mileage_band_crossing_is_explained():
    result = calculate(NHSE, meeting(level=1), PersonFacts(miles_so_far={(YEAR, "car"): 9995}),
                       [ExpenseFacts("car", miles=12)])
    assert "5 at 45p, 7 at 25p, after 9,995 miles in the 2026\u201327 tax year" in result.lines[1]


def test_two_car_journeys_in_one_claim_share_the_bands():
    result = calculate(NHSE, meeting(level=1), PersonFacts(miles_so_far={(YEAR, "car"): 9990}),
                       [ExpenseFacts("car", miles=10), ExpenseFacts("car", miles=10)])
    assert result.expenses_pence == 10 * 45 + 10 * 25


def test_expenses_are_paid_even_when_payments_are_declined():
    result = calculate(NHSE, meeting(), PersonFacts(choice="decline"),
                       [ExpenseFacts("car", miles=12)])
    assert result.involvement_pence == 0
    assert result.expenses_pence == 540


@pytest.mark.parametrize(("day", "start", "label"), [
    (date(2026, 4, 5), 2025, "2025\u201326"),
    (date(2026, 4, 6), 2026, "2026\u201327"),
    (date(2027, 1, 1), 2026, "2026\u201327"),
])
def test_tax_year(day, start, label):
    assert tax_year_start(day) == start
    assert tax_year_label(day) == label


# --- properties ------------------------------------------------------------------------------

# The machine running the tests is shared and busy: a draw can wait for the CPU, which is not
# slow generation. Timing is not what these properties check.
on_a_busy_machine = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)

policies = st.sampled_from([NHSE, NICE, NIHR])
activities = st.builds(
    ActivityFacts, title=st.just("Activity"), involvement_level=st.integers(1, 4),
    minutes_taken_part=st.integers(0, 24 * 60), prep_minutes=st.integers(0, 600),
    prep_paid=st.booleans(), cancelled=st.booleans(), cancellation_payable=st.booleans(),
    planned_minutes=st.integers(0, 24 * 60),
)
people = st.builds(
    PersonFacts, choice=st.sampled_from(["accept", "decline", "cap"]),
    cap_pence=st.one_of(st.none(), st.integers(0, 10**6)),
    capacity=st.sampled_from(["self", "representative", "employee"]),
    declined_for_activity=st.booleans(), access_needs_taxi=st.booleans(),
    involvement_so_far_pence=st.integers(0, 10**6),
    miles_so_far=st.dictionaries(st.tuples(st.sampled_from([2025, 2026]),
                                           st.sampled_from(["car", "bicycle"])),
                                 st.integers(0, 30000)),
)
expense_items = st.lists(st.builds(
    ExpenseFacts, category=st.sampled_from(["car", "parking", "meals", "taxi", "bicycle", "x"]),
    amount_pence=st.one_of(st.none(), st.integers(-500, 10**6)),
    miles=st.one_of(st.none(), st.integers(-50, 2000)),
    has_receipt=st.booleans(), preapproved=st.booleans(),
    expense_date=st.one_of(st.none(), st.dates(date(2025, 1, 1), date(2027, 12, 31))),
), max_size=5)


advance_items = st.lists(st.builds(AdvanceFacts, pence=st.integers(1, 10**5),
                                   paid_on=st.one_of(st.none(), st.just(date(2026, 3, 3)))),
                         max_size=3)
ticket_items = st.lists(st.builds(TicketFacts, description=st.just("Train ticket"),
                                  pence=st.integers(1, 10**5)), max_size=2)


@on_a_busy_machine
@given(policies, activities, people, expense_items, advance_items, ticket_items)
def test_amounts_are_never_negative(policy, activity, person, items, advances, tickets):
    result = calculate(policy, activity, person, items, advances=advances, tickets=tickets)
    assert result.involvement_pence >= 0
    assert result.declined_pence >= 0
    assert all(e.pence >= 0 for e in result.expenses)
    assert result.advance_pence >= 0
    assert result.advance_not_covered_pence >= 0
    assert result.to_pay_pence >= 0


@on_a_busy_machine
@given(policies, activities, people, expense_items, advance_items, ticket_items)
def test_advances_are_taken_off_and_never_make_a_claim_negative(policy, activity, person, items,
                                                                advances, tickets):
    without = calculate(policy, activity, person, items)
    result = calculate(policy, activity, person, items, advances=advances, tickets=tickets)
    paid = sum(a.pence for a in advances)
    # Advances and tickets never change what the claim is worth, only what is still to pay.
    assert result.total_pence == without.total_pence
    assert result.advance_pence == min(paid, result.total_pence)
    assert result.to_pay_pence == max(result.total_pence - paid, 0)
    assert result.advance_pence + result.advance_not_covered_pence == paid
    assert result.to_pay_pence + result.advance_pence == result.total_pence


@on_a_busy_machine
@given(policies, activities, people, expense_items)
def test_amounts_never_exceed_the_policy_maximum(policy, activity, person, items):
    result = calculate(policy, activity, person, items)
    assert result.involvement_pence + result.declined_pence <= policy.maximum_involvement_pence
    for expense, item in zip(result.expenses, items, strict=True):
        rule = policy.rule(item.category)
        if rule is not None and rule.cap_pence is not None:
            assert expense.pence <= rule.cap_pence


@on_a_busy_machine
@given(policies, activities, people, expense_items)
def test_same_input_same_output(policy, activity, person, items):
    assert calculate(policy, activity, person, items) == calculate(policy, activity, person,
                                                                   items)


@on_a_busy_machine
@given(policies, activities, people, expense_items)
def test_declining_always_gives_zero_involvement_payment(policy, activity, person, items):
    declined = PersonFacts(**{**person.__dict__, "choice": "decline"})
    assert calculate(policy, activity, declined, items).involvement_pence == 0
    this_time = PersonFacts(**{**person.__dict__, "declined_for_activity": True})
    assert calculate(policy, activity, this_time, items).involvement_pence == 0


@on_a_busy_machine
@given(policies, activities, people, expense_items)
def test_the_cap_is_never_exceeded(policy, activity, person, items):
    result = calculate(policy, activity, person, items)
    if person.choice == "cap" and person.cap_pence is not None:
        assert result.involvement_pence <= max(person.cap_pence - person.involvement_so_far_pence,
                                               0)


# --- advances and booked tickets (PPV-POLICY section 3) --------------------------------------

ADVANCE_CASES = [
    # (expenses, advances, taken off, still to pay, not covered, why)
    ([ExpenseFacts("parking", 3000, has_receipt=True)], [AdvanceFacts(2000, date(2026, 3, 3))],
     2000, 1000, 0, "an advance smaller than the claim is taken off"),
    ([ExpenseFacts("parking", 1500, has_receipt=True)], [AdvanceFacts(2000, date(2026, 3, 3))],
     1500, 0, 500, "an advance larger than the claim leaves nothing to pay, never negative"),
    ([ExpenseFacts("parking", 2000, has_receipt=True)], [AdvanceFacts(2000)], 2000, 0, 0,
     "an advance equal to the claim"),
    ([ExpenseFacts("parking", 3000, has_receipt=True)], [AdvanceFacts(1000), AdvanceFacts(500)],
     1500, 1500, 0, "two advances add up"),
    ([], [AdvanceFacts(2000)], 0, 0, 2000, "no expenses at all: nothing to pay, nothing taken"),
]


@pytest.mark.parametrize(("items", "advances", "taken", "to_pay", "not_covered", "why"),
                         ADVANCE_CASES)
def test_advances(items, advances, taken, to_pay, not_covered, why):
    result = calculate(NHSE, meeting(level=2), PersonFacts(), items, advances=advances)
    assert (result.advance_pence, result.to_pay_pence, result.advance_not_covered_pence) == (
        taken, to_pay, not_covered), why


def test_an_advance_is_explained_with_its_date_and_the_balance():
    result = calculate(NHSE, meeting(level=2), PersonFacts(),
                       [ExpenseFacts("parking", 3000, has_receipt=True)],
                       advances=[AdvanceFacts(2000, date(2026, 3, 3))])
    assert "Advance paid on 3 March → −£20.00" in result.lines  # noqa: RUF001
    assert result.lines[-1] == "Still to pay £10.00"


def test_an_advance_larger_than_the_claim_is_explained_kindly_and_not_clawed_back():
    result = calculate(NHSE, meeting(level=2), PersonFacts(),
                       [ExpenseFacts("parking", 1500, has_receipt=True)],
                       advances=[AdvanceFacts(2000, date(2026, 3, 3))])
    text = " ".join(result.lines)
    assert "nothing more to pay" in text and "£5.00 left over is not taken back" in text
    assert result.lines[-1] == "Still to pay £0.00"


def test_a_booked_ticket_is_shown_and_not_added_to_the_claim():
    result = calculate(NHSE, meeting(level=2), PersonFacts(),
                       [ExpenseFacts("parking", 650, has_receipt=True)],
                       tickets=[TicketFacts("Train ticket", 3450)])
    assert "Train ticket booked for you: £34.50, nothing to claim" in result.lines
    assert result.total_pence == 650 and result.to_pay_pence == 650


def test_without_advances_the_explanation_is_unchanged():
    result = calculate(NHSE, meeting(), PersonFacts(), [])
    assert result.lines[-1] == "Total £75.00 (policy: NHS England PPV v3)"
    assert result.to_pay_pence == result.total_pence == 7500
