"""Programmes: who manages them, the pages, and choosing a panel's programme."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engage.core.models import AuditEvent
from engage.core.permissions import Role
from engage.errors import NotAllowed, ValidationFailed
from engage.panels import programmes, services
from engage.panels.models import Panel, Programme
from tests.factories import make_member, make_staff
from tests.factories_panels import PersonClient, make_panel
from tests.factories_programmes_advances import make_programme, put_in_programme


def _html(response) -> str:
    return response.get_data(as_text=True)


# --- services --------------------------------------------------------------------------------


def test_admins_and_programme_leads_manage_programmes_others_cannot(db):
    for role in (Role.ADMIN, Role.PROGRAMME_LEAD):
        assert programmes.create_programme(make_staff(role), name=f"Programme {role}")
    for person in (make_member(), make_staff(Role.FACILITATOR), make_staff(Role.FINANCE)):
        with pytest.raises(NotAllowed):
            programmes.create_programme(person, name="Not allowed")


def test_names_are_unique_whatever_the_case_and_spacing(db):
    admin = make_staff(Role.ADMIN)
    programmes.create_programme(admin, name="Survivor voice")
    with pytest.raises(ValidationFailed, match="already a programme"):
        programmes.create_programme(admin, name="  survivor   VOICE ")
    other = programmes.create_programme(admin, name="Police and crime")
    with pytest.raises(ValidationFailed, match="already a programme"):
        programmes.update_programme(admin, other, name="SURVIVOR VOICE", description="",
                                    is_active=True)
    with pytest.raises(ValidationFailed, match="Enter a name"):
        programmes.create_programme(admin, name="   ")


def test_renaming_and_deactivating_is_audited_and_panels_keep_the_programme(db):
    admin = make_staff(Role.ADMIN)
    programme = programmes.create_programme(admin, name="Old name", description="2025 grant")
    panel = put_in_programme(make_panel(), programme)
    programmes.update_programme(admin, programme, name="New name", description="2026 grant",
                                is_active=False)
    assert (programme.name, programme.description, programme.is_active) == (
        "New name", "2026 grant", False)
    assert panel.programme_id == programme.id
    actions = set(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "programme")))
    assert actions == {"programme.created", "programme.updated", "programme.deactivated"}
    assert programmes.active_programmes() == []


def test_a_panel_joins_only_an_active_programme_chosen_by_someone_allowed(db):
    lead, facilitator = make_staff(Role.PROGRAMME_LEAD), make_staff(Role.FACILITATOR)
    active, ended = make_programme("Active"), make_programme("Ended", active=False)
    panel = make_panel(facilitators=[facilitator])
    details = services.PanelDetails(name=panel.name, purpose="p", involvement_level=3,
                                    facilitator_ids=(facilitator.id,))
    services.update_panel(lead, panel, _with(details, active.id))
    assert panel.programme_id == active.id
    with pytest.raises(ValidationFailed, match="programmes listed"):
        services.update_panel(lead, panel, _with(details, ended.id))
    with pytest.raises(NotAllowed):
        services.update_panel(facilitator, panel, _with(details, None))
    # without choosing (the facilitator's form has no programme field) nothing changes
    services.update_panel(facilitator, panel, details)
    assert panel.programme_id == active.id


def _with(details, programme_id):
    from dataclasses import replace

    return replace(details, set_programme=True, programme_id=programme_id)


# --- pages -----------------------------------------------------------------------------------


def test_admin_adds_renames_and_deactivates_a_programme(app, db):
    admin = make_staff(Role.ADMIN)
    db.session.commit()
    browser = PersonClient(app, admin)
    response = browser.post("/panels/programmes/", {"name": "Survivor voice",
                                                    "description": "Funded by NHS England"})
    assert response.status_code == 302
    page = _html(browser.get("/panels/programmes/"))
    assert "Survivor voice" in page and "Funded by NHS England" in page and "Active" in page
    programme = db.session.scalar(select(Programme))

    # a name already used: the form says why and keeps what was typed
    page = _html(browser.post("/panels/programmes/", {"name": "survivor VOICE",
                                                      "description": "Typed text"}))
    assert "already a programme with that name" in page and "Typed text" in page
    assert "nhsuk-error-summary" in page

    response = browser.post(f"/panels/programmes/{programme.id}/edit",
                            {"name": "Survivor voice 2027", "description": "Renewed"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (programme.name, programme.is_active) == ("Survivor voice 2027", False)
    assert "Inactive" in _html(browser.get("/panels/programmes/"))


def test_there_is_no_way_to_delete_a_programme(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("programmes.")]
    assert all("DELETE" not in r.methods for r in rules)
    assert not any("delete" in r.rule or "remove" in r.rule for r in rules)


def test_programme_lead_chooses_a_panels_programme_on_the_panel_form(app, db):
    lead, facilitator = make_staff(Role.PROGRAMME_LEAD), make_staff(Role.FACILITATOR)
    programme = make_programme("Survivor voice")
    make_programme("Ended", active=False)
    panel = make_panel(facilitators=[facilitator])
    db.session.commit()
    browser = PersonClient(app, lead)
    page = _html(browser.get(f"/panels/{panel.id}/edit"))
    assert "Survivor voice" in page and "No programme" in page and "Ended" not in page
    form = {"name": panel.name, "purpose": "To shape services.", "involvement_level": "3",
            "visibility": "public", "open_for_applications": "y",
            "facilitators": [str(facilitator.id)], "programme": str(programme.id)}
    assert browser.post(f"/panels/{panel.id}/edit", form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Panel, panel.id).programme_id == programme.id

    # the facilitator's form has no programme field, and saving it keeps the programme
    other = PersonClient(app, facilitator)
    page = _html(other.get(f"/panels/{panel.id}/edit"))
    assert 'name="programme"' not in page
    form.pop("programme")
    assert other.post(f"/panels/{panel.id}/edit", form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Panel, panel.id).programme_id == programme.id


ROLES = ["anonymous", "member", "facilitator", "programme_lead", "finance", "safeguarding",
         "admin"]
MANAGERS = {"anonymous": 302, "member": 403, "facilitator": 403, "programme_lead": 200,
            "finance": 403, "safeguarding": 403, "admin": 200}


def test_every_programme_route_for_every_role(app, db):
    people = {"member": make_member(), "facilitator": make_staff(Role.FACILITATOR),
              "programme_lead": make_staff(Role.PROGRAMME_LEAD),
              "finance": make_staff(Role.FINANCE),
              "safeguarding": make_staff(Role.SAFEGUARDING_LEAD),
              "admin": make_staff(Role.ADMIN)}
    programme = make_programme("Walked")
    db.session.commit()
    routes = {
        "/panels/programmes/": MANAGERS,
        f"/panels/programmes/{programme.id}/edit": MANAGERS,
        "/panels/programmes/999999/edit": {**MANAGERS, "programme_lead": 404, "admin": 404},
    }
    adapter = app.url_map.bind("localhost")
    walked = {adapter.match(url, "GET")[0] for url in routes}
    blueprint = {r.endpoint for r in app.url_map.iter_rules()
                 if r.endpoint.startswith("programmes.")}
    assert walked == blueprint
    for role in ROLES:
        client = PersonClient(app, None if role == "anonymous" else people[role])
        for url, expected in routes.items():
            assert client.get(url).status_code == expected[role], (role, url)
        # posting needs the permission too (the form comes from a page everyone can open)
        response = client.post("/panels/programmes/", {"name": f"By {role}"},
                               form_url="/sign-in" if role == "anonymous" else "/panels/")
        assert response.status_code == {**MANAGERS, "programme_lead": 302,
                                        "admin": 302}[role], role
    names = set(db.session.scalars(select(Programme.name)))
    assert names == {"Walked", "By programme_lead", "By admin"}
