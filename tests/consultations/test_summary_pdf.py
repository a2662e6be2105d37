"""Results export as a PDF summary alongside the CSV: the published rules (small numbers
hidden, only the answers people agreed may be quoted), every kind of question, any script."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from engage.consultations import services
from engage.consultations.models import ConsultationState, QuestionKind
from engage.core.models import AuditEvent
from engage.core.permissions import Role
from tests.factories import make_member, make_staff
from tests.factories_consultations import add_question_types, make_consultation, question
from tests.factories_panels import PersonClient, make_membership, make_panel


def _text(body: bytes) -> str:
    return " ".join(" ".join((page.extract_text() or "").split())
                    for page in PdfReader(io.BytesIO(body)).pages)


@pytest.fixture
def answered(db):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator])
    consultation = make_consultation(panel=panel, created_by=facilitator,
                                     title="Si\u00e2n\u2019s review of support")
    made = add_question_types(consultation)
    members = [make_member() for _ in range(6)]
    for person in members:
        make_membership(panel, person)
    db.session.commit()
    text_q = question(consultation, QuestionKind.FREE_TEXT)
    for n, person in enumerate(members):
        data = MultiDict({f"q{question(consultation, QuestionKind.SINGLE_CHOICE).id}": "1",
                          f"q{made['ranking'].id}-rank-2": "1",
                          f"q{made['matrix'].id}-1": "3"})
        if n == 0:
            data.update({f"q{text_q.id}": "Being believed \u2013 that mattered most.",
                         f"q{text_q.id}-consent": "public"})
        if n == 1:
            data.update({f"q{text_q.id}": "Only for the team: my private story.",
                         f"q{text_q.id}-consent": "internal"})
        if n == 2:
            data.add(f"q{made['dropdown'].id}", "3")
        parsed, errors = services.parse_answers(consultation, data, enforce_required=True)
        assert not errors, errors
        services.submit_answers(person, consultation, parsed)
    consultation.state = ConsultationState.CLOSED
    db.session.commit()
    return facilitator, consultation


def test_results_export_as_a_pdf_summary_alongside_the_csv(app, db, answered):
    facilitator, consultation = answered
    staff = PersonClient(app, facilitator)
    page = staff.get(f"/consultations/{consultation.id}/responses").get_data(as_text=True)
    assert "Download all answers (CSV)" in page
    assert "Download a summary to share (PDF)" in page
    response = staff.get(f"/consultations/{consultation.id}/summary.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = _text(response.get_data())
    assert "Results: Si\u00e2n\u2019s review of support" in text, "names print as typed"
    assert "Number of responses: 6." in text
    assert "Have you used the service?" in text and "Yes 6" in text
    assert "No fewer than 5" in text, "small numbers are hidden as on the results page"
    assert "East fewer than 5" in text
    assert "Being believed \u2013 that mattered most." in text
    assert "my private story" not in text, "only answers their authors let us quote"
    assert "Ranked first" in text and "Kindness 6" in text
    assert "Staff listened" in text and "Agree 6" in text
    audit = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "consultation.summary_exported")).all()
    assert len(audit) == 1 and audit[0].actor_id == facilitator.id


def test_only_people_who_manage_the_consultation_get_the_pdf(app, db, answered):
    _, consultation = answered
    other = make_staff(Role.FACILITATOR)
    member = make_member()
    db.session.commit()
    assert PersonClient(app, other).get(
        f"/consultations/{consultation.id}/summary.pdf").status_code == 404
    assert PersonClient(app, member).get(
        f"/consultations/{consultation.id}/summary.pdf").status_code == 403
