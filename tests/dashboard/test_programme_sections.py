"""Dashboard figures from feedback, "you said, we did", events and payments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from engage.changes import services as changes
from engage.changes.models import ChangeStatus
from engage.core import clock
from engage.core.permissions import Role
from engage.dashboard.sections import Figure, Filters, build_sections
from engage.events import services as events
from engage.payments.models import ClaimState
from engage.payments.policy import seed_policies
from tests.factories import make_member, make_staff, sign_in
from tests.factories_events import confirmed_booking, make_event, make_panel
from tests.factories_feedback import make_entry, make_feedback, publish
from tests.factories_panels import make_panel as named_panel
from tests.factories_payments import approved_claim, make_claim

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
RANGE = Filters(start=date(2026, 4, 1), end=date(2026, 6, 30))


def figure(filters, key) -> Figure:
    return next(f for s in build_sections(filters) for f in s.figures if f.key == key)


def value(fig: Figure, measure: str):
    return next(row[1] for row in fig.rows if row[0] == measure)


def test_feedback_by_month_and_topic(db):
    make_feedback(received_on=date(2026, 4, 2), topic="Counselling")
    make_feedback(received_on=date(2026, 4, 30), topic="Counselling")
    make_feedback(received_on=date(2026, 6, 1), topic="Police")
    make_feedback(received_on=date(2026, 6, 3))
    make_feedback(received_on=date(2026, 3, 31), topic="Police")  # before the range
    with clock.frozen(NOW):
        by_month = figure(RANGE, "feedback-by-month")
        by_topic = figure(RANGE, "feedback-by-topic")
    assert by_month.rows == [["Apr 2026", 2], ["May 2026", 0], ["Jun 2026", 2]]
    assert by_topic.rows == [["Counselling", 2], ["Police", 1], ["No topic chosen", 1]]
    assert "Counselling" in by_topic.chart
    assert "optional" in by_topic.how_counted


def test_closing_the_loop_uses_the_changes_measures(db):
    with clock.frozen(NOW):
        linked = make_feedback(received_on=date(2026, 5, 1))
        make_feedback(received_on=date(2026, 5, 1))  # waiting over 30 days
        make_feedback(received_on=date(2026, 6, 10))  # recent: not waiting long yet
        lead = make_staff(Role.PROGRAMME_LEAD)
        entry = publish(make_entry(lead, status=ChangeStatus.DONE,
                                   completed_on=date(2026, 5, 11)))
        changes.link_feedback(lead, entry, linked.id)
        db.session.flush()
        loop = figure(RANGE, "closing-the-loop")
    assert value(loop, "Feedback received") == 3
    assert value(loop, "Feedback linked to a change") == 1
    assert value(loop, "Share of feedback linked to a change") == "33%"
    assert value(loop, "Median days from feedback to a change marked done") == "10 days"
    assert value(loop, "Feedback waiting over 30 days for a reply") == 1


def test_closing_the_loop_counts_only_feedback_received_in_the_dates_chosen(db):
    with clock.frozen(NOW):
        lead = make_staff(Role.PROGRAMME_LEAD)
        entry = publish(make_entry(lead, status=ChangeStatus.DONE,
                                   completed_on=date(2026, 5, 21)))
        for received in (date(2026, 3, 1), date(2026, 5, 1)):  # before, and inside, the range
            changes.link_feedback(lead, entry, make_feedback(received_on=received).id)
        make_feedback(received_on=date(2026, 2, 1))  # before the range, still waiting
        make_feedback(received_on=date(2026, 4, 20))  # inside the range, still waiting
        db.session.flush()
        shown = figure(Filters(start=date(2026, 4, 1), end=date(2026, 6, 30)),
                       "closing-the-loop")
        earlier = figure(Filters(start=date(2026, 1, 1), end=date(2026, 3, 31)),
                         "closing-the-loop")
    assert [value(shown, m) for m in (
        "Feedback received", "Feedback linked to a change",
        "Median days from feedback to a change marked done",
        "Feedback waiting over 30 days for a reply")] == [2, 1, "20 days", 1]
    assert [value(earlier, m) for m in (
        "Feedback received", "Feedback linked to a change",
        "Median days from feedback to a change marked done",
        "Feedback waiting over 30 days for a reply")] == [2, 1, "81 days", 1]
    assert changes.measures().total_feedback == 4  # the measures page still counts it all


def test_commitments_past_target_by_organisation_with_filter(db, client):
    with clock.frozen(NOW):
        lead = make_staff(Role.PROGRAMME_LEAD)
        for organisation in ("City Police", "City Police", "Northshire NHS Trust"):
            publish(make_entry(lead, organisation=organisation,
                               target_on=date(2026, 6, 1)))
        publish(make_entry(lead, organisation="City Police", target_on=date(2026, 7, 1)))
        publish(make_entry(lead, organisation="City Police", status=ChangeStatus.DONE,
                           target_on=date(2026, 5, 1)))
        make_entry(lead, organisation="Draft Council", target_on=date(2026, 5, 1))  # not public
        db.session.flush()
        everyone = figure(RANGE, "commitments-past-target")
        police = figure(Filters(RANGE.start, RANGE.end, organisation="City Police"),
                        "commitments-past-target")
    assert everyone.rows == [["City Police", 2], ["Northshire NHS Trust", 1]]
    assert police.rows == [["City Police", 2]]


def test_organisation_filter_is_offered_and_applied_on_the_page(db, browser_like):
    lead = make_staff(Role.PROGRAMME_LEAD)
    with clock.frozen(NOW):
        publish(make_entry(lead, organisation="City Police", target_on=date(2026, 6, 1)))
        publish(make_entry(lead, organisation="Northshire NHS Trust",
                           target_on=date(2026, 6, 1)))
        db.session.commit()
        sign_in(browser_like, lead)
        page = browser_like.get("/dashboard?organisation=City+Police").get_data(as_text=True)
        csv = browser_like.get(
            "/dashboard/download/commitments-past-target.csv?organisation=City+Police"
        ).get_data(as_text=True)
    assert '<option selected value="City Police">' in page or \
        'value="City Police" selected' in page
    assert "Closing the loop" in page and "Payments" in page
    assert "City Police" in csv and "Northshire" not in csv


def _finalised_event(came: int, missed: int):
    facilitator = make_staff(Role.FACILITATOR)
    people = [make_member() for _ in range(came + missed)]
    panel = make_panel(facilitators=[facilitator], members=people)
    event = make_event(organiser=facilitator, panel=panel, starts_in=timedelta(days=14),
                       capacity=20)
    for person in people:
        confirmed_booking(person, event)
    event.starts_at -= timedelta(days=21)
    event.ends_at -= timedelta(days=21)
    events.register_rows(facilitator, event)
    events.save_register(facilitator, event, {
        p.id: events.Mark("attended" if i < came else "did_not_attend")
        for i, p in enumerate(people)})
    events.finalise_register(facilitator, event)
    return panel, event


def test_attendance_rate_from_finalised_registers_with_small_numbers_hidden(db):
    seed_policies()
    big, event = _finalised_event(came=6, missed=5)
    small, _small_event = _finalised_event(came=5, missed=1)
    db.session.flush()
    day = event.starts_at.date()
    filters = Filters(start=day - timedelta(days=5), end=day + timedelta(days=5))
    only_big = figure(Filters(filters.start, filters.end, panel_id=big.id), "attendance-rate")
    assert only_big.rows == [[big.name, "6", "5", "11", "55%"]]
    assert not only_big.note
    only_small = figure(Filters(filters.start, filters.end, panel_id=small.id),
                        "attendance-rate")
    assert only_small.rows == [[small.name, "not shown", "not shown", "6", "-"]]
    assert only_small.note  # a rate would give away the hidden count
    everyone = figure(filters, "attendance-rate")
    assert {row[0] for row in everyone.rows} == {big.name, small.name}
    assert all("not shown" in row for row in everyone.rows)  # hidden so no subtraction works


def test_spend_by_panel_and_quarter_hides_amounts_for_fewer_than_five_people(db):
    big_panel, small_panel = make_panel(), make_panel()
    day = date(2026, 5, 6)  # 2026-27 Q1
    lead = make_staff(Role.FACILITATOR)
    finance = make_staff(Role.FINANCE)
    with clock.frozen(NOW):
        for index in range(6):
            claim = approved_claim(lead=lead, finance=finance, day=day)
            claim.panel_id = big_panel.id if index < 5 else small_panel.id
        db.session.flush()
        spend = figure(RANGE, "spend-by-panel-and-quarter")
    rows = {row[1]: row for row in spend.rows}
    assert rows[big_panel.name][0] == "2026\u201327 Q1"
    assert rows[big_panel.name][3] == 5
    assert rows[big_panel.name][2] not in ("not shown", "0.00")
    assert rows[small_panel.name][2:] == ["not shown", "not shown"]
    assert spend.note


def test_spend_shows_the_whole_quarters_the_dates_chosen_touch(db):
    panel = make_panel()
    lead = make_staff(Role.FACILITATOR)
    finance = make_staff(Role.FINANCE)
    with clock.frozen(NOW):
        for day in (date(2026, 3, 31), date(2026, 4, 1), date(2026, 6, 30), date(2026, 7, 1)):
            for _ in range(5):
                approved_claim(lead=lead, finance=finance, day=day).panel_id = panel.id
        db.session.flush()
        one_day = figure(Filters(start=date(2026, 5, 6), end=date(2026, 5, 6)),
                         "spend-by-panel-and-quarter")
        two_quarters = figure(Filters(start=date(2026, 3, 31), end=date(2026, 4, 1)),
                              "spend-by-panel-and-quarter")
    assert [(row[0], row[3]) for row in one_day.rows] == [("2026\u201327 Q1", 10)]
    assert [(row[0], row[3]) for row in two_quarters.rows] == [
        ("2025\u201326 Q4", 5), ("2026\u201327 Q1", 10)]
    assert "quarter the dates chosen touch" in one_day.how_counted


def test_median_days_to_paid_and_claims_past_target(db):
    seed_policies()
    lead = make_staff(Role.FACILITATOR)
    finance = make_staff(Role.FINANCE)
    for submitted_days_ago, paid_days_after in ((40, 10), (30, 20), (25, 4)):
        claim = approved_claim(lead=lead, finance=finance)
        claim.submitted_at = NOW - timedelta(days=submitted_days_ago)
        claim.paid_at = claim.submitted_at + timedelta(days=paid_days_after)
        claim.state = ClaimState.PAID
    late = approved_claim(lead=lead, finance=finance)  # sent 45 days ago, not paid
    late.submitted_at = NOW - timedelta(days=45)
    recent = approved_claim(lead=lead, finance=finance)  # sent 5 days ago
    recent.submitted_at = NOW - timedelta(days=5)
    make_claim(lead=lead)  # a draft is never late
    db.session.flush()
    with clock.frozen(NOW):
        times = figure(RANGE, "payment-times")
    assert value(times, "Claims paid in the dates chosen") == 3
    assert value(times, "Median days from claim sent to paid") == "10 days"
    assert value(times, "Claims not paid yet and past the target time") == 1


def test_people_marked_as_attending_are_in_the_equality_make_up(db):
    from engage.equality.services import save_answers

    seed_policies()
    _panel, event = _finalised_event(came=6, missed=0)
    for record in event_records(event):
        save_answers(record.user, {"ethnicity": "white"})
    # the snapshots were taken when the register was finalised, before these answers
    day = event.starts_at.date()
    filters = Filters(start=day - timedelta(days=400), end=day + timedelta(days=400))
    result = figure(filters, "equality-ethnicity")
    assert result.header[3] == "Attended an event"
    rows = {row[0]: row for row in result.rows}
    assert rows["Not answered"][3] == "6"
    assert rows["White"][3] == "0"
    only_other_panel = figure(Filters(filters.start, filters.end, panel_id=make_panel().id),
                              "equality-ethnicity")
    assert {row[0]: row for row in only_other_panel.rows}["Not answered"][3] == "0"


def event_records(event):
    from sqlalchemy import select

    from engage.events.models import AttendanceRecord
    from engage.extensions import db

    return list(db.session.scalars(select(AttendanceRecord)
                                   .where(AttendanceRecord.event_id == event.id)))


def test_the_filter_offers_each_panel_by_name_and_each_organisation_once(db, browser_like):
    lead = make_staff(Role.PROGRAMME_LEAD)
    for name in ("Young people's panel", "Advisory panel"):
        named_panel(name=name)
    with clock.frozen(NOW):
        for organisation in ("Northshire NHS Trust", "City Police", "City Police"):
            make_entry(lead, organisation=organisation)
        db.session.commit()
        sign_in(browser_like, lead)
        page = browser_like.get("/dashboard").get_data(as_text=True)
    panels = page[page.index('name="panel"'):]
    panels = panels[:panels.index("</select>")]
    organisations = page[page.index('name="organisation"'):]
    organisations = organisations[:organisations.index("</select>")]
    assert panels.index("Advisory panel") < panels.index("Young people&#39;s panel")
    assert "City Police" not in panels
    assert organisations.count('value="City Police"') == 1
    assert organisations.index("City Police") < organisations.index("Northshire NHS Trust")
    assert "Advisory panel" not in organisations
