"""Adding the same code in several requests at once keeps one link (real parallel transactions:
the unique constraint decides, not a check made before the insert)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engage.accounts.models import User
from engage.extensions import db as _db
from engage.feedback import services as feedback
from engage.feedback.models import ImpactFeedbackLink
from tests.conftest import POSTGRES_URL
from tests.factories import make_member
from tests.factories_feedback import give

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)"),
]


def test_simultaneous_adds_of_one_code_make_one_link(app, db):
    app.config["FEEDBACK_CODE_SCRYPT_N"] = 2**10
    person = make_member()
    given = give()
    db.session.commit()
    person_id, code = person.id, given.code
    attempts = 4
    barrier = threading.Barrier(attempts)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def add() -> None:
        with app.app_context():
            member = _db.session.get(User, person_id)
            barrier.wait(timeout=20)
            try:
                added = feedback.add_feedback_to_impact(member, code).added
                _db.session.commit()
            finally:
                _db.session.remove()
            with lock:
                outcomes.append(added)

    threads = [threading.Thread(target=add) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == [False] * (attempts - 1) + [True]
    assert db.session.scalar(select(func.count()).select_from(ImpactFeedbackLink)) == 1
