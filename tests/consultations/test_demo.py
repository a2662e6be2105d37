"""Demo data: two panels, an open consultation with answers, published results; safe twice."""

from __future__ import annotations

from sqlalchemy import func, select

from engage.consultations import services
from engage.consultations.models import Consultation, ConsultationState
from engage.demo import seed_demo
from engage.panels.models import Panel, PanelStaffRole


def test_demo_seeds_panels_and_consultations_once(app, db):
    first = seed_demo()
    seed_demo()
    assert any("Survivors' Voice Panel" in line for line in first)
    assert db.session.scalar(select(func.count()).select_from(Panel)) == 2
    survivor = db.session.scalar(select(Panel).where(Panel.name == "Survivors' Voice Panel"))
    leads = survivor.staff_with_role(PanelStaffRole.LIVED_EXPERIENCE_LEAD)
    assert [u.username for u in leads] == ["demo-member2"]
    consultations = {c.state: c for c in db.session.scalars(select(Consultation))}
    assert len(consultations) == 2
    open_one = consultations[ConsultationState.OPEN]
    assert open_one.is_accepting_answers() and services.response_count(open_one) >= 4
    assert any(part.content_note for part in open_one.parts)
    published = consultations[ConsultationState.PUBLISHED]
    results = services.results(published, published=True)
    shown = [o.published for r in results for o in r.options]
    assert "fewer than 5" in shown and any(s.isdigit() for s in shown)


def test_demo_results_page_renders(app, db, client):
    seed_demo()
    published = db.session.scalar(select(Consultation).where(
        Consultation.state == ConsultationState.PUBLISHED))
    html = client.get(f"/consultations/{published.id}/results").get_data(as_text=True)
    assert html.count("<svg") == 2 and "fewer than 5" in html
    assert "Overnight, please." in html and "A call-back service would help." not in html
