"""Every new route, for every role: the status each should get."""

from __future__ import annotations

import pytest

from engage.changes import services
from engage.core.permissions import Role
from tests.factories import make_member, make_staff, sign_in
from tests.factories_feedback import give, make_entry, publish

ROLES = ["anonymous", "member", "other_member", Role.FACILITATOR, Role.PROGRAMME_LEAD,
         Role.FINANCE, Role.SAFEGUARDING_LEAD, Role.ADMIN]
OK, LOGIN, FORBIDDEN, MISSING = 200, 302, 403, 404

# route -> expected status for each role in ROLES order
GET_ROUTES = {
    "/feedback": [OK] * 8,
    "/feedback/check": [OK] * 8,
    "/you-said-we-did": [OK] * 8,
    "/you-said-we-did/{entry}": [OK] * 8,
    "/you-said-we-did/{draft}": [MISSING] * 8,
    "/you-said-we-did/{withdrawn}": [410] * 8,
    "/you-said-we-did.json": [OK] * 8,
    "/you-said-we-did.atom": [OK] * 8,
    "/you-said-we-did.csv": [OK] * 8,
    "/feedback/yours": [LOGIN, OK, OK, OK, OK, OK, OK, OK],
    "/feedback/yours/{named}": [LOGIN, OK, MISSING, MISSING, MISSING, MISSING, MISSING,
                                MISSING],
    "/staff/feedback": [LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN],
    "/staff/feedback/{named}": [LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN,
                                FORBIDDEN],
    "/staff/feedback/on-behalf": [LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN,
                                  FORBIDDEN],
    "/staff/feedback/999": [LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, FORBIDDEN,
                            FORBIDDEN, FORBIDDEN],
    "/staff/safeguarding/feedback": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                                     FORBIDDEN, OK, FORBIDDEN],
    "/staff/safeguarding/feedback/{flagged}": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                                               FORBIDDEN, FORBIDDEN, OK, FORBIDDEN],
    "/staff/changes": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN, OK],
    "/staff/changes/new": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN,
                           FORBIDDEN],
    "/staff/changes/{draft}": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN,
                               FORBIDDEN, OK],
    "/staff/changes/{draft}/edit": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN,
                                    FORBIDDEN, FORBIDDEN],
    "/staff/changes/measures": [LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN,
                                OK],
    "/staff/changes/{entry}/withdraw": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN,
                                        FORBIDDEN, OK],
    "/staff/changes/{draft}/delete": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN,
                                      FORBIDDEN, FORBIDDEN],
}

# POST routes: only the roles allowed get past the permission check (then 302 or 400).
POST_ROUTES = {
    "/staff/feedback/on-behalf": {Role.FACILITATOR, Role.PROGRAMME_LEAD},
    "/staff/feedback/{anon}/acknowledge": {Role.FACILITATOR, Role.PROGRAMME_LEAD},
    "/staff/feedback/{anon}/reply": {Role.FACILITATOR, Role.PROGRAMME_LEAD},
    "/staff/feedback/{anon}/close": {Role.FACILITATOR, Role.PROGRAMME_LEAD},
    "/staff/feedback/{anon}/reopen": {Role.FACILITATOR, Role.PROGRAMME_LEAD},
    "/staff/feedback/{anon}/themes": {Role.FACILITATOR, Role.PROGRAMME_LEAD},
    "/staff/feedback/{anon}/quote": {Role.FACILITATOR, Role.PROGRAMME_LEAD},
    "/staff/feedback/{anon}/safeguarding": {Role.FACILITATOR, Role.PROGRAMME_LEAD},
    # Approve before submit: approving what you submitted yourself is refused (403).
    "/staff/changes/{draft}/approve": {Role.PROGRAMME_LEAD, Role.ADMIN},
    "/staff/changes/{draft}/submit": {Role.PROGRAMME_LEAD},
    "/staff/changes/{draft}/links": {Role.PROGRAMME_LEAD},
    "/staff/changes/{draft}/links/1/remove": {Role.PROGRAMME_LEAD},
    "/staff/changes/{draft}/consultations": {Role.PROGRAMME_LEAD},
    "/staff/changes/{draft}/consultations/1/remove": {Role.PROGRAMME_LEAD},
    "/staff/changes/{draft}/answers/abc/remove": {Role.PROGRAMME_LEAD},
    "/staff/changes/answer-links": {Role.PROGRAMME_LEAD},
    "/staff/changes/{draft}/send-back": {Role.PROGRAMME_LEAD, Role.ADMIN},
    "/staff/changes/{entry}/withdraw": {Role.PROGRAMME_LEAD, Role.ADMIN},
    # Last: it deletes the draft.
    "/staff/changes/{draft}/delete": {Role.PROGRAMME_LEAD},
}


@pytest.fixture
def world(db):
    owner, other = make_member(), make_member()
    lead = make_staff(Role.PROGRAMME_LEAD)
    named = give("Named", actor=owner, attach_name=True).item
    anon = give("Anonymous").item
    flagged = give("Flagged").item
    flagged.safeguarding_flagged = True
    entry = publish(make_entry(lead))
    draft = make_entry(lead, said="Draft")
    withdrawn = publish(make_entry(lead, said="Withdrawn"))
    services.withdraw_entry(lead, withdrawn, "It repeated another entry.")
    db.session.commit()
    people = {"member": owner, "other_member": other}
    for role in ROLES[3:]:
        people[role] = make_staff(role)
    db.session.commit()
    ids = {"named": named.id, "anon": anon.id, "flagged": flagged.id, "entry": entry.id,
           "draft": draft.id, "withdrawn": withdrawn.id}
    return people, ids


@pytest.mark.parametrize("index", range(len(ROLES)), ids=[str(r) for r in ROLES])
def test_every_route_for_every_role(index, world, browser_like):
    people, ids = world
    role = ROLES[index]
    if role != "anonymous":
        sign_in(browser_like, people[role])
    for route, expected in GET_ROUTES.items():
        url = route.format(**ids)
        assert browser_like.get(url).status_code == expected[index], (role, url)
    for route, allowed in POST_ROUTES.items():
        url = route.format(**ids)
        # A real CSRF token, so the answer is about permission, not a missing token.
        form_url = "/sign-in" if role == "anonymous" else "/support"
        response = browser_like.post(url, {}, form_url=form_url)
        to_sign_in = "/sign-in" in response.headers.get("Location", "")
        if role == "anonymous":
            assert response.status_code == LOGIN and to_sign_in, (role, url)
        elif role in allowed:
            assert response.status_code != FORBIDDEN and not to_sign_in, (role, url)
        else:
            assert response.status_code == FORBIDDEN, (role, url)


# The anonymous POSTs are walked in tests/feedback (test_anonymity, test_check, test_give).
ANONYMOUS_POSTS = {"/feedback/check/delete-replies", "/feedback/check/withdraw"}


def test_every_feedback_and_changes_route_is_walked(app):
    walked = {route.split("?")[0] for route in [*GET_ROUTES, *POST_ROUTES]}
    normalised = {r.replace("{entry}", "<int:entry_id>").replace("{draft}", "<int:entry_id>")
                  .replace("{withdrawn}", "<int:entry_id>")
                  .replace("{named}", "<int:feedback_id>").replace("{anon}", "<int:feedback_id>")
                  .replace("{flagged}", "<int:feedback_id>").replace("/999", "/<int:feedback_id>")
                  .replace("/links/1/", "/links/<int:feedback_id>/")
                  .replace("/consultations/1/", "/consultations/<int:consultation_id>/")
                  .replace("/answers/abc/", "/answers/<answer_id>/") for r in walked}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in {"feedback", "changes"}:
            assert rule.rule in normalised | ANONYMOUS_POSTS, rule.rule
