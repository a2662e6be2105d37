"""How long the programme dashboard takes to build on the server, on a large data set.

    .venv/bin/python bench/dashboard.py [--members 20000] [--runs 5]

Builds a fresh SQLite database in a temporary folder (or uses BENCH_DATABASE_URL, for example
a PostgreSQL database you can empty), fills it with a large programme (panels, memberships,
consultations, named and anonymous responses, equality snapshots, a year of audit events),
then renders /dashboard for a programme lead several times and prints the server-side time.
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
from sqlalchemy import insert

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
from engage.extensions import db
from engage.feedback.models import FeedbackItem
from engage.panels.models import Panel, PanelMembership

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
    print(f"data: {members} members, {len(memberships)} memberships, {len(responses)} named "
          f"and {len(anonymous)} anonymous responses, {len(snapshots)} equality snapshots, "
          f"{members * 5} audit events")
    return lead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            db.drop_all()
            db.create_all()
            started = time.perf_counter()
            lead = build(args.members, random.Random(7))
            print(f"built in {time.perf_counter() - started:.1f}s")
            lead_id = lead.id
            from flask_login import login_user

            from engage.dashboard.views import index
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
                print(f"/dashboard {label}: median {statistics.median(runs) * 1000:.0f} ms, "
                      f"worst {max(runs) * 1000:.0f} ms over {len(runs)} runs")

            report("before the worker's equality tally job has run", render(""))
            started = time.perf_counter()
            tallied = tally_snapshots("bench")
            db.session.commit()
            print(f"equality tally job: {tallied} snapshots tallied in "
                  f"{time.perf_counter() - started:.1f}s (the worker runs it every 10 minutes)")
            for label, query in [("default (last 12 months, all panels)", ""),
                                 ("one panel", "?panel=3"),
                                 ("36 months", "?start=2024-01-01&end=2026-12-31")]:
                report(label, render(query))
            db.drop_all()


if __name__ == "__main__":
    main()
