"""How long the reminder job takes for 10,000 due reminders.

Run with `make bench` (or `.venv/bin/python bench/reminders.py`). Uses a temporary SQLite file
by default, or the PostgreSQL database in BENCH_DATABASE_URL (its tables are dropped and
recreated: use a scratch database). Prints numbers; asserts nothing about speed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from engage import create_app
from engage.accounts.models import User
from engage.core import clock
from engage.core.models import Notification, OutboxMessage
from engage.events.models import Booking, Event, ReminderSent
from engage.events.tasks import send_due_reminders
from engage.extensions import db

REMINDERS = int(os.environ.get("BENCH_REMINDERS", "10000"))
PER_EVENT = 100


def seed() -> None:
    now = clock.now()
    db.session.execute(insert(User), [
        {"username": f"b{n}", "username_key": f"b{n}", "display_name": f"B{n}",
         "password_hash": "x", "email": f"b{n}@example.org", "email_is_safe": n % 2 == 0,
         "discreet_mode": True, "is_disabled": False, "session_version": 1, "created_at": now}
        for n in range(REMINDERS)])
    user_ids = list(db.session.scalars(select(User.id).order_by(User.id)))
    events = REMINDERS // PER_EVENT
    db.session.execute(insert(Event), [
        {"title": f"Meeting {n}", "kind": "panel_meeting", "description": "", "content_note": "",
         "starts_at": now + timedelta(minutes=30 + n * 0.5),
         "ends_at": now + timedelta(minutes=150 + n * 0.5),
         "mode": "in_person", "venue": "Room 1", "venue_accessibility": "",
         "join_opens_minutes": 30, "capacity": PER_EVENT, "confirmed_count": PER_EVENT,
         "offer_hours": 24, "involvement_level": 2, "prep_paid": False, "prep_minutes": 0,
         "status": "scheduled", "cancel_reason": "", "sequence": 0, "created_at": now,
         "updated_at": now} for n in range(events)])
    event_ids = list(db.session.scalars(select(Event.id).order_by(Event.id)))
    db.session.execute(insert(Booking), [
        {"event_id": event_ids[n // PER_EVENT], "user_id": user_id, "status": "confirmed",
         "join_mode": "in_person", "needs_travel_booked": False, "needs_advance": False,
         "created_at": now, "requested_at": now, "confirmed_at": now, "sequence": 1}
        for n, user_id in enumerate(user_ids)])
    db.session.commit()


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as scratch:
        url = url or f"sqlite:///{scratch}/bench.sqlite3"
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            db.drop_all()
            db.create_all()
            started = time.perf_counter()
            seed()
            print(f"database: {db.engine.dialect.name}; seeded {REMINDERS} due reminders in "
                  f"{time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            sent = send_due_reminders("bench")
            elapsed = time.perf_counter() - started
            again = time.perf_counter()
            repeat = send_due_reminders("bench")
            idle = time.perf_counter() - again
            rows = db.session.scalar(select(func.count()).select_from(ReminderSent))
            notes = db.session.scalar(select(func.count()).select_from(Notification))
            emails = db.session.scalar(select(func.count()).select_from(OutboxMessage))
            print(f"reminder job: {sent} reminders in {elapsed:.2f} s "
                  f"({sent / elapsed:.0f} per second; {rows} recorded, {notes} in-app, "
                  f"{emails} emails queued for people who allow email)")
            print(f"second run with nothing due: {repeat} sent in {idle * 1000:.0f} ms")
            db.drop_all()
            db.engine.dispose()


if __name__ == "__main__":
    main()
