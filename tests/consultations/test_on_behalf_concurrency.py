"""Two members of staff entering the same person's answers at the same moment (real parallel
transactions on PostgreSQL): one is kept, the other is told, nothing is mixed or doubled."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engage.accounts.models import User
from engage.consultations import services
from engage.consultations.answers import AnswerInput
from engage.consultations.models import Consultation, Response
from engage.core.permissions import Role
from engage.errors import InvalidState
from engage.extensions import db as _db
from tests.conftest import POSTGRES_URL
from tests.factories import make_member, make_staff
from tests.factories_consultations import make_consultation, question
from tests.factories_panels import make_membership, make_panel

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)"),
]


def _enter_at_once(app, staff_ids: list[int], consultation_id: int, member_id: int) -> list:
    barrier = threading.Barrier(len(staff_ids))
    outcomes: list[str] = []
    lock = threading.Lock()

    def enter(staff_id: int, words: str) -> None:
        with app.app_context(), app.test_request_context("/"):
            staff = _db.session.get(User, staff_id)
            consultation = _db.session.get(Consultation, consultation_id)
            free_text = question(consultation, "free_text").id
            barrier.wait()
            try:
                services.answer_on_behalf(
                    staff, consultation, {free_text: AnswerInput(text=words, consent="internal")},
                    method="phone", consented=True, member_id=member_id)
                _db.session.commit()
                result = words
            except InvalidState:
                _db.session.rollback()
                result = "refused"
            finally:
                _db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=enter, args=(sid, f"Entered by {n}"))
               for n, sid in enumerate(staff_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.parametrize("with_draft", [False, True])
def test_the_same_persons_answers_entered_twice_at_once_are_kept_once(app, db, with_draft):
    staff = [make_staff(Role.FACILITATOR) for _ in range(3)]
    river = make_member(display_name="River")
    panel = make_panel(facilitators=staff)
    make_membership(panel, river)
    consultation = make_consultation(panel=panel)
    if with_draft:
        with app.test_request_context("/"):
            free_text = question(consultation, "free_text").id
            services.save_draft(river, consultation, {
                free_text: AnswerInput(text="Half", consent="internal")})
    db.session.commit()

    outcomes = _enter_at_once(app, [s.id for s in staff], consultation.id, river.id)

    db.session.expire_all()
    kept = [o for o in outcomes if o != "refused"]
    assert len(kept) == 1 and outcomes.count("refused") == 2
    [response] = db.session.scalars(select(Response)).all()
    assert [a.text for a in response.answers] == kept
    assert response.entry_method == "phone"
