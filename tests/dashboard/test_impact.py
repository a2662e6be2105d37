"""A member's impact page: named answers listed, anonymous ones only as a count."""

from __future__ import annotations

from types import SimpleNamespace

from engage import DOMAINS
from engage.consultations.models import ConsultationState
from engage.core import wiring
from engage.dashboard.impact import IMPACT_SECTIONS, ImpactSection, impact_for
from engage.extensions import db as _db
from tests.conftest import make_app
from tests.consultations.test_services import answer
from tests.factories import make_member, sign_in
from tests.factories_consultations import make_consultation
from tests.factories_panels import make_membership, make_panel


def test_impact_lists_panels_and_named_answers_and_counts_anonymous_ones(
        db, browser_like, request_ctx):
    person = make_member()
    make_membership(make_panel(name="Survivor voices"), person)
    named = make_consultation(title="Waiting times")
    secret = make_consultation(title="Hidden topic", anonymous=True)
    answer(person, named, single="1")
    answer(person, secret, single="1")
    named.state = ConsultationState.PUBLISHED
    db.session.commit()
    sign_in(browser_like, person)
    page = browser_like.get("/impact").get_data(as_text=True)
    assert "Survivor voices" in page
    assert "Waiting times" in page and "Results published" in page
    assert f"/consultations/{named.id}/results" in page
    assert "You also took part in 1 anonymous consultation." in page
    assert "Hidden topic" not in page


def test_someone_new_is_told_kindly_there_is_nothing_yet(db, browser_like):
    person = make_member()
    db.session.commit()
    sign_in(browser_like, person)
    page = browser_like.get("/impact").get_data(as_text=True)
    assert "You have not joined a panel yet." in page
    assert "You have not answered a consultation with your name yet." in page


def events_attended_twice(user):
    return ImpactSection("events", "Events", "You attended 2 events.")


def test_later_domains_add_sections():
    extra = SimpleNamespace(init_app=lambda app: wiring.add_hook(app, IMPACT_SECTIONS,
                                                                 events_attended_twice))
    app = make_app(domains=(*DOMAINS, extra))
    with app.app_context(), app.test_request_context():
        _db.create_all()
        assert impact_for(make_member())[-1].summary == "You attended 2 events."
