"""Size limits hold when facilitators accept at the same moment (real parallel transactions)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engage.accounts.models import User
from engage.core.permissions import Role
from engage.errors import InvalidState
from engage.extensions import db as _db
from engage.panels import services
from engage.panels.models import MembershipState, Panel, PanelMembership
from tests.conftest import POSTGRES_URL
from tests.factories import make_member, make_staff
from tests.factories_panels import make_panel

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)"),
]


def _accept_all_at_once(app, facilitator_id: int, membership_ids: list[int]) -> list[str]:
    barrier = threading.Barrier(len(membership_ids))
    outcomes: list[str] = []
    lock = threading.Lock()

    def accept(membership_id: int) -> None:
        with app.app_context(), app.test_request_context("/"):
            facilitator = _db.session.get(User, facilitator_id)
            membership = _db.session.get(PanelMembership, membership_id)
            barrier.wait()
            try:
                services.accept_application(facilitator, membership, "Welcome")
                _db.session.commit()
                result = "accepted"
            except InvalidState:
                _db.session.rollback()
                result = "refused"
            finally:
                _db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=accept, args=(mid,)) for mid in membership_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_parallel_acceptances_never_overfill_a_panel(app, db):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator], size_limit=2)
    with app.test_request_context("/"):
        ids = [services.apply_to_panel(make_member(), panel, accepted_agreement=True).id
               for _ in range(8)]
    db.session.commit()

    outcomes = _accept_all_at_once(app, facilitator.id, ids)

    db.session.expire_all()
    assert sorted(outcomes) == ["accepted"] * 2 + ["refused"] * 6
    assert db.session.get(Panel, panel.id).member_count == 2
    active = db.session.scalar(select(func.count()).select_from(PanelMembership).where(
        PanelMembership.panel_id == panel.id, PanelMembership.state == MembershipState.ACTIVE))
    assert active == 2


def test_the_same_application_accepted_twice_at_once_counts_once(app, db):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator], size_limit=10)
    with app.test_request_context("/"):
        membership_id = services.apply_to_panel(make_member(), panel,
                                                accepted_agreement=True).id
    db.session.commit()

    outcomes = _accept_all_at_once(app, facilitator.id, [membership_id] * 4)

    db.session.expire_all()
    assert sorted(outcomes) == ["accepted"] + ["refused"] * 3
    assert db.session.get(Panel, panel.id).member_count == 1
