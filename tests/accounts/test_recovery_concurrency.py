"""A recovery code brought by two requests at the same moment is used once (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest

from engage.accounts import services
from engage.accounts.models import User
from engage.extensions import db
from tests.conftest import POSTGRES_URL
from tests.factories import make_member

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (set TEST_DATABASE_URL)"),
]


def test_one_recovery_code_brought_twice_at_once_is_used_once(app):
    user = make_member()
    code = services.issue_recovery_codes(user)[0]
    db.session.commit()
    user_id, attempts = user.id, 4
    barrier = threading.Barrier(attempts)
    results: list[bool] = []

    def attempt() -> None:
        with app.app_context():
            try:
                person = db.session.get(User, user_id)
                list(person.recovery_codes)  # loaded before any of them is used
                barrier.wait(timeout=30)
                results.append(services.use_recovery_code(person, code))
                db.session.commit()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [False] * (attempts - 1) + [True]
    db.session.expire_all()
    assert services.unused_recovery_code_count(db.session.get(User, user_id)) == \
        services.RECOVERY_CODE_COUNT - 1
