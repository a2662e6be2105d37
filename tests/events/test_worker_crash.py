"""The real worker process, killed in the middle of a batch of reminders and restarted (twice
over, as a duplicated worker): every reminder still goes exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engage.accounts.models import User
from engage.core import clock
from engage.core.models import Notification, OutboxMessage
from engage.events.models import Booking, Event, EventOrganiser, ReminderSent
from engage.extensions import db
from tests.conftest import make_app
from tests.smtp import SmtpSink

PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEOPLE = 300
TESTING_KEYS = {
    "SECRET_KEY": "testing-secret-key",
    "FIELD_ENCRYPTION_KEY": "dGVzdGluZy1vbmx5LWZpZWxkLWtleS0zMi1ieXRlcyE=",
}


def _seed(url: str) -> None:
    app = make_app(url)
    with app.app_context():
        db.create_all()
        organiser = User(username="organiser", username_key="organiser",
                         display_name="Organiser", password_hash="x")
        db.session.add(organiser)
        db.session.flush()
        start = clock.now() + timedelta(minutes=90)
        event = Event(title="Big meeting", kind="network_event", starts_at=start,
                      ends_at=start + timedelta(hours=2), venue="Hall", capacity=PEOPLE,
                      confirmed_count=PEOPLE, created_by_id=organiser.id)
        event.organisers.append(EventOrganiser(user_id=organiser.id))
        db.session.add(event)
        db.session.flush()
        for n in range(PEOPLE):
            user = User(username=f"p{n}", username_key=f"p{n}", display_name=f"P{n}",
                        password_hash="x", email=f"p{n}@example.org", email_is_safe=True)
            db.session.add(user)
            db.session.flush()
            db.session.add(Booking(event_id=event.id, user_id=user.id, status="confirmed",
                                   confirmed_at=clock.now()))
        db.session.commit()
        db.engine.dispose()


def _start_worker(env: dict, log_path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - closed when the process ends
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "engage", "worker"],
        cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _count(path, table: str) -> int:
    with sqlite3.connect(path, timeout=30) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608


@pytest.mark.integration
def test_worker_killed_mid_batch_sends_each_reminder_exactly_once(tmp_path):
    path = tmp_path / "engage.sqlite3"
    url = f"sqlite:///{path}"
    _seed(url)
    sink = SmtpSink()
    sink.start()
    env = {**os.environ, **TESTING_KEYS, "ENGAGE_CONFIG": "development", "DATABASE_URL": url,
           "ENGAGE_INSTANCE_PATH": str(tmp_path), "MAIL_BACKEND": "smtp",
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink.port),
           "WORKER_POLL_SECONDS": "0.2", "WORKER_LEASE_SECONDS": "10",
           "EVENT_REMINDER_BATCH_SIZE": "5", "OUTBOX_BATCH_SIZE": "300"}
    env.pop("TEST_DATABASE_URL", None)
    workers = []
    try:
        first = _start_worker(env, tmp_path / "worker1.log")
        workers.append(first)
        deadline = time.monotonic() + 60
        seen = 0
        while time.monotonic() < deadline:
            seen = _count(path, "reminders_sent")
            if seen > 0:
                break
            time.sleep(0.01)
        assert 0 < seen < PEOPLE, f"could not catch the worker mid-batch ({seen} sent)"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        after_kill = _count(path, "reminders_sent")
        assert after_kill < PEOPLE, "the batch finished before the worker was killed"
        # Restart, and start a duplicate worker as well.
        workers.append(_start_worker(env, tmp_path / "worker2.log"))
        workers.append(_start_worker(env, tmp_path / "worker3.log"))
        received = sink.wait_for(PEOPLE, timeout=120)
        time.sleep(1.0)  # anything extra would arrive now
        received = sink.received
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(10)
                except subprocess.TimeoutExpired:
                    worker.kill()
        sink.stop()
    recipients = [r for message in received for r in message.rcpt_tos]
    assert len(recipients) == PEOPLE
    assert len(set(recipients)) == PEOPLE
    app = make_app(url)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReminderSent)) == PEOPLE
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == PEOPLE
        per_person = db.session.execute(
            select(Notification.user_id, func.count()).group_by(Notification.user_id)).all()
        assert len(per_person) == PEOPLE and {n for _, n in per_person} == {1}
        db.engine.dispose()
