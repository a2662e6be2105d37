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
    response = browser.post(url, {"roles": ["facilitator", "safeguarding_lead"]},
                            follow_redirects=True)
    assert "Saved changes" in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.role_set == {Role.FACILITATOR, Role.SAFEGUARDING_LEAD}
    assert theirs.get("/account").status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.roles_changed"))
    assert event.actor_id == admin.id and event.details["after"] == ["facilitator",
                                                                     "safeguarding_lead"]


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


# --- item 9: two admins for powerful roles ----------------------------------------------------


def _browser_for(app, user):
    browser = FormClient(app.test_client())
    sign_in(browser, user)
    return browser


def test_item_9_an_admin_cannot_grant_roles_to_themselves(app, db):
    admin, browser = _admin_browser(app, db)
    response = browser.post(f"/admin/users/{admin.id}", {"roles": ["admin", "finance"]})
    assert "You cannot give yourself a role" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role_set == {Role.ADMIN}
    from engage.accounts.models import RoleGrantRequest

    assert db.session.scalar(select(RoleGrantRequest)) is None


def test_item_9_a_powerful_role_waits_for_a_second_admin_who_is_told(app, db):
    from engage.core.models import Notification

    _first, browser = _admin_browser(app, db)
    second = make_staff(Role.ADMIN)
    person = make_staff(Role.FACILITATOR)
    db.session.commit()
    response = browser.post(f"/admin/users/{person.id}",
                            {"roles": ["facilitator", "finance", "safeguarding_lead"]},
                            follow_redirects=True)
    assert "waits for another admin to approve it" in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.role_set == {Role.FACILITATOR, Role.SAFEGUARDING_LEAD}, \
        "everyday roles at once, finance not yet"
    told = db.session.scalars(select(Notification.user_id)).all()
    assert told == [second.id], "every other admin hears, the asker does not"

    waiting = browser.get("/admin/approvals").get_data(as_text=True)
    assert "You asked for this, so another admin must approve it" in waiting
    [request_id] = [r.id for r in _pending(db)]
    refused = browser.post(f"/admin/approvals/{request_id}/approve", form_url="/admin/approvals")
    assert refused.status_code == 403
    db.session.refresh(person)
    assert Role.FINANCE not in person.role_set

    approver = _browser_for(app, second)
    approver.post(f"/admin/approvals/{request_id}/approve", form_url="/admin/approvals")
    db.session.refresh(person)
    assert Role.FINANCE in person.role_set
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert "staff.role_grant_requested" in actions and "staff.role_grant_approved" in actions
    assert _pending(db) == []


def test_item_9_the_person_receiving_the_role_cannot_approve_it(app, db):
    _first, browser = _admin_browser(app, db)
    second = make_staff(Role.ADMIN)
    db.session.commit()
    browser.post(f"/admin/users/{second.id}", {"roles": ["admin", "programme_lead"]})
    [request_id] = [r.id for r in _pending(db)]
    theirs = _browser_for(app, second)
    page = theirs.get("/admin/approvals").get_data(as_text=True)
    assert "This role would be yours" in page
    assert theirs.post(f"/admin/approvals/{request_id}/approve",
                       form_url="/admin/approvals").status_code == 403
    db.session.refresh(second)
    assert Role.PROGRAMME_LEAD not in second.role_set


def test_item_9_declining_or_taking_back_leaves_the_roles_as_they_were(app, db):
    _first, browser = _admin_browser(app, db)
    second = make_staff(Role.ADMIN)
    person = make_member()
    db.session.commit()
    browser.post(f"/admin/users/{person.id}", {"roles": ["member", "admin"]})
    [asked] = _pending(db)
    _browser_for(app, second).post(f"/admin/approvals/{asked.id}/decline",
                                   form_url="/admin/approvals")
    browser.post(f"/admin/users/{person.id}", {"roles": ["member", "finance"]})
    [again] = _pending(db)
    browser.post(f"/admin/approvals/{again.id}/decline", form_url="/admin/approvals")
    db.session.refresh(asked)
    db.session.refresh(again)
    assert (asked.outcome, again.outcome) == ("declined", "cancelled")
    db.session.refresh(person)
    assert person.role_set == {Role.MEMBER}


def test_item_9_an_invitation_to_a_powerful_role_works_only_once_approved(app, db):
    import re

    _first, browser = _admin_browser(app, db)
    second = make_staff(Role.ADMIN)
    db.session.commit()
    made = browser.post("/admin/staff/invite", {"display_name": "New Finance",
                                                "role": "finance"}).get_data(as_text=True)
    assert "works only once a second admin has approved it" in made
    link = re.search(r"http://localhost(/staff/join/[^\"<]+)", made)[1]
    joiner = FormClient(app.test_client())
    early = joiner.get(link)
    assert early.status_code == 409
    assert "waiting for a second admin" in early.get_data(as_text=True)

    [request_id] = [r.id for r in _pending(db)]
    _browser_for(app, second).post(f"/admin/approvals/{request_id}/approve",
                                   form_url="/admin/approvals")
    joined = joiner.post(link, {"username": "newfinance", "password": "ledger lantern cloud"})
    assert joined.status_code == 302
    from engage.accounts.models import User

    user = db.session.scalar(select(User).where(User.username_key == "newfinance"))
    assert user.role_set == {Role.FINANCE}


def test_item_9_an_invitation_to_an_everyday_role_needs_no_second_admin(app, db):
    _, browser = _admin_browser(app, db)
    made = browser.post("/admin/staff/invite", {"display_name": "New Facilitator",
                                                "role": "facilitator"}).get_data(as_text=True)
    assert "second admin" not in made
    assert _pending(db) == []


def _pending(db):
    from engage.accounts import services

    return services.pending_grants()
