"""One way to wire a domain: each package's init_app fills registries that belong to the app,
in the dependency order, refusing duplicates and late additions."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import g
from sqlalchemy import bindparam, delete, event, func, select

import engage
from engage import DOMAINS
from engage.accounts.models import UserSession
from engage.core import wiring
from engage.core.models import Notification
from engage.core.wiring import RegistrationError, registries
from engage.dashboard.sections import DASHBOARD_SECTIONS
from engage.events.signals import register_finalised
from tests.conftest import make_app
from tests.core.test_staff_queues import signed_in
from tests.factories import make_member
from tests.factories_consultations import make_consultation

ENGAGE_DIR = Path(engage.__file__).parent


def test_building_the_app_twice_gives_the_same_registries():
    first, second = registries(make_app()), registries(make_app())
    assert first == second
    assert all(len(registry) for registry in first.all()), "every kind of registration is used"


def test_each_domain_package_wires_itself_in_the_dependency_order():
    names = [domain.__name__.removeprefix("engage.") for domain in DOMAINS]
    assert names == ["core", "accounts", "panels", "consultations", "feedback", "events",
                     "changes", "payments", "equality", "lifecycle", "dashboard"]
    packages = {path.parent.name for path in ENGAGE_DIR.glob("*/__init__.py")
                if path.parent.name not in {"demo", "migrations", "static", "templates",
                                             "translations"}}
    assert packages == set(names), "a domain package that create_app does not wire"
    assert all(callable(getattr(domain, "init_app", None)) for domain in DOMAINS)


def test_the_factory_has_no_side_effect_imports():
    source = (ENGAGE_DIR / "__init__.py").read_text()
    assert "noqa: F401" not in source
    tree = ast.parse(source)
    function_imports = [node for function in ast.walk(tree)
                        if isinstance(function, ast.FunctionDef)
                        for node in ast.walk(function)
                        if isinstance(node, ast.Import | ast.ImportFrom)]
    assert function_imports == []


def test_a_second_registration_of_the_same_job_is_refused():
    def twice(app):
        wiring.add_job(app, "send_outbox", lambda worker_id: None, every=0)

    with pytest.raises(RegistrationError, match=r"send_outbox.*registered twice"):
        make_app(domains=(*DOMAINS, SimpleNamespace(init_app=twice)))


def test_two_domains_cannot_declare_the_same_table():
    from engage.accounts.personal_data import KINDS

    def again(app):
        wiring.add_personal_data(app, KINDS[0])

    with pytest.raises(RegistrationError, match="registered twice"):
        make_app(domains=(*DOMAINS, SimpleNamespace(init_app=again)))


def test_a_registration_after_the_app_is_set_up_is_refused():
    app = make_app()
    with pytest.raises(RegistrationError, match="after the app was set up"):
        wiring.add_hook(app, DASHBOARD_SECTIONS, lambda filters: None)
    with pytest.raises(RegistrationError, match="after the app was set up"):
        wiring.connect(app, register_finalised, lambda event, **extra: None)


def test_signals_reach_only_the_receivers_of_the_app_that_sends_them():
    something_happened = wiring.Signal("tests.something_happened")
    heard = []

    def listen(app):
        wiring.connect(app, something_happened, lambda sender, **extra: heard.append(sender))

    listening = make_app(domains=(*DOMAINS, SimpleNamespace(init_app=listen)))
    other = make_app()
    with other.app_context():
        something_happened.send("from the other app")
    with listening.app_context():
        something_happened.send("from this app")
    assert heard == ["from this app"]


def test_reads_sent_with_the_person_are_used_once_and_only_when_they_are_the_same(app, db):
    """wiring.rows_sent_with_person: rows read early serve the very same statement with the same
    parameters, once; a read that differs (a guess that was wrong) is read there and then."""
    statement = select(func.count()).select_from(Notification).where(
        Notification.user_id == bindparam("user_id"))
    member = make_member()
    db.session.add(Notification(user_id=member.id, title="Waiting"))
    db.session.commit()
    with app.test_request_context("/"):
        wiring.sent_early([(statement, {"user_id": member.id})], [[(41,)]])
        assert wiring.rows_sent_with_person(db.session, (statement, {"user_id": 0})) == [[(0,)]]
        assert wiring.rows_sent_with_person(
            db.session, (statement, {"user_id": member.id})) == [[(41,)]]  # read early
        assert wiring.rows_sent_with_person(
            db.session, (statement, {"user_id": member.id})) == [[(1,)]]  # once: now afresh


def test_the_pages_reads_go_with_the_person_only_for_someone_still_signed_in(app, db):
    """The consultation page's read is joined to the person's query; when the cookie's
    server-side session has ended, nothing read early is kept for the page."""
    member = make_member()
    consultation = make_consultation()
    visitor = signed_in(app, member)
    path = f"/consultations/{consultation.id}"
    visitor.get(path)  # may show the message from signing in: drawn, not kept
    visitor.get(path)  # kept
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_rest) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert visitor.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == 1 and "FROM users" in seen[0] and "FROM consultations" in seen[0]
    db.session.execute(delete(UserSession).where(UserSession.user_id == member.id))
    db.session.commit()
    with app.test_request_context(path):
        response = visitor.client.get(path)
        assert not g.get(wiring.SENT_WITH_PERSON)
    assert "Sign out" not in response.get_data(as_text=True)


def test_reads_joined_to_the_persons_query_may_share_a_parameter_only_with_one_value():
    """Two reads that both use the person's id can go in one query; two that give one name
    different values would read with the wrong one, so they are refused."""
    person = {"user_id": 7, "session_key": "k"}
    reads = [("first", {"user_id": 7, "consultation_id": 3}), ("second", None)]
    assert wiring.joined_params(person, reads) == {"user_id": 7, "session_key": "k",
                                                   "consultation_id": 3}
    assert person == {"user_id": 7, "session_key": "k"}
    with pytest.raises(ValueError, match="user_id"):
        wiring.joined_params(person, [("other", {"user_id": 8})])
