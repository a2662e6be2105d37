"""The scheduler process: `flask --app engage.wsgi engage worker`.

APScheduler runs one polling tick every WORKER_POLL_SECONDS. A tick first takes (or renews)
the leader lease in the database; a worker without the lease stands by. While it leads, a
heartbeat renews the lease several times per WORKER_LEASE_SECONDS, so a tick that runs longer
than the lease (a big batch, a slow SMTP server) does not let a standby take over beside it.
Jobs are polling jobs over database state, so a restarted or duplicated worker neither loses nor
repeats work. Jobs live in <domain>/tasks.py and are registered by each domain's init_app
(`wiring.add_job`), so the worker runs what the app's registry holds, in the domains' order,
with the jobs that deliver what others queued (the email outbox) last.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from engage.core import leases
from engage.core.wiring import Job, registries
from engage.extensions import db

log = logging.getLogger("engage.worker")
LEASE_NAME = "worker"


def jobs_of(app: Flask) -> list[Job]:
    """Every registered job in the order a tick runs them."""
    jobs = list(registries(app).jobs.values())
    return [job for job in jobs if not job.after_others] + [job for job in jobs
                                                             if job.after_others]


class Worker:
    def __init__(self, app: Flask) -> None:
        self.app = app
        # Fits the 80 characters the lease and outbox columns hold, whatever the host name.
        self.worker_id = f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.last_run: dict[str, float] = {}
        self.is_leader = False
        self._ticking = threading.Lock()

    def tick(self) -> None:
        with self._ticking, self.app.app_context():
            lease = self.app.config["WORKER_LEASE_SECONDS"]
            leader = leases.acquire(LEASE_NAME, self.worker_id, lease)
            if leader != self.is_leader:
                log.info("worker %s is %s", self.worker_id,
                         "now the active worker" if leader else "standing by")
                self.is_leader = leader
            if not leader:
                return
            for job in jobs_of(self.app):
                self._run(job)
            db.session.remove()

    def _run(self, job: Job) -> None:
        now = time.monotonic()
        if job.every and now - self.last_run.get(job.name, -job.every) < job.every:
            return
        self.last_run[job.name] = now
        try:
            result = job.run(self.worker_id)
            db.session.commit()  # the job's unit of work: one commit, or nothing on failure
            if result:
                log.info("job %s: %s", job.name, result)
        except Exception:
            db.session.rollback()  # a failed job leaves nothing written
            log.exception("job %s failed", job.name)

    def heartbeat(self) -> None:
        """Renew the lease while leading, also in the middle of a long tick."""
        if not self.is_leader:
            return
        with self.app.app_context():
            if not leases.acquire(LEASE_NAME, self.worker_id,
                                  self.app.config["WORKER_LEASE_SECONDS"]):
                log.warning("worker %s lost the lease", self.worker_id)
                self.is_leader = False
            db.session.remove()

    def stop(self) -> None:
        # A tick still running finishes first, so the lease is not handed over while this
        # worker is still sending.
        with self._ticking, self.app.app_context():
            if self.is_leader:
                leases.release(LEASE_NAME, self.worker_id)
                self.is_leader = False


def run_worker(app: Flask, *, once: bool = False) -> None:
    worker = Worker(app)
    if once:
        worker.tick()
        worker.stop()
        return
    # The executor logs two lines for every tick and heartbeat; job failures still show.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(worker.tick, "interval", seconds=app.config["WORKER_POLL_SECONDS"],
                      id="tick", max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC))
    scheduler.add_job(worker.heartbeat, "interval",
                      seconds=app.config["WORKER_LEASE_SECONDS"] / 3,
                      id="heartbeat", max_instances=1, coalesce=True)

    def shutdown(signum, frame):
        if not scheduler.running:  # a second signal while stopping
            return
        log.info("worker %s stopping", worker.worker_id)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    log.info("worker %s started; polling every %ss", worker.worker_id,
             app.config["WORKER_POLL_SECONDS"])
    try:
        scheduler.start()
    finally:
        worker.stop()
