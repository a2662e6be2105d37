"""The real worker process (`flask --app engage.wsgi engage worker`) against a real SMTP server.

What these tests hold the worker to:

- every queued email is delivered, and delivered once, however workers start, stand by, crash
  or stop;
- only the worker holding the lease (the leader lock in `worker_leases`) sends; another waits
  and takes over when the leader dies (once its lease expires) or stops (at once);
- the outbox protocol: a message is claimed (status "sending", committed) before SMTP and
  marked "sent" (committed) after. A claim older than OUTBOX_STALE_CLAIM_SECONDS is retried.
  So a worker killed before the SMTP server accepted a message leaves it to be sent by the next
  worker, and nothing is sent twice. The only window for a duplicate is a crash after the
  server accepted the message and before the "sent" commit (milliseconds); every attempt uses
  the same Message-ID so the receiving side can drop such a repeat. The crash test kills the
  worker while the server is still answering RCPT, which is outside that window by design.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engage.core.models import OutboxMessage, OutboxStatus, WorkerLease
from engage.core.notify import queue_email
from engage.extensions import db
from tests.integration.processes import wait_until

pytestmark = pytest.mark.integration


def queue(first: int, count: int) -> list[str]:
    addresses = []
    for n in range(first, first + count):
        address = f"person{n}@example.org"
        queue_email(address, f"Reminder {n}", f"Your session {n} is tomorrow.")
        addresses.append(address)
    db.session.commit()
    return addresses


def outbox_rows():
    db.session.rollback()  # a fresh transaction sees what the worker committed
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.to_address, OutboxMessage.status,
               OutboxMessage.claimed_by).order_by(OutboxMessage.id)
    ).all()
    db.session.rollback()
    return rows


def lease():
    db.session.rollback()
    row = db.session.execute(select(WorkerLease.holder, WorkerLease.expires_at)).first()
    db.session.rollback()
    return row


def held_by(worker) -> bool:
    row = lease()
    return row is not None and row.holder.split(":")[-2] == str(worker.pid) \
        and row.expires_at > datetime.now(UTC)


def delivered_once_each(smtp_server, addresses: list[str]) -> None:
    received = smtp_server.received
    per_address = Counter(r.rcpt_tos[0] for r in received)
    assert per_address == Counter(addresses), "each address gets exactly one email"
    for r in received:
        n = r.rcpt_tos[0].removeprefix("person").partition("@")[0]
        assert r.subject == f"Reminder {n}" and f"session {n} is" in r.body
    message_ids = Counter(r.message["Message-ID"] for r in received)
    assert all(count == 1 for count in message_ids.values()), "no message delivered twice"
    assert len(message_ids) == len(addresses)


def logs_hold_no_personal_data(*workers) -> None:
    for worker in workers:
        output = worker.output()
        assert "@example.org" not in output and "Reminder" not in output


def test_the_worker_sends_each_queued_email_once_and_keeps_polling(start_worker, smtp_server):
    first = queue(1, 3)
    worker = start_worker()

    wait_until(lambda: len(smtp_server.received) >= 3, 20, "the first three emails", [worker])
    later = queue(4, 2)
    wait_until(lambda: len(smtp_server.received) >= 5, 10, "the emails queued later", [worker])
    wait_until(lambda: all(r.status == OutboxStatus.SENT for r in outbox_rows()), 5,
               "every message marked sent", [worker])
    time.sleep(1.0)  # five more polls: nothing goes out again

    assert worker.is_running(), worker.output()
    delivered_once_each(smtp_server, first + later)
    logs_hold_no_personal_data(worker)


def test_one_worker_leads_and_a_standby_takes_over_when_it_dies(start_worker, smtp_server):
    # The first batch takes longer than the lease (16 x 0.25 s > 3 s): the leader must keep
    # its lease through the batch, or the standby would start sending beside it.
    smtp_server.handler.delay_rcpt = 0.25
    first = queue(1, 16)
    workers = [start_worker(WORKER_LEASE_SECONDS=3), start_worker(WORKER_LEASE_SECONDS=3)]

    wait_until(lambda: len(smtp_server.received) >= 16, 30, "the first batch", workers)
    wait_until(lambda: all(r.status == OutboxStatus.SENT for r in outbox_rows()), 5,
               "every message marked sent", workers)
    [leader] = [w for w in workers if held_by(w)]
    [standby] = [w for w in workers if w is not leader]
    senders = {r.claimed_by for r in outbox_rows()}
    assert len(senders) == 1, f"only the leader sends, but these did: {senders}"
    assert lease().holder in senders
    assert standby.is_running(), standby.output()

    leader.kill()
    smtp_server.handler.delay_rcpt = 0
    later = queue(17, 4)
    wait_until(lambda: len(smtp_server.received) >= 20, 15, "the standby to send", workers)
    wait_until(lambda: all(r.status == OutboxStatus.SENT for r in outbox_rows()), 5,
               "every message marked sent", workers)

    assert held_by(standby)
    later_senders = {r.claimed_by for r in outbox_rows() if r.to_address in later}
    assert later_senders == {lease().holder}
    delivered_once_each(smtp_server, first + later)
    logs_hold_no_personal_data(*workers)


def test_a_worker_killed_mid_batch_loses_and_repeats_nothing(start_worker, smtp_server):
    smtp_server.handler.delay_rcpt = 0.3
    addresses = queue(1, 20)
    settings = {"WORKER_LEASE_SECONDS": 1, "OUTBOX_STALE_CLAIM_SECONDS": 1.5}
    crashed = start_worker(**settings)

    # Kill it while the server is still answering RCPT: that message cannot have been
    # delivered, but it is claimed.
    wait_until(lambda: len(smtp_server.received) >= 3 and smtp_server.handler.rcpt_in_progress,
               20, "a few emails and one in the middle of RCPT", [crashed])
    crashed.kill()
    delivered_before_crash = len(smtp_server.received)
    rows = outbox_rows()
    statuses = Counter(r.status for r in rows)
    assert statuses[OutboxStatus.SENT] == delivered_before_crash
    assert statuses[OutboxStatus.SENDING] == 1
    [interrupted] = [r for r in rows if r.status == OutboxStatus.SENDING]

    smtp_server.handler.delay_rcpt = 0.02
    restarted = start_worker(**settings)
    wait_until(lambda: len(smtp_server.received) >= 20, 20, "every email after the restart",
               [crashed, restarted])
    wait_until(lambda: all(r.status == OutboxStatus.SENT for r in outbox_rows()), 5,
               "every message marked sent", [restarted])
    time.sleep(0.5)  # a few more polls: nothing goes out again

    delivered_once_each(smtp_server, addresses)
    [retried] = [r for r in outbox_rows() if r.id == interrupted.id]
    assert retried.claimed_by == lease().holder != interrupted.claimed_by
    logs_hold_no_personal_data(crashed, restarted)


def test_sigterm_stops_cleanly_and_hands_the_lease_over_at_once(start_worker, smtp_server):
    long_lease = 30
    worker = start_worker(WORKER_LEASE_SECONDS=long_lease)
    wait_until(lambda: held_by(worker), 20, "the worker to take the lease", [worker])

    assert worker.terminate() == 0, worker.output()
    assert lease().expires_at < datetime.now(UTC), "the lease is released on the way out"

    # A successor starts sending straight away, not after the 30 s lease would have run out.
    successor = start_worker(WORKER_LEASE_SECONDS=long_lease)
    addresses = queue(1, 1)
    wait_until(lambda: len(smtp_server.received) >= 1, 10, "the successor to send",
               [worker, successor])
    assert held_by(successor)
    delivered_once_each(smtp_server, addresses)
