"""One unit of work per request and per job: a failed request leaves nothing written, a
successful one commits once, and a use case whose error is shown on the form leaves nothing
half done."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from flask import Blueprint
from sqlalchemy import event, insert, select

from engage import DOMAINS
from engage.core import audit, clock
from engage.core.models import AuditEvent
from engage.core.unit_of_work import atomic
from engage.core.wiring import Job
from engage.errors import DomainError, ValidationFailed
from engage.extensions import csrf
from engage.extensions import db as _db
from engage.worker import Worker
from tests.conftest import csrf_from, make_app
from tests.factories import make_member, sign_in


@contextmanager
def commits() -> Iterator[list[int]]:
    """Counts the commits of the session while the block runs."""
    seen: list[int] = []

    def count(session) -> None:
        seen.append(1)

    event.listen(_db.session, "after_commit", count)
    try:
        yield seen
    finally:
        event.remove(_db.session, "after_commit", count)


def actions() -> list[str]:
    _db.session.rollback()  # a fresh look at what was committed
    return list(_db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@atomic
def half_done_use_case() -> None:
    audit.record("example.half_done")
    raise ValidationFailed("That could not be saved: check the form.")


def _example_routes(app) -> None:
    bp = Blueprint("example", __name__)

    @bp.post("/example/save")
    def save():
        audit.record("example.saved")
        return "saved"

    @bp.post("/example/save-then-fail")
    def save_then_fail():
        audit.record("example.saved")
        raise ValidationFailed("That could not be saved: check the form.")

    @bp.post("/example/show-the-error")
    def show_the_error():
        audit.record("example.page_seen")
        try:
            half_done_use_case()
        except DomainError as error:
            return error.message
        return "saved"

    @bp.route("/example/statement", methods=["GET", "POST"])
    def statement():
        _db.session.execute(insert(AuditEvent).values(
            action="example.by_statement", occurred_at=clock.now()))
        return "saved"

    @bp.get("/example/read-then-write-by-connection")
    def read_then_write_by_connection():
        _db.session.scalar(select(AuditEvent.id))
        _db.session.connection().execute(insert(AuditEvent).values(
            action="example.by_connection", occurred_at=clock.now()))
        return "saved"

    csrf.exempt(bp)
    app.register_blueprint(bp)


def _example_app():
    return make_app(domains=(*DOMAINS, SimpleNamespace(init_app=_example_routes)))


@pytest.mark.parametrize(("method", "path", "written"), [
    ("POST", "/example/save", "example.saved"),
    # Written by a statement, not an object: no object is new or changed in the session.
    ("POST", "/example/statement", "example.by_statement"),
    # A GET request that writes: a request that only read is not committed (there is
    # nothing to commit), so what a GET writes must still be seen and kept.
    ("GET", "/example/statement", "example.by_statement"),
    ("GET", "/example/read-then-write-by-connection", "example.by_connection"),
])
def test_a_successful_request_commits_once(method, path, written):
    app = _example_app()
    with app.app_context():
        _db.create_all()
        with commits() as seen:
            response = app.test_client().open(path, method=method)
        assert response.status_code == 200
        assert len(seen) == 1
        assert actions() == [written]


def test_a_failed_request_leaves_nothing_written():
    app = _example_app()
    with app.app_context():
        _db.create_all()
        with commits() as seen:
            response = app.test_client().post("/example/save-then-fail")
        assert response.status_code == 400
        assert "check the form" in response.get_data(as_text=True)
        assert seen == []
        assert actions() == []


def test_an_error_shown_on_the_form_undoes_only_the_failed_use_case():
    app = _example_app()
    with app.app_context():
        _db.create_all()
        with commits() as seen:
            response = app.test_client().post("/example/show-the-error")
        assert "check the form" in response.get_data(as_text=True)
        assert len(seen) == 1
        assert actions() == ["example.page_seen"]


def test_changing_contact_details_commits_once(app, browser_like):
    person = make_member()
    _db.session.commit()
    sign_in(browser_like, person)
    page = browser_like.get("/account/contact")
    with commits() as seen:
        browser_like.client.post("/account/contact", data={
            "email": "river@example.org", "email_is_safe": "y", "discreet_mode": "on",
            "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert len(seen) == 1
    _db.session.rollback()
    assert _db.session.get(type(person), person.id).email == "river@example.org"


def test_a_worker_job_is_one_unit_of_work(app):
    def writes(worker_id: str) -> int:
        audit.record("example.job_ran")
        return 1

    def fails(worker_id: str) -> int:
        audit.record("example.job_failed")
        raise RuntimeError("the job broke half way")

    worker = Worker(app)
    with commits() as seen:
        worker._run(Job("fails", fails, 0))
        worker._run(Job("writes", writes, 0))
    assert len(seen) == 1
    assert actions() == ["example.job_ran"]
