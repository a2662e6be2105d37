"""How long the programme dashboard takes to build on the server, on a large data set.

    .venv/bin/python bench/dashboard.py [--members 20000] [--runs 5]

Builds a fresh SQLite database in a temporary folder (or uses BENCH_DATABASE_URL, for example
a PostgreSQL database you can empty), fills it with a large programme (panels, memberships,
consultations, named and anonymous responses, equality snapshots, a year of audit events,
feedback, "you said, we did" entries and links, a year of events with finalised registers and
attendance, payment claims in every state and the ledger entries that go with them), then
renders /dashboard for a programme lead several times and prints the server-side time: the
whole page (median, fastest and slowest), and each figure on its own, so slow ones show.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyotp
from sqlalchemy import insert, select

from engage import create_app
from engage.accounts.models import User, UserRole
from engage.changes.models import ChangeEntry, ChangeLink
from engage.consultations.models import (
    AnonymousResponse,
    Consultation,
    Response,
)
from engage.core.models import AuditEvent
from engage.equality.models import EqualitySnapshot
from engage.equality.questions import QUESTIONS
from engage.events.models import AttendanceRecord, Event, Register
from engage.extensions import db
from engage.feedback.models import FeedbackItem
from engage.panels.models import Panel, PanelMembership
from engage.payments.models import Claim, LedgerEntry, PolicyVersion
from engage.payments.policy import seed_policies

NOW = datetime.now(UTC)


def build(members: int, rng: random.Random) -> User:
    panels = 40
    consultations = 300
    db.session.execute(insert(User), [
        {"username": f"member{i}", "username_key": f"member{i}", "display_name": f"Member {i}",
         "password_hash": "x", "created_at": NOW} for i in range(members)])
    # No one can sign in as the bench lead: the view is called directly.
    lead = User(username="lead", username_key="lead", display_name="Lead",
                password_hash=secrets.token_hex(16), totp_secret=pyotp.random_base32(),
                totp_confirmed_at=NOW)
    lead.roles.append(UserRole(role="programme_lead"))
    db.session.add(lead)
    db.session.execute(insert(Panel), [
        {"name": f"Panel {i}", "member_count": 0, "created_at": NOW, "updated_at": NOW}
        for i in range(panels)])
    memberships = []
    for user_id in range(1, members + 1):
        for panel_id in rng.sample(range(1, panels + 1), rng.randint(0, 2)):
            joined = NOW - timedelta(days=rng.randint(0, 700))
            left = joined + timedelta(days=rng.randint(10, 400)) if rng.random() < .3 else None
            memberships.append({
                "panel_id": panel_id, "user_id": user_id,
                "state": "left" if left else "active", "agreement_version": "1",
                "agreement_accepted_at": joined, "applied_at": joined, "joined_at": joined,
                "left_at": left})
    db.session.execute(insert(PanelMembership), memberships)
    db.session.execute(insert(Consultation), [
        {"panel_id": rng.choice([None, rng.randint(1, panels)]), "title": f"Consultation {i}",
         "opens_at": NOW - timedelta(days=400), "closes_at": NOW + timedelta(days=10),
         "is_anonymous": i % 3 == 0, "state": "open", "created_at": NOW}
        for i in range(consultations)])
    responses, anonymous, seen = [], [], set()
    for _ in range(members * 3):
        consultation_id = rng.randint(1, consultations)
        user_id = rng.randint(1, members)
        when = NOW - timedelta(days=rng.randint(0, 400))
        if consultation_id % 3 == 1:  # Consultation 0, 3, ... are anonymous (ids 1, 4, ...)
            anonymous.append({"id": f"{len(anonymous):032x}", "consultation_id": consultation_id,
                              "submitted_on": when.date()})
        elif (consultation_id, user_id) not in seen:
            seen.add((consultation_id, user_id))
            responses.append({"consultation_id": consultation_id, "user_id": user_id,
                              "status": "submitted", "created_at": when, "updated_at": when,
                              "submitted_at": when})
    db.session.execute(insert(Response), responses)
    db.session.execute(insert(AnonymousResponse), anonymous)
    snapshots = []
    for index in range(len(memberships) + len(responses) + len(anonymous)):
        answers = {q.key: rng.choice(q.choices())[0] for q in QUESTIONS if rng.random() < .8}
        when = NOW - timedelta(days=rng.randint(0, 400))
        snapshots.append({"id": f"{index:032x}", "context_kind": rng.choice(
            ["panel", "consultation"]), "context_id": rng.randint(1, panels),
            "month": when.strftime("%Y-%m"), "answers": json.dumps(answers)})
    db.session.execute(insert(EqualitySnapshot), snapshots)
    actions = ["panel.application_accepted", "panel.left", "panel.break_started",
               "panel.break_ended", "consultation.answered", "account.signed_in"]
    db.session.execute(insert(AuditEvent), [
        {"occurred_at": NOW - timedelta(minutes=rng.randint(0, 525_600)),
         "action": rng.choice(actions), "subject_type": "panel",
         "subject_id": rng.randint(1, panels), "details": {}} for _ in range(members * 5)])
    # Feedback and "you said, we did" (merge): one piece of feedback per member, a tenth
    # replied to, and 500 published changes each linked to up to 20 pieces of feedback.
    topics = ["Counselling", "Police", "Courts", "Health", "Housing", None]
    feedback_ids = rng.sample(range(1, 2**31 - 1), members)
    db.session.execute(insert(FeedbackItem), [
        {"id": fid, "received_on": (NOW - timedelta(days=rng.randint(0, 700))).date(),
         "body": "x", "topic": rng.choice(topics), "status": rng.choice(
             ["new", "acknowledged", "linked", "closed"]),
         "first_reply_on": NOW.date() if rng.random() < .1 else None}
        for fid in feedback_ids])
    db.session.execute(insert(ChangeEntry), [
        {"said": f"Said {i}", "done": f"Done {i}", "organisation": rng.choice(
            ["NHS", "Police", "Local authority", "Voluntary sector"]),
         "status": rng.choice(["considering", "planned", "in_progress", "done"]),
         "target_on": (NOW + timedelta(days=rng.randint(-200, 200))).date(),
         "completed_on": NOW.date(), "publication": "published", "created_at": NOW,
         "published_at": NOW} for i in range(500)])
    links = {(rng.randint(1, 500), rng.choice(feedback_ids)) for _ in range(5000)}
    db.session.execute(insert(ChangeLink), [
        {"entry_id": entry_id, "kind": "feedback", "feedback_id": fid}
        for entry_id, fid in links])
    db.session.commit()
    print(f"data: {members} feedback items, 500 changes, {len(links)} links")
    build_events_and_payments(members, panels, rng)
    print(f"data: {members} members, {len(memberships)} memberships, {len(responses)} named "
          f"and {len(anonymous)} anonymous responses, {len(snapshots)} equality snapshots, "
          f"{members * 5} audit events")
    return lead


# Claim states and how often each is seen; those from "approved" on are in the ledger.
CLAIM_STATES = [("draft", 5), ("submitted", 8), ("lead_approved", 5), ("approved", 5),
                ("paying", 2), ("exported", 3), ("paid", 62), ("payment_failed", 1),
                ("returned", 3), ("rejected", 6)]
IN_LEDGER = {"approved", "paying", "exported", "paid", "payment_failed"}


def build_events_and_payments(members: int, panels: int, rng: random.Random,
                              events: int = 1500, per_event: int = 20,
                              claims: int = 20000) -> None:
    """A year of events (most for a panel) with registers, 20 places each, nearly all
    finalised; a claim from most people who came; ledger entries for approved claims."""
    event_rows, register_rows = [], []
    for event_id in range(1, events + 1):
        starts = NOW - timedelta(days=rng.randint(1, 365), minutes=rng.randint(0, 600))
        event_rows.append({
            "id": event_id, "panel_id": rng.randint(1, panels) if rng.random() < .85 else None,
            "title": f"Event {event_id}", "starts_at": starts,
            "ends_at": starts + timedelta(hours=rng.choice([2, 3, 6])), "capacity": per_event,
            "confirmed_count": per_event, "created_at": starts - timedelta(days=30),
            "updated_at": starts})
        register_rows.append({
            "event_id": event_id, "saved_at": starts + timedelta(days=1),
            "finalised_at": starts + timedelta(days=2) if rng.random() < .95 else None})
    db.session.execute(insert(Event), event_rows)
    db.session.execute(insert(Register), register_rows)
    statuses = ["attended"] * 70 + ["attended_part"] * 10 + ["did_not_attend"] * 12 + \
        ["cancelled_in_advance"] * 8
    records = []
    for event in event_rows:
        for user_id in rng.sample(range(1, members + 1), per_event):
            status = rng.choice(statuses)
            records.append({"event_id": event["id"], "user_id": user_id, "status": status,
                            "minutes_attended": 60 if status == "attended_part" else None,
                            "updated_at": event["ends_at"]})
    db.session.execute(insert(AttendanceRecord), records)
    db.session.execute(insert(EqualitySnapshot), [
        {"id": f"e{index:031x}", "context_kind": "event", "context_id": r["event_id"],
         "month": event_rows[r["event_id"] - 1]["starts_at"].strftime("%Y-%m"),
         "answers": json.dumps({q.key: rng.choice(q.choices())[0] for q in QUESTIONS
                                if rng.random() < .8})}
        for index, r in enumerate(records) if r["status"] in ("attended", "attended_part")])

    seed_policies()
    versions = [v.id for v in db.session.scalars(select(PolicyVersion))]
    came = [r for r in records if r["status"] in ("attended", "attended_part")]
    states = [state for state, weight in CLAIM_STATES for _ in range(weight)]
    claim_rows, ledger_rows = [], []
    for claim_id, record in enumerate(rng.sample(came, min(claims, len(came))), start=1):
        event = event_rows[record["event_id"] - 1]
        state = rng.choice(states)
        day = event["starts_at"].date()
        submitted = (None if state == "draft"
                     else event["ends_at"] + timedelta(days=rng.randint(0, 40)))
        paid = submitted + timedelta(days=rng.randint(2, 60)) if state == "paid" else None
        involvement = rng.choice([0, 3000, 6000, 15000])
        expenses = rng.choice([0, 0, 450, 1280, 2600])
        claim_rows.append({
            "id": claim_id, "user_id": record["user_id"] if rng.random() < .98 else None,
            "kind": "involvement", "state": state, "activity_kind": "event",
            "activity_ref_id": event["id"], "activity_title": event["title"],
            "activity_date": day, "involvement_level": 4, "panel_id": event["panel_id"],
            "policy_version_id": rng.choice(versions), "involvement_pence": involvement,
            "expenses_pence": expenses, "submitted_at": submitted,
            "finance_approved_at": submitted + timedelta(days=1) if state in IN_LEDGER else None,
            "paid_at": paid, "created_at": event["ends_at"],
            "updated_at": paid or submitted or event["ends_at"]})
        if state not in IN_LEDGER:
            continue
        when = submitted + timedelta(days=1)
        for category, pence in (("involvement", involvement), ("travel", expenses)):
            if pence:
                ledger_rows.append({
                    "claim_id": claim_id, "user_id": claim_rows[-1]["user_id"],
                    "entry_type": "payable", "category": category, "amount_pence": pence,
                    "dedupe_key": f"payable:{claim_id}:{category}", "created_at": when})
        total = involvement + expenses
        if total and state in ("paid", "payment_failed"):
            ledger_rows.append({
                "claim_id": claim_id, "user_id": claim_rows[-1]["user_id"],
                "entry_type": "payment", "category": "payment", "amount_pence": -total,
                "route": "stripe", "dedupe_key": f"payment:{claim_id}",
                "created_at": paid or when})
        if total and state == "payment_failed":
            ledger_rows.append({
                "claim_id": claim_id, "user_id": claim_rows[-1]["user_id"],
                "entry_type": "failure", "category": "payment", "amount_pence": total,
                "route": "stripe", "dedupe_key": f"failure:{claim_id}", "created_at": when})
    db.session.execute(insert(Claim), claim_rows)
    for index, row in enumerate(ledger_rows, start=1):
        row["id"] = index
    # A few hundred corrections, each reversing a payable entry.
    corrections = []
    payable = [r for r in ledger_rows if r["entry_type"] == "payable"]
    for original in rng.sample(payable, min(300, len(payable))):
        corrections.append({
            "id": len(ledger_rows) + len(corrections) + 1, "claim_id": original["claim_id"],
            "user_id": original["user_id"], "entry_type": "correction",
            "category": original["category"], "amount_pence": -original["amount_pence"],
            "reverses_id": original["id"], "dedupe_key": f"reverses:{original['id']}",
            "created_at": original["created_at"] + timedelta(days=3)})
    db.session.execute(insert(LedgerEntry), [
        {"route": None, **row} for row in ledger_rows + corrections])
    db.session.commit()
    finalised = sum(1 for r in register_rows if r["finalised_at"])
    print(f"data: {events} events ({finalised} registers finalised), {len(records)} "
          f"attendance records, {len(claim_rows)} claims, "
          f"{len(ledger_rows) + len(corrections)} ledger entries")


def figure_functions():
    """Each figure of the page on its own, as (label, function(filters)), in page order."""
    from engage.dashboard import metrics, programme

    return [
        ("members per panel", metrics.members_per_panel),
        ("joining and leaving", metrics.joiners_and_leavers),
        ("attendance rate", programme.attendance_rate),
        ("consultation responses", metrics.responses_by_month),
        ("feedback by month", lambda f: programme.feedback_by_month(f, metrics.month_label)),
        ("feedback by topic", programme.feedback_by_topic),
        ("closing the loop", programme.loop_measures),
        ("commitments past target", programme.commitments_past_target),
        ("spend by panel and quarter", programme.spend_by_panel_and_quarter),
        ("how quickly claims are paid", programme.payment_times),
        ("equality make-up", metrics.equality_make_up),
    ]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens
    print(f"{os.cpu_count()} cores, {load()}")
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            print(f"database: {db.engine.dialect.name}")
            db.drop_all()
            db.create_all()
            started = time.perf_counter()
            lead = build(args.members, random.Random(7))
            print(f"built in {time.perf_counter() - started:.1f}s")
            lead_id = lead.id
            from flask_login import login_user

            from engage.dashboard.sections import DASHBOARD_SECTIONS
            from engage.dashboard.views import _filter_form, index
            from engage.equality.tasks import tally_snapshots

            def render(query: str) -> list[float]:
                runs = []
                for _ in range(args.runs):
                    db.session.expire_all()
                    with app.test_request_context(f"/dashboard{query}"):
                        login_user(db.session.get(User, lead_id))
                        started = time.perf_counter()
                        html = index()
                        runs.append(time.perf_counter() - started)
                    assert "Participation" in html
                return runs

            def report(label: str, runs: list[float]) -> None:
                print(f"/dashboard {label}: median {ms(statistics.median(runs))}, "
                      f"fastest {ms(min(runs))}, slowest {ms(max(runs))} over {len(runs)} runs")

            def timed(function, filters) -> float:
                runs = []
                for _ in range(args.runs):
                    db.session.expire_all()
                    started = time.perf_counter()
                    function(filters)
                    runs.append(time.perf_counter() - started)
                return statistics.median(runs)

            def breakdown(queries: list[tuple[str, str]]) -> None:
                filters = []
                for _label, query in queries:
                    with app.test_request_context(f"/dashboard{query}"):
                        filters.append(_filter_form().filters())
                print(f"median per figure over {args.runs} runs ({load()}):")
                print(f"  {'':32}" + "".join(f"{label:>14}" for label, _q in queries))
                rows = [(name, function) for name, function in figure_functions()]
                rows += [(f"section: {provider.__name__}", provider)
                         for provider in DASHBOARD_SECTIONS.functions()]
                for name, function in rows:
                    print(f"  {name:32}" + "".join(f"{ms(timed(function, f)):>14}"
                                                  for f in filters))

            runs = args.runs
            args.runs = 1  # slow by design: every snapshot is decrypted until the job runs
            report("before the worker's equality tally job has run", render(""))
            args.runs = runs
            started = time.perf_counter()
            tallied = tally_snapshots("bench")
            db.session.commit()
            print(f"equality tally job: {tallied} snapshots tallied in "
                  f"{time.perf_counter() - started:.1f}s (the worker runs it every 10 minutes)")
            if db.engine.dialect.name == "postgresql":
                # What autovacuum does soon after a bulk load and after the tally job marks
                # every snapshot: statistics, and no dead rows left for the indexes to visit.
                with db.engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT") as connection:
                    connection.exec_driver_sql("VACUUM ANALYZE")
                print("PostgreSQL: VACUUM ANALYZE after loading, as autovacuum would")
            print(load())
            pages = [("default", ""), ("one panel", "?panel=3")]
            for label, query in [("default (last 12 months, all panels)", ""),
                                 ("one panel", "?panel=3"),
                                 ("36 months", "?start=2024-01-01&end=2026-12-31")]:
                report(label, render(query))
            breakdown(pages)
            print(load())
            db.session.remove()  # PostgreSQL: an open transaction would block DROP TABLE
            db.drop_all()


if __name__ == "__main__":
    main()
