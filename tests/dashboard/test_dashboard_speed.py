"""Figures the dashboard counts in the database for speed give the same answers as a plain
count in Python (and as the payments code they mirror), on varied generated data."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from engage.consultations.models import Response, ResponseStatus
from engage.core import clock
from engage.core.clock import from_london, to_london
from engage.core.models import AuditEvent
from engage.dashboard import metrics, programme
from engage.dashboard.sections import Filters
from engage.equality import services as equality
from engage.equality.questions import NOT_ANSWERED
from engage.extensions import db
from engage.payments import reports
from engage.payments.models import (
    Claim,
    ClaimState,
    LedgerEntry,
    LedgerEntryType,
    PaymentScheme,
    PolicyVersion,
)
from engage.payments.policy import seed_policies
from engage.payments.services import is_overdue
from tests.factories import make_member
from tests.factories_consultations import make_consultation
from tests.factories_panels import make_panel

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

# Days where a financial quarter or tax year changes, and the days either side.
AWKWARD_DAYS = [date(2025, 4, 1), date(2025, 4, 5), date(2025, 4, 6), date(2025, 6, 30),
                date(2025, 7, 1), date(2025, 9, 30), date(2025, 10, 1), date(2025, 12, 31),
                date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 5),
                date(2026, 4, 6)]


def _claims(rng: random.Random, panels: list, count: int = 160) -> list[Claim]:
    """Claims in every state, on awkward and ordinary days, some in no panel, some from a
    closed account (no user), with the ledger entries the payments code would write."""
    people = [make_member() for _ in range(9)]
    states = list(ClaimState)
    claims = []
    for index in range(count):
        state = rng.choice(states)
        day = (rng.choice(AWKWARD_DAYS) if rng.random() < .5
               else date(2025, 3, 1) + timedelta(days=rng.randint(0, 500)))
        claim = Claim(
            user_id=rng.choice(people).id if rng.random() < .9 else None, kind="involvement",
            state=state, activity_kind="event", activity_ref_id=index,
            activity_title="Meeting", activity_date=day, panel_id=rng.choice(panels),
            involvement_pence=rng.choice([0, 3000, 6000]),
            expenses_pence=rng.choice([0, 450, 1280]),
            submitted_at=None if state == ClaimState.DRAFT else NOW - timedelta(days=50))
        db.session.add(claim)
        claims.append(claim)
    db.session.flush()
    for claim in claims:
        if claim.state not in (ClaimState.APPROVED, ClaimState.PAYING, ClaimState.EXPORTED,
                               ClaimState.PAID, ClaimState.PAYMENT_FAILED):
            continue
        entries = [LedgerEntry(claim_id=claim.id, user_id=claim.user_id,
                               entry_type=LedgerEntryType.PAYABLE, category=category,
                               amount_pence=pence)
                   for category, pence in (("involvement", claim.involvement_pence),
                                           ("travel", claim.expenses_pence)) if pence]
        total = claim.involvement_pence + claim.expenses_pence
        if claim.state in (ClaimState.PAID, ClaimState.PAYMENT_FAILED):
            entries.append(LedgerEntry(claim_id=claim.id, user_id=claim.user_id,
                                       entry_type=LedgerEntryType.PAYMENT, category="payment",
                                       amount_pence=-total))
        if claim.state == ClaimState.PAYMENT_FAILED:
            entries.append(LedgerEntry(claim_id=claim.id, user_id=claim.user_id,
                                       entry_type=LedgerEntryType.FAILURE, category="payment",
                                       amount_pence=total))
        db.session.add_all(entries)
        db.session.flush()
        if entries and rng.random() < .2:  # a correction reversing the first entry
            db.session.add(LedgerEntry(
                claim_id=claim.id, user_id=claim.user_id,
                entry_type=LedgerEntryType.CORRECTION, category=entries[0].category,
                amount_pence=-entries[0].amount_pence, reverses_id=entries[0].id))
    db.session.flush()
    return claims


def _plain_spend_and_people():
    """Spend and people per (panel name, quarter), one ledger entry and claim at a time."""
    names = {p.id: p.name for p in db.session.scalars(select(programme.Panel))}

    def key(claim):
        return (names[claim.panel_id] if claim.panel_id else "No panel",
                reports.financial_quarter(claim.activity_date))

    spend: dict[tuple[str, str], int] = {}
    for entry in db.session.scalars(select(LedgerEntry)):
        if entry.category == "payment" or entry.entry_type not in (
                LedgerEntryType.PAYABLE, LedgerEntryType.CORRECTION):
            continue
        k = key(db.session.get(Claim, entry.claim_id))
        spend[k] = spend.get(k, 0) + entry.amount_pence
    people: dict[tuple[str, str], set[int]] = {}
    for claim in db.session.scalars(select(Claim)):
        if claim.state not in (ClaimState.DRAFT, ClaimState.REJECTED):
            people.setdefault(key(claim), set()).add(
                claim.user_id if claim.user_id is not None else -claim.id)
    return spend, {k: len(v) for k, v in people.items()}


def test_spend_and_people_match_a_plain_count_and_the_payments_report(db):
    # Two panels share a name: like the payments report, the dashboard shows them as one.
    panels = [make_panel(name="Survivor voices"), make_panel(name="Health panel"),
              make_panel(name="Twin"), make_panel(name="Twin")]
    _claims(random.Random(11), [None, *[p.id for p in panels]])
    spend, people = _plain_spend_and_people()
    # Quarters run from 1 April: 1-5 April is the first quarter of the new year, never a "Q5".
    assert not any(q.endswith("Q5") for _p, q in spend)
    assert reports.financial_quarter(date(2026, 4, 1)) == reports.financial_quarter(
        date(2026, 6, 30)) != reports.financial_quarter(date(2026, 3, 31))

    rows, counted = programme.spend_and_people()
    assert rows == sorted(((p, q, pence) for (p, q), pence in spend.items()),
                          key=lambda r: (r[1], r[0]))
    assert counted == people
    report, _categories, _grand = reports.spend_by_panel_and_quarter()
    # The same amounts as the payments report (which lists "No panel" last in each quarter).
    assert sorted(rows) == sorted((r.panel, r.quarter, r.total_pence) for r in report)

    every_day = Filters(date(2000, 1, 1), date(2040, 12, 31))
    figure = programme.spend_by_panel_and_quarter(every_day)
    expected = []
    for panel, quarter, pence in rows:
        number = people.get((panel, quarter), 0)
        expected.append([quarter, panel, "not shown", "not shown"] if 0 < number < 5
                        else [quarter, panel, reports.pounds_text(pence), number])
    assert figure.rows == expected
    assert any(row[2] == "not shown" for row in figure.rows)
    assert any(row[2] != "not shown" for row in figure.rows)
    assert figure.note  # some amounts describe fewer than 5 people

    one = programme.spend_by_panel_and_quarter(
        Filters(every_day.start, every_day.end, panel_id=panels[2].id))
    assert one.rows == [row for row in expected if row[1] == "Twin"]
    assert one.rows

    # Dates inside one quarter show that whole quarter, and only it.
    quarter = reports.financial_quarter(date(2026, 5, 6))
    inside = programme.spend_by_panel_and_quarter(Filters(date(2026, 5, 6), date(2026, 5, 20)))
    assert inside.rows == [row for row in expected if row[0] == quarter]
    assert inside.rows


def test_claims_past_target_match_is_overdue_for_every_claim(db):
    seed_policies()
    scheme = db.session.scalar(select(PaymentScheme))
    quick = PolicyVersion(scheme_id=scheme.id, label="Quick", effective_from=date(2020, 1, 1),
                          target_payment_days=10)
    slow = PolicyVersion(scheme_id=scheme.id, label="Slow", effective_from=date(2020, 2, 1),
                         target_payment_days=45)
    db.session.add_all([quick, slow])
    db.session.flush()
    versions = [None, quick.id, slow.id, *db.session.scalars(select(PolicyVersion.id))]
    panels = [None, make_panel().id, make_panel().id]
    person = make_member()
    rng = random.Random(5)
    for index in range(150):
        days = rng.choice([5, 10, 30, 45, 60])
        # exactly on the target, a microsecond either side, or well away from it
        nudge = rng.choice([timedelta(0), timedelta(microseconds=1),
                            -timedelta(microseconds=1), timedelta(hours=7)])
        db.session.add(Claim(
            user_id=person.id, kind="involvement", state=rng.choice(list(ClaimState)),
            activity_kind="event", activity_ref_id=index, activity_title="Meeting",
            activity_date=date(2026, 4, 1), panel_id=rng.choice(panels),
            policy_version_id=rng.choice(versions),
            submitted_at=(None if rng.random() < .1
                          else NOW - timedelta(days=days) + nudge)))
    db.session.flush()
    claims = list(db.session.scalars(select(Claim)))
    with clock.frozen(NOW):
        def plain(panel_id):
            return sum(1 for c in claims if c.state != ClaimState.DRAFT and is_overdue(c)
                       and (panel_id is None or c.panel_id == panel_id))

        everyone = plain(None)
        assert 10 < everyone < 140
        assert programme.claims_past_target() == everyone
        for panel_id in panels[1:]:
            assert programme.claims_past_target(panel_id) == plain(panel_id)
        shown = programme.payment_times(Filters(date(2026, 4, 1), date(2026, 6, 30)))
    assert shown.rows[2][1] == everyone


def test_days_from_sent_to_paid_are_whole_days_as_python_counts_them(db):
    person = make_member()
    sent = datetime(2026, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)
    gaps = [timedelta(days=10), timedelta(days=10) - timedelta(microseconds=1),
            timedelta(days=10, microseconds=1), timedelta(0), timedelta(microseconds=1),
            timedelta(hours=23, minutes=59), timedelta(days=1), timedelta(days=40, hours=3),
            -timedelta(microseconds=1), -timedelta(days=2, hours=1), timedelta(days=3)]
    pairs = []
    for index, gap in enumerate(gaps):
        start = sent - timedelta(hours=5 * index)
        pairs.append((start, start + gap))
        db.session.add(Claim(
            user_id=person.id, kind="involvement", state=ClaimState.PAID,
            activity_kind="event", activity_ref_id=index, activity_title="Meeting",
            activity_date=date(2026, 4, 20), submitted_at=start, paid_at=start + gap))
    db.session.add(Claim(  # paid, but before the dates chosen
        user_id=person.id, kind="involvement", state=ClaimState.PAID, activity_kind="event",
        activity_ref_id=99, activity_title="Meeting", activity_date=date(2026, 1, 2),
        submitted_at=datetime(2026, 1, 2, tzinfo=UTC), paid_at=datetime(2026, 1, 9, tzinfo=UTC)))
    db.session.flush()
    filters = Filters(date(2026, 4, 1), date(2026, 6, 30))
    expected = sorted((paid - start).days for start, paid in pairs)
    assert expected[0] == -3 and 9 in expected and 10 in expected
    assert programme.days_to_paid(filters) == expected
    with clock.frozen(NOW):
        shown = programme.payment_times(filters)
    assert shown.rows[0][1] == len(expected)
    median = statistics.median(expected)
    assert shown.rows[1][1] == f"{median:g} day" + ("" if median == 1 else "s")


def _moments(rng: random.Random, months: list[str], count: int) -> list[datetime]:
    """Times around London midnight at month ends (summer and winter time) and anywhere."""
    edges = []
    for month in months:
        year, number = (int(x) for x in month.split("-"))
        first = from_london(datetime.combine(date(year, number, 1), time.min))
        edges += [first, first - timedelta(microseconds=1), first + timedelta(microseconds=1)]
    start, end = edges[0] - timedelta(days=40), edges[-1] + timedelta(days=40)
    return [rng.choice(edges) if rng.random() < .4
            else start + (end - start) * rng.random() for _ in range(count)]


def _by_month(moments, filters: Filters) -> dict[str, int]:
    counted = {m: 0 for m in filters.months()}
    for moment in moments:
        if filters.start_utc <= moment < filters.end_utc:
            counted[to_london(moment).strftime("%Y-%m")] += 1
    return counted


def test_responses_by_month_match_a_plain_count_by_london_month(db):
    filters = Filters(date(2025, 10, 15), date(2026, 4, 10))  # clocks change in both
    moments = _moments(random.Random(2), filters.months(), 60)
    consultation = make_consultation()
    for moment in moments:
        db.session.add(Response(consultation_id=consultation.id, user_id=make_member().id,
                                status=ResponseStatus.SUBMITTED, submitted_at=moment))
    db.session.add(Response(consultation_id=consultation.id, user_id=make_member().id,
                            status=ResponseStatus.DRAFT, submitted_at=moments[0]))
    db.session.flush()
    expected = _by_month(moments, filters)
    rows = metrics.responses_by_month(filters).rows
    assert [row[1] for row in rows] == [expected[m] for m in filters.months()]
    assert 0 < sum(expected.values()) < len(moments)  # some fall outside the dates chosen
    other_panel = Filters(filters.start, filters.end, panel_id=make_panel().id)
    assert all(row[1] == 0 for row in metrics.responses_by_month(other_panel).rows)


def test_joining_and_leaving_match_a_plain_count_by_london_month(db):
    filters = Filters(date(2025, 10, 15), date(2026, 4, 10))
    panel, other = make_panel(), make_panel()
    rng = random.Random(4)
    actions = [*metrics.JOIN_LEAVE_ACTIONS, "account.signed_in"]
    events = []
    for moment in _moments(rng, filters.months(), 120):
        event = (rng.choice(actions), rng.choice([panel.id, other.id]), moment)
        events.append(event)
        db.session.add(AuditEvent(action=event[0], subject_type="panel", subject_id=event[1],
                                  occurred_at=moment, details={}))
    db.session.flush()
    for chosen in (None, other.id):
        shown = Filters(filters.start, filters.end, panel_id=chosen)
        rows = metrics.joiners_and_leavers(shown).rows
        for column, kind in enumerate(["joined", "left", "breaks", "back"], start=1):
            expected = _by_month([moment for action, panel_id, moment in events
                                  if metrics.JOIN_LEAVE_ACTIONS.get(action) == kind
                                  and chosen in (None, panel_id)], filters)
            assert [row[column] for row in rows] == [expected[m] for m in filters.months()]


def test_counting_one_equality_question_gives_the_same_numbers(db):
    rng = random.Random(8)
    given = []
    with clock.frozen(NOW):
        for index in range(30):
            person = make_member()
            ethnicity = rng.choice(["white", "black", "asian", None])
            equality.save_answers(person, {"ethnicity": ethnicity,
                                           "disability": rng.choice(["yes", "no", None])})
            equality.take_equality_snapshot(person, "event", index % 3 + 1)
            given.append((index % 3 + 1, ethnicity or NOT_ANSWERED))
            if index == 19:
                equality.build_tallies()  # some counted from tallies, some not yet
    for ids in (None, [1, 3], []):
        everything = equality.snapshot_counts("event", ids, months=("2026-01", "2026-12"))
        one = equality.snapshot_counts("event", ids, months=("2026-01", "2026-12"),
                                       questions=["ethnicity"])
        assert one["ethnicity"] == everything["ethnicity"] == Counter(
            answer for context, answer in given if ids is None or context in ids)
        assert not one["disability"]
