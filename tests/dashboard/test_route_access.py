"""Every route of equality, lifecycle and dashboard for every role (server-side checks)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.test_route_access import ADMIN_ONLY, ROLES, SIGNED_IN, _visitor

BLUEPRINTS = {"equality", "lifecycle", "dashboard"}
LEADS_AND_ADMINS = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403),
                    "programme_lead": 200, "admin": 200}

EXPECTED = {
    "equality.questions": ("/account/equality", SIGNED_IN),
    "equality.population": ("/admin/equality/population", ADMIN_ONLY),
    "lifecycle.data_we_hold": ("/account/data-we-hold", SIGNED_IN),
    "lifecycle.privacy": ("/privacy", dict.fromkeys(ROLES, 200)),
    "lifecycle.retention_settings": ("/admin/retention", ADMIN_ONLY),
    "dashboard.index": ("/dashboard", LEADS_AND_ADMINS),
    "dashboard.download": ("/dashboard/download/responses-by-month.csv", LEADS_AND_ADMINS),
    "dashboard.impact": ("/impact", SIGNED_IN),
    "dashboard.add_feedback_code": ("/impact/feedback-codes", SIGNED_IN),
}
POST_ONLY = {"equality.delete": "/account/equality/delete",
             "dashboard.remove_feedback_code": "/impact/feedback-codes/1/remove"}


def test_every_endpoint_has_an_expectation(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()
                 if r.endpoint.split(".")[0] in BLUEPRINTS}
    assert endpoints == set(EXPECTED) | set(POST_ONLY)


@pytest.mark.parametrize("role", ROLES)
def test_role_gets_expected_status(app, db, role):
    visitor = _visitor(app, role)
    wrong = {}
    for endpoint, (url, expected) in EXPECTED.items():
        status = visitor.get(url).status_code
        if status != expected[role]:
            wrong[endpoint] = (status, expected[role])
    assert not wrong, f"{role}: (got, expected) {wrong}"


def test_post_only_routes_need_sign_in_and_refuse_get(app, db):
    visitor = _visitor(app, "anonymous")
    for url in POST_ONLY.values():
        response = visitor.post(url, form_url="/sign-in")
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
        assert visitor.get(url).status_code == 405


def test_another_members_answers_cannot_be_deleted(app, db):
    """The delete route only ever acts on the signed-in person's own answers."""
    from engage.equality import services
    from tests.factories import make_member

    owner = make_member()
    services.save_answers(owner, {"sex": "female"})
    db.session.commit()
    visitor = _visitor(app, "member")
    visitor.post("/account/equality/delete", form_url="/account/equality")
    db.session.expire_all()
    assert services.answers_of(owner) == {"sex": "female"}


@pytest.mark.parametrize("role", ROLES[1:])
def test_nobody_can_remove_another_persons_feedback_link(app, db, role):
    """Whatever their role, a link someone else added is 'not found', and stays."""
    from engage.feedback.models import FeedbackItem, ImpactFeedbackLink
    from tests.factories import make_member

    owner = make_member()
    item = FeedbackItem(received_on=date(2026, 5, 1), body="Words", status="new")
    db.session.add(item)
    db.session.flush()
    link = ImpactFeedbackLink(user_id=owner.id, feedback_id=item.id)
    db.session.add(link)
    db.session.commit()
    visitor = _visitor(app, role)
    response = visitor.post(f"/impact/feedback-codes/{link.id}/remove", form_url="/impact")
    assert response.status_code == 404
    assert db.session.get(ImpactFeedbackLink, link.id) is not None
