"""Engage on several nodes: two web processes (gunicorn, `engage serve`) and two workers in the
production configuration, against one PostgreSQL, one Redis and one S3-compatible server, all
real processes on 127.0.0.1, with a real SMTP server catching the email.

- a person signs in on one web node and carries on on the other;
- the sign-in throttle counts attempts made on both nodes together (Redis), not per process;
- a receipt uploaded through one node downloads through the other (object storage, encrypted;
  neither node keeps it on its disk);
- the leading worker is killed; the other takes over the outbox and the event reminders once
  the lease runs out, and every email goes exactly once.

Runs on PostgreSQL (TEST_DATABASE_URL; .ci/run sets it); skipped, saying what is missing, when
PostgreSQL, redis-server or moto's S3 server is not there.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from engage.accounts.models import User
from engage.core import clock
from engage.core.models import WorkerLease
from engage.core.notify import queue_email
from engage.core.permissions import Role
from engage.core.storage import storage
from engage.events.models import Booking, Event, EventOrganiser
from engage.extensions import db
from engage.payments.models import Receipt
from tests.conftest import POSTGRES_URL, _truncate_all, make_app
from tests.factories import PASSWORD, make_member, make_staff
from tests.factories_payments import make_claim
from tests.integration.processes import REPO_ROOT, WorkerProcess, wait_until
from tests.services import free_port, http_get, start_redis, start_s3_server, stop
from tests.smtp import SmtpSink

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="the multi-node test runs on PostgreSQL: set "
                       "TEST_DATABASE_URL (.ci/run does)"),
]

LEASE_SECONDS = 2
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@dataclass
class WebNode:
    url: str
    proc: subprocess.Popen
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Cluster:
    env: dict[str, str]
    web: list[WebNode]
    workers: list[WorkerProcess]
    bucket_client: object
    bucket: str
    folder: Path
    smtp: SmtpSink

    def start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(self.env, self.folder / f"worker-{len(self.workers) + 1}.log")
        self.workers.append(worker)
        return worker

    def logs(self) -> str:
        parts = [f"--- web {n.url} ---\n{n.output()}" for n in self.web]
        parts += [f"--- worker {w.pid} ---\n{w.output()}" for w in self.workers]
        return "\n".join(parts)


def _start_web(env: dict[str, str], folder: Path, n: int) -> WebNode:
    port = free_port()
    log_path = folder / f"web-{n}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "engage.console", "serve"],
        cwd=folder, env={**env, "WEB_BIND": f"127.0.0.1:{port}"},
        stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    node = WebNode(f"http://127.0.0.1:{port}", proc, log_path)
    wait_until(lambda: proc.poll() is not None or _ready(node), 60, f"web node {n} to be ready")
    assert proc.poll() is None, node.output()
    return node


def _ready(node: WebNode) -> bool:
    try:
        status, _body = http_get(f"{node.url}/readyz", timeout=2)
    except OSError:
        return False
    return status == 200


@pytest.fixture(scope="module")
def cluster(_postgres_schema, tmp_path_factory) -> Iterator[Cluster]:
    """One set of services and nodes for the module (starting them is most of the time)."""
    folder = tmp_path_factory.mktemp("multinode")
    app = make_app(POSTGRES_URL)
    smtp = SmtpSink()
    smtp.start()
    procs: list[subprocess.Popen] = []
    web: list[WebNode] = []
    workers: list[WorkerProcess] = []
    with app.app_context():
        _truncate_all()
        try:
            redis = start_redis(folder)
            procs.append(redis.proc)
            s3 = start_s3_server(folder / "moto.log")
            procs.append(s3.proc)
            bucket = "engage-multinode"
            env = {
                **os.environ,
                "ENGAGE_CONFIG": "production",
                "DATABASE_URL": POSTGRES_URL,
                "SECRET_KEY": "multi-node-test-secret-key-of-more-than-32-characters",
                "FIELD_ENCRYPTION_KEY": app.config["FIELD_ENCRYPTION_KEY"],
                "RATELIMIT_STORAGE_URI": redis.url,
                "LOGIN_LIMIT_PER_ACCOUNT": "3 per 10 minutes",
                "SESSION_COOKIE_SECURE": "0",  # plain HTTP on 127.0.0.1
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": str(smtp.port),
                "WORKER_POLL_SECONDS": "0.3",
                "WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
                "WEB_CONCURRENCY": "1",
                "WEB_THREADS": "2",
                "ENGAGE_INSTANCE_PATH": str(folder / "instance"),
                "UPLOADS_DIR": str(folder / "must-stay-empty"),
                "PYTHONPATH": str(REPO_ROOT),
                "PYTHONUNBUFFERED": "1",
                **s3.settings(bucket),
            }
            app.config.update(s3.settings(bucket))
            storage().create_bucket()
            web = [_start_web(env, folder, 1), _start_web(env, folder, 2)]
            found = Cluster(env, web, workers, storage(), bucket, folder, smtp)
            yield found
            print(found.logs())
        finally:
            for worker in workers:
                worker.close()
            for node in web:
                stop(node.proc)
            for proc in procs:
                stop(proc)
            smtp.stop()
            db.session.remove()
            _truncate_all()
            db.engine.dispose()


class Visitor:
    """A browser: one cookie jar, whichever node it talks to."""

    def __init__(self) -> None:
        self.session = requests.Session()

    def csrf(self, url: str) -> str:
        page = self.session.get(url, timeout=10)
        assert page.status_code == 200, page.text[:500]
        return CSRF.search(page.text).group(1)

    def sign_in(self, node: WebNode, username: str, password: str) -> requests.Response:
        token = self.csrf(f"{node.url}/sign-in")
        return self.session.post(f"{node.url}/sign-in", data={
            "csrf_token": token, "username": username, "password": password},
            allow_redirects=False, timeout=10)


def test_sign_in_on_one_node_and_carry_on_on_the_other(cluster):
    make_member(username="river", display_name="River")
    db.session.commit()
    first, second = cluster.web
    visitor = Visitor()
    assert visitor.sign_in(first, "river", PASSWORD).status_code == 302
    account = visitor.session.get(f"{second.url}/account", allow_redirects=False, timeout=10)
    assert account.status_code == 200 and "River" in account.text
    # A form from one node is accepted by the other (the CSRF token is the session's).
    token = visitor.csrf(f"{second.url}/account")
    signed_out = visitor.session.post(f"{first.url}/sign-out", data={"csrf_token": token},
                                      allow_redirects=False, timeout=10)
    assert signed_out.status_code == 302
    again = visitor.session.get(f"{second.url}/account", allow_redirects=False, timeout=10)
    assert again.status_code == 302 and "/sign-in" in again.headers["Location"]


def test_the_sign_in_throttle_counts_attempts_on_both_nodes(cluster):
    make_member(username="sky")
    db.session.commit()
    first, second = cluster.web
    visitor = Visitor()
    for node in (first, second, first):  # three wrong passwords: the allowance (3 per 10 min)
        assert visitor.sign_in(node, "sky", "not the password").status_code == 200
    # In per-process memory each node would still allow three more; Redis says no to both.
    for node in (second, first):
        blocked = visitor.sign_in(node, "sky", PASSWORD)
        assert blocked.status_code == 429 and "Please wait a little" in blocked.text


def test_a_receipt_uploaded_through_one_node_downloads_through_the_other(cluster):
    member = make_member(username="robin")
    claim = make_claim(member)
    db.session.commit()
    first, second = cluster.web
    visitor = Visitor()
    assert visitor.sign_in(first, "robin", PASSWORD).status_code == 302
    token = visitor.csrf(f"{first.url}/payments/claims/{claim.id}")
    uploaded = visitor.session.post(
        f"{first.url}/payments/claims/{claim.id}/expenses",
        data={"csrf_token": token, "category": "parking", "expense_date": "2026-11-01",
              "amount": "6.50", "description": "Car park"},
        files={"receipt": ("parking.png", PNG, "image/png")}, allow_redirects=False, timeout=10)
    assert uploaded.status_code == 302, uploaded.text[:1000]
    db.session.rollback()
    receipt = db.session.scalar(select(Receipt))
    downloaded = visitor.session.get(f"{second.url}/payments/receipts/{receipt.id}", timeout=10)
    assert downloaded.status_code == 200 and downloaded.content == PNG
    assert downloaded.headers["Content-Disposition"].startswith("attachment")
    stored = cluster.bucket_client.get(f"receipts/{receipt.stored_name}")
    assert PNG not in stored  # encrypted in the bucket
    assert not (cluster.folder / "must-stay-empty").exists()  # on no node's disk


def delivered(smtp: SmtpSink, addresses: list[str]) -> bool:
    received = {r.rcpt_tos[0] for r in smtp.received}
    return all(address in received for address in addresses)


def _lease_holder_pid() -> int | None:
    db.session.rollback()
    lease = db.session.get(WorkerLease, "worker")
    db.session.rollback()
    if lease is None or lease.expires_at <= clock.now():
        return None
    return int(lease.holder.split(":")[-2])


def _event_tomorrow_with_bookings(people: list[User]) -> None:
    organiser = make_staff(Role.FACILITATOR, username="organiser")
    start = clock.now() + timedelta(hours=1, minutes=30)
    event = Event(title="Panel meeting", kind="network_event", starts_at=start,
                  ends_at=start + timedelta(hours=2), venue="Hall", capacity=10,
                  confirmed_count=len(people), created_by_id=organiser.id)
    event.organisers.append(EventOrganiser(user_id=organiser.id))
    db.session.add(event)
    db.session.flush()
    for person in people:
        db.session.add(Booking(event_id=event.id, user_id=person.id, status="confirmed",
                               confirmed_at=clock.now()))


def test_a_standby_worker_takes_over_when_the_leader_dies_and_sends_each_email_once(cluster):
    smtp_server = cluster.smtp
    leader = cluster.start_worker()
    wait_until(lambda: _lease_holder_pid() == leader.pid, 30, "the first worker to lead",
               cluster.workers)
    standby = cluster.start_worker()
    first_batch = [f"before{n}@example.org" for n in range(5)]
    for address in first_batch:
        queue_email(address, "Before", "Sent by the first worker.")
    db.session.commit()
    wait_until(lambda: delivered(smtp_server, first_batch), 30,
               "the leader to send the first batch", cluster.workers)

    leader.proc.send_signal(signal.SIGKILL)  # a lost machine: no clean hand-over
    leader.proc.wait(timeout=10)
    second_batch = [f"after{n}@example.org" for n in range(5)]
    for address in second_batch:
        queue_email(address, "After", "Sent by the worker that took over.")
    people = [make_member(username=f"booker{n}", email=f"booker{n}@example.org",
                          email_is_safe=True) for n in range(3)]
    _event_tomorrow_with_bookings(people)
    db.session.commit()

    everyone = first_batch + second_batch + [p.email for p in people]
    wait_until(lambda: delivered(smtp_server, everyone), LEASE_SECONDS * 10 + 20,
               "the standby worker to take over the outbox and the reminders", cluster.workers)
    assert _lease_holder_pid() == standby.pid
    per_address = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert {a: per_address[a] for a in everyone} == dict.fromkeys(everyone, 1), \
        "every email exactly once"
    reminders = [r for r in smtp_server.received if r.rcpt_tos[0].startswith("booker")]
    assert len(reminders) == 3
    status, body = http_get(f"{cluster.web[1].url}/readyz")
    assert status == 200 and b'"leading":true' in body.replace(b" ", b"")
