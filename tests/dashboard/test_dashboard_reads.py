"""The dashboard's own reads (its filter's choices, its kept figures, the person's work queues)
come with the signed-in person's query (views.index_reads): the page shows exactly what it
showed when it read them itself, the queues are counted on every visit, and nothing read with
someone who may not see the dashboard reaches them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select

from engage.accounts.models import UserRole
from engage.changes.models import ChangeEntry
from engage.core import clock, wiring
from engage.core.permissions import Role
from engage.dashboard.snapshots import precompute_dashboard
from engage.panels.models import Panel
from engage.payments import services as payment_services
from tests.core.test_staff_queues import queues, signed_in
from tests.factories import make_member, make_staff
from tests.factories_feedback import make_entry, make_feedback
from tests.factories_panels import make_panel
from tests.factories_payments import make_claim

# Names that only come back whole if the choices' text is taken apart correctly.
PANEL_NAMES = ('Voices, "quoted", and more', "Café für Überlebende", "a:1:b", "Back\\slash",
               "Zed panel", "apple panel")
ORGANISATIONS = ("Police, Crime & Justice", 'The "Hub"', "Ünïcode Trust")
FEEDBACK_FIGURE = re.compile(r'id="figure-feedback-by-month".{0,4000}', re.S)
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="[^"]*"')


@pytest.fixture
def kept(app):
    app.config["DASHBOARD_FIGURES_MAX_AGE"] = 600


def _programme() -> None:
    for name in PANEL_NAMES:
        make_panel(name=name)
    for organisation in ORGANISATIONS:
        make_entry(organisation=organisation)


def _page(visitor, path: str = "/dashboard") -> str:
    response = visitor.get(path)
    assert response.status_code == 200
    return TOKEN.sub("", response.get_data(as_text=True))


def _options(html: str, name: str) -> list[tuple[str, str]]:
    select_html = html.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select_html)


def _escaped(text: str) -> str:
    return str(escape(text))


def _read_by_the_view(monkeypatch) -> None:
    """Nothing is kept of what was read with the person: the page reads it all itself."""
    monkeypatch.setattr(wiring, "sent_early", lambda reads, rows: None)


def test_the_page_is_the_same_whether_its_reads_came_with_the_person_or_not(
        app, db, kept, monkeypatch):
    _programme()
    make_feedback()
    lead = make_staff(Role.PROGRAMME_LEAD)
    visitor = signed_in(app, lead)
    panel_id = db.session.scalar(select(Panel.id).where(Panel.name == PANEL_NAMES[0]))
    paths = ("/dashboard", f"/dashboard?panel={panel_id}&question=age",
             "/dashboard?organisation=Police%2C+Crime+%26+Justice",
             "/dashboard?panel=999999", "/dashboard?start=2026-05-01&end=2026-01-01")
    with clock.frozen(clock.now()):
        for path in paths:
            _page(visitor, path)  # works the figures out and keeps them
        early = [_page(visitor, path) for path in paths]
        _read_by_the_view(monkeypatch)
        assert [_page(visitor, path) for path in paths] == early
    panels = db.session.execute(select(Panel.id, Panel.name).order_by(Panel.name)).all()
    assert _options(early[0], "panel") == [("", "All panels")] + [
        (str(i), _escaped(name)) for i, name in panels]
    organisations = db.session.scalars(
        select(ChangeEntry.organisation).distinct().order_by(ChangeEntry.organisation)).all()
    assert _options(early[0], "organisation") == [("", "All organisations")] + [
        (_escaped(name), _escaped(name)) for name in organisations]


def test_queue_counts_follow_new_work_on_every_visit_while_the_figures_stay_kept(
        app, db, kept):
    lead = make_staff(Role.PROGRAMME_LEAD)
    visitor = signed_in(app, lead)
    start = clock.now()
    with clock.frozen(start):
        first = _page(visitor)
        assert queues(visitor, "/dashboard")["Feedback to triage"][:2] == (0, "0 new items")
        assert queues(visitor, "/dashboard")["Claims to check"][:2] == (0, "0 claims")
        for _ in range(3):
            make_feedback()
        member = make_member()
        payment_services.submit_claim(member, make_claim(member, lead))
        db.session.commit()
        shown = queues(visitor, "/dashboard")
        assert shown["Feedback to triage"][:2] == (3, "3 new items")
        assert shown["Claims to check"][:2] == (1, "1 claim")
        assert FEEDBACK_FIGURE.search(_page(visitor))[0] == FEEDBACK_FIGURE.search(first)[0]
    with clock.frozen(start + timedelta(minutes=11)):  # the kept figures are too old now
        fresh = _page(visitor)
        assert FEEDBACK_FIGURE.search(fresh)[0] != FEEDBACK_FIGURE.search(first)[0]
        assert queues(visitor, "/dashboard")["Feedback to triage"][0] == 3


def test_figures_the_worker_works_out_again_are_shown_at_the_next_visit(app, db, kept):
    visitor = signed_in(app, make_staff(Role.PROGRAMME_LEAD))
    start = clock.now()
    with clock.frozen(start):
        first = _page(visitor)
        for _ in range(4):
            make_feedback()
        db.session.commit()
        assert FEEDBACK_FIGURE.search(_page(visitor))[0] == FEEDBACK_FIGURE.search(first)[0]
    with clock.frozen(start + timedelta(minutes=1)):
        precompute_dashboard("test-worker")
        db.session.commit()
    with clock.frozen(start + timedelta(minutes=2)):
        again = _page(visitor)
    assert FEEDBACK_FIGURE.search(again)[0] != FEEDBACK_FIGURE.search(first)[0]
    assert "4" in FEEDBACK_FIGURE.search(again)[0]


def test_a_new_role_shows_its_queue_at_the_next_visit(app, db, kept):
    lead = make_staff(Role.PROGRAMME_LEAD)
    other_lead = make_staff(Role.FACILITATOR)
    member = make_member()
    claim = make_claim(member, other_lead)
    payment_services.submit_claim(member, claim)
    payment_services.lead_approve(other_lead, claim)
    visitor = signed_in(app, lead)
    assert list(queues(visitor, "/dashboard")) == [
        "Feedback to triage", "Entries to approve", "Claims to check"]
    assert "Claims to approve for payment" not in queues(visitor, "/dashboard")
    db.session.add(UserRole(user_id=lead.id, role=Role.FINANCE.value))
    db.session.commit()
    shown = queues(visitor, "/dashboard")
    assert shown["Claims to approve for payment"][:2] == (1, "1 claim")
    assert list(shown)[:3] == ["Feedback to triage", "Entries to approve", "Claims to check"]


def test_nothing_read_with_someone_who_may_not_see_the_dashboard_reaches_them(app, db, kept):
    _programme()
    lead = make_staff(Role.PROGRAMME_LEAD)
    make_feedback()
    as_lead = signed_in(app, lead)
    _page(as_lead)  # the figures are kept
    for person in (make_member(), make_staff(Role.FACILITATOR), make_staff(Role.FINANCE)):
        visitor = signed_in(app, person)
        queues(visitor)  # a page with the queues, counted for them
        for _ in range(2):
            response = visitor.get("/dashboard")
            page = response.get_data(as_text=True)
            assert response.status_code == 403
            assert "Figures worked out at" not in page and PANEL_NAMES[4] not in page
            assert "Your work queues" not in page
