"""Admins manage staff roles and accounts; every change is audited."""

from __future__ import annotations

from sqlalchemy import select

from engage.core.models import AuditEvent
from engage.core.permissions import Role
from tests.conftest import FormClient
from tests.factories import make_member, make_staff, sign_in


def _admin_browser(app, db):
    admin = make_staff(Role.ADMIN)
    db.session.commit()
    browser = FormClient(app.test_client())
    sign_in(browser, admin)
    return admin, browser


def test_admin_changes_roles_and_the_person_is_signed_out(app, db):
    admin, browser = _admin_browser(app, db)
    person = make_staff(Role.FACILITATOR)
    db.session.commit()
    theirs = FormClient(app.test_client())
    sign_in(theirs, person)
    url = f"/admin/users/{person.id}"
    response = browser.post(url, {"roles": ["facilitator", "programme_lead"]},
                            follow_redirects=True)
    assert "Saved changes" in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.role_set == {Role.FACILITATOR, Role.PROGRAMME_LEAD}
    assert theirs.get("/account").status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.roles_changed"))
    assert event.actor_id == admin.id and event.details["after"] == ["facilitator",
                                                                     "programme_lead"]


def test_disabling_an_account_ends_its_sessions(app, db):
    _, browser = _admin_browser(app, db)
    member = make_member()
    db.session.commit()
    theirs = FormClient(app.test_client())
    sign_in(theirs, member)
    browser.post(f"/admin/users/{member.id}", {"roles": ["member"], "disabled": "y"})
    db.session.refresh(member)
    assert member.is_disabled
    assert theirs.get("/account").status_code == 302
    actions = {e.action for e in db.session.scalars(select(AuditEvent))}
    assert "account.disabled" in actions


def test_admin_cannot_remove_own_admin_role(app, db):
    admin, browser = _admin_browser(app, db)
    response = browser.post(f"/admin/users/{admin.id}", {"roles": ["facilitator"]})
    assert "cannot remove your own admin role" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert Role.ADMIN in admin.role_set


def test_audit_page_lists_sign_ins(app, db):
    _, browser = _admin_browser(app, db)
    html = browser.get("/admin/audit").get_data(as_text=True)
    assert "auth.signed_in" in html


def test_staff_list_does_not_list_members(app, db):
    _, browser = _admin_browser(app, db)
    make_member(display_name="Private Member Name")
    db.session.commit()
    html = browser.get("/admin/").get_data(as_text=True)
    assert "Private Member Name" not in html
    assert "There is also 1 member account." in html
