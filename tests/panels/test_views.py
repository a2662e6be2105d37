"""Panel pages: what each person sees and can do, through real forms with CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engage.core.permissions import Role
from engage.panels.models import MembershipState, Panel, PanelMembership
from tests.factories import make_member, make_staff
from tests.factories_panels import PersonClient, make_membership, make_panel


def _html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def people(db):
    people = {
        "facilitator": make_staff(Role.FACILITATOR, display_name="Sam"),
        "other_facilitator": make_staff(Role.FACILITATOR),
        "programme_lead": make_staff(Role.PROGRAMME_LEAD),
        "finance": make_staff(Role.FINANCE),
        "safeguarding": make_staff(Role.SAFEGUARDING_LEAD),
        "admin": make_staff(Role.ADMIN),
        "member": make_member(display_name="River"),
        "other_member": make_member(display_name="Kit"),
    }
    db.session.commit()
    return people


@pytest.fixture
def panel(db, people):
    panel = make_panel(name="Survivors' Voice", facilitators=[people["facilitator"]],
                       group_agreement="We keep each other's stories private.")
    db.session.commit()
    return panel


def test_member_applies_and_is_accepted_with_the_kind_default_message(app, db, people, panel):
    member = PersonClient(app, people["member"])
    page = _html(member.get(f"/panels/{panel.id}/apply"))
    assert "The involvement agreement" in page and "You can say no, take a break" in page

    response = member.post(f"/panels/{panel.id}/apply", {
        "why_joining": "I want things to be better", "access_needs": "Captions please",
        "accept_agreement": "y"})
    assert response.status_code == 302
    page = _html(member.get(f"/panels/{panel.id}"))
    assert "Application waiting for a reply" in page

    facilitator = PersonClient(app, people["facilitator"])
    membership = db.session.scalar(select(PanelMembership))
    url = f"/panels/{panel.id}/applications/{membership.id}"
    page = _html(facilitator.get(url))
    assert "Captions please" in page and "I want things to be better" in page
    assert "Welcome to Survivors&#39; Voice. We are really glad" in page
    assert "This is not a judgement about you" in page
    response = facilitator.post(url + "/accept", {
        "accept-message": "Welcome to Survivors' Voice. See you on Thursday."}, form_url=url)
    assert response.status_code == 302

    page = _html(member.get(f"/panels/{panel.id}"))
    assert "See you on Thursday." in page
    assert "stories private." in page, "members see the group agreement"
    assert "River" in page, "members see each other by display name"
    assert "Captions please" not in page, "access needs are for facilitators only"


def test_apply_without_accepting_the_agreement_keeps_what_was_typed(app, people, panel):
    member = PersonClient(app, people["member"])
    response = member.post(f"/panels/{panel.id}/apply", {"why_joining": "My words"})
    page = _html(response)
    assert response.status_code == 200
    assert "tick the box to say you accept the involvement agreement" in page
    assert "My words" in page
    assert 'href="#accept_agreement"' in page


def test_decision_needs_a_message(app, db, people, panel):
    membership = make_membership(panel, people["member"], state=MembershipState.APPLIED)
    db.session.commit()
    facilitator = PersonClient(app, people["facilitator"])
    url = f"/panels/{panel.id}/applications/{membership.id}"
    response = facilitator.post(url + "/decline", {"decline-message": ""}, form_url=url)
    assert response.status_code == 400
    assert "Write a short message" in _html(response)
    db.session.expire_all()
    assert db.session.get(PanelMembership, membership.id).state == MembershipState.APPLIED


def test_full_panel_acceptance_explains_what_to_do(app, db, people):
    panel = make_panel(facilitators=[people["facilitator"]], size_limit=1)
    make_membership(panel, people["other_member"])
    membership = make_membership(panel, people["member"], state=MembershipState.APPLIED)
    db.session.commit()
    facilitator = PersonClient(app, people["facilitator"])
    url = f"/panels/{panel.id}/applications/{membership.id}"
    response = facilitator.post(url + "/accept", {"accept-message": "Welcome"}, form_url=url)
    assert response.status_code == 400
    assert "The panel is full" in _html(response) and "raise the size limit" in _html(response)


def test_break_come_back_and_leave_through_the_page(app, db, people, panel):
    make_membership(panel, people["member"])
    db.session.commit()
    member = PersonClient(app, people["member"])
    detail = f"/panels/{panel.id}"
    member.post(f"/panels/{panel.id}/break", {}, form_url=detail)
    page = _html(member.get(detail))
    assert "You are taking a break" in page and "Come back to the panel" in page
    member.post(f"/panels/{panel.id}/come-back", {}, form_url=detail)
    assert "Take a break" in _html(member.get(detail))
    confirm = _html(member.get(f"/panels/{panel.id}/leave"))
    assert "You do not need to give a reason" in confirm
    member.post(f"/panels/{panel.id}/leave", {})
    db.session.expire_all()
    assert db.session.get(Panel, panel.id).member_count == 0
    assert "Left the panel" in _html(member.get(detail))


def test_facilitator_creates_a_panel_through_the_form(app, db, people):
    facilitator = PersonClient(app, people["facilitator"])
    response = facilitator.post("/panels/new", {
        "name": "Open Network", "purpose": "Anyone can join.", "who_for": "Everyone",
        "terms_of_reference": "<p>Hello</p><script>x</script>", "group_agreement": "Be kind",
        "involvement_level": "2", "visibility": "public", "open_for_applications": "y",
        "size_limit": "", "facilitators": [str(people["facilitator"].id)],
        "leads": [str(people["member"].id)]})
    assert response.status_code == 302
    panel = db.session.scalar(select(Panel).where(Panel.name == "Open Network"))
    assert panel.terms_of_reference_html == "<p>Hello</p>"
    assert panel.involvement_level == 2 and panel.size_limit is None
    page = _html(facilitator.get(f"/panels/{panel.id}"))
    assert "River" in page and "Lived-experience leads" in page


def test_panel_form_errors_keep_input(app, people):
    facilitator = PersonClient(app, people["facilitator"])
    response = facilitator.post("/panels/new", {
        "name": "", "purpose": "Kept text", "involvement_level": "9", "visibility": "public",
        "size_limit": "-3"})
    page = _html(response)
    assert "Enter a name for the panel" in page and "Kept text" in page
    assert "Enter a whole number of 1 or more" in page


def test_message_the_panel(app, db, people, panel):
    make_membership(panel, people["member"])
    make_membership(panel, people["other_member"], state=MembershipState.ON_BREAK)
    db.session.commit()
    facilitator = PersonClient(app, people["facilitator"])
    page = _html(facilitator.get(f"/panels/{panel.id}/message"))
    assert "This goes to 1 active member." in page
    facilitator.post(f"/panels/{panel.id}/message", {"subject": "Hello", "body": "Meeting soon"})
    member_page = _html(PersonClient(app, people["member"]).get("/notifications"))
    assert "Meeting soon" in member_page
    resting_page = _html(PersonClient(app, people["other_member"]).get("/notifications"))
    assert "Meeting soon" not in resting_page


def test_attribution_page(app, people):
    member = PersonClient(app, people["member"])
    response = member.post("/panels/attribution", {"choice": "pseudonym", "pseudonym": ""})
    assert "Enter the name you would like us to use" in _html(response)
    member.post("/panels/attribution", {"choice": "pseudonym", "pseudonym": "Blue Heron"})
    page = _html(member.get("/panels/attribution"))
    assert 'value="Blue Heron"' in page


def test_members_only_panel_hidden_from_visitors(app, db, people):
    hidden = make_panel(name="Quiet group", visibility="members")
    db.session.commit()
    visitor = PersonClient(app)
    assert "Quiet group" not in _html(visitor.get("/panels/"))
    assert visitor.get(f"/panels/{hidden.id}").status_code == 404
    member = PersonClient(app, people["member"])
    assert "Quiet group" in _html(member.get("/panels/"))


def test_non_members_do_not_see_the_inside_of_a_panel(app, db, people, panel):
    make_membership(panel, people["member"])
    db.session.commit()
    page = _html(PersonClient(app, people["other_member"]).get(f"/panels/{panel.id}"))
    assert "River" not in page and "stories private" not in page


ROLES = ["anonymous", "member", "other_member", "facilitator", "other_facilitator",
         "programme_lead", "finance", "safeguarding", "admin"]
STAFF_ONLY = {"anonymous": 302, "member": 403, "other_member": 403, "facilitator": 200,
              "other_facilitator": 404, "programme_lead": 200, "finance": 403,
              "safeguarding": 403, "admin": 403}


def test_every_panel_route_for_every_role(app, db, people, panel):
    membership = make_membership(panel, people["member"], access_needs="Private need")
    db.session.commit()
    routes = {
        "/panels/": dict.fromkeys(ROLES, 200),
        f"/panels/{panel.id}": dict.fromkeys(ROLES, 200),
        "/panels/new": {**STAFF_ONLY, "other_facilitator": 200},
        f"/panels/{panel.id}/edit": STAFF_ONLY,
        f"/panels/{panel.id}/applications": STAFF_ONLY,
        f"/panels/{panel.id}/applications/{membership.id}": STAFF_ONLY,
        f"/panels/{panel.id}/message": STAFF_ONLY,
        f"/panels/{panel.id}/apply": {**dict.fromkeys(ROLES, 200), "anonymous": 302,
                                      "member": 302},  # already a member: back to the panel
        f"/panels/{panel.id}/leave": {**dict.fromkeys(ROLES, 404), "anonymous": 302,
                                      "member": 200},
        "/panels/attribution": {**dict.fromkeys(ROLES, 200), "anonymous": 302},
    }
    posts = {
        f"/panels/{panel.id}/applications/{membership.id}/accept": {
            **STAFF_ONLY, "facilitator": 400, "programme_lead": 400},
        f"/panels/{panel.id}/break": {**dict.fromkeys(ROLES, 404), "anonymous": 302,
                                      "member": 302},
        f"/panels/{panel.id}/come-back": {**dict.fromkeys(ROLES, 404), "anonymous": 302,
                                          "member": 302},
    }
    adapter = app.url_map.bind("localhost")
    walked = {adapter.match(url.split("?")[0], method)[0]
              for urls, method in ((routes, "GET"), (posts, "POST")) for url in urls}
    blueprint = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("panels.")}
    assert walked == blueprint, f"walk these too: {sorted(blueprint - walked)}"
    clients = {}
    for role in ROLES:
        client = clients[role] = PersonClient(app, None if role == "anonymous" else people[role])
        token_page = "/sign-in" if role == "anonymous" else "/panels/"
        for url, expected in routes.items():
            assert client.get(url).status_code == expected[role], (role, url)
        for url, expected in posts.items():
            response = client.post(url, {}, form_url=token_page)
            assert response.status_code == expected[role], (role, url)
    page = _html(clients["other_facilitator"].get(f"/panels/{panel.id}"))
    assert "Private need" not in page


def test_support_needs_are_shown_only_to_the_panels_own_facilitators(app, db, people, panel):
    membership = make_membership(panel, people["member"], state=MembershipState.APPLIED,
                                 access_needs="A quiet room", why_joining="Private reasons")
    db.session.commit()
    url = f"/panels/{panel.id}/applications/{membership.id}"
    own = _html(PersonClient(app, people["facilitator"]).get(url))
    assert "A quiet room" in own and "Private reasons" in own
    lead = PersonClient(app, people["programme_lead"])
    for page in (_html(lead.get(url)), _html(lead.get(f"/panels/{panel.id}/applications"))):
        assert "A quiet room" not in page and "Private reasons" not in page
    assert "Only this panel's facilitators can read this" in _html(lead.get(url))


def test_panel_text_is_escaped(app, db, people):
    panel = make_panel(name="<b>Bold</b> panel", facilitators=[people["facilitator"]])
    db.session.commit()
    member = PersonClient(app, people["member"])
    for url in (f"/panels/{panel.id}", f"/panels/{panel.id}/apply", "/panels/"):
        page = _html(member.get(url))
        assert "<b>Bold</b>" not in page and "&lt;b&gt;Bold&lt;/b&gt;" in page, url


def test_apply_page_sends_members_and_closed_panels_back_with_a_reason(app, db, people, panel):
    closed = make_panel(open_for_applications=False)
    make_membership(panel, people["member"])
    db.session.commit()
    member = PersonClient(app, people["member"])
    page = _html(member.get(f"/panels/{panel.id}/apply", follow_redirects=True))
    assert "You have already applied to this panel, or you are a member." in page
    page = _html(member.get(f"/panels/{closed.id}/apply", follow_redirects=True))
    assert "not taking applications at the moment" in page
