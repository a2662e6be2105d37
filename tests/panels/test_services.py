"""Panel rules: who runs a panel, joining, decisions, breaks, leaving, size limits, messages,
attribution."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from engage.core.models import AuditEvent, Notification, OutboxMessage
from engage.core.permissions import Role
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.panels import services
from engage.panels.agreement import INVOLVEMENT_AGREEMENT_VERSION
from engage.panels.models import Attribution, MembershipState, Panel, PanelStaffRole
from engage.panels.richtext import sanitise
from tests.factories import make_member, make_staff
from tests.factories_panels import make_membership, make_panel

pytestmark = pytest.mark.usefixtures("request_ctx")


def _details(**overrides) -> services.PanelDetails:
    values = dict(name="Survivors' Voice", purpose="Shape local services.",
                  terms_of_reference="We meet monthly.", group_agreement="- Listen\n- Respect",
                  involvement_level=3)
    values.update(overrides)
    return services.PanelDetails(**values)


# --- setting up -------------------------------------------------------------------------------


def test_facilitator_creates_panel_and_runs_it(db):
    facilitator = make_staff(Role.FACILITATOR)
    lead = make_member()
    panel = services.create_panel(facilitator, _details(lead_ids=(lead.id,), size_limit=12))
    assert panel.is_facilitator(facilitator) and panel.is_facilitator(lead)
    assert [u.id for u in panel.staff_with_role(PanelStaffRole.LIVED_EXPERIENCE_LEAD)] == [lead.id]
    assert services.can_manage_panel(facilitator, panel)
    assert not services.can_manage_panel(lead, panel), "member-role leads are listed, not staff"
    assert panel.involvement_level == 3 and panel.size_limit == 12
    assert panel.group_agreement_html == "<ul><li>Listen</li><li>Respect</li></ul>"
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.subject_id == panel.id)) == "panel.created"


def test_programme_lead_runs_every_panel_other_facilitators_do_not(db):
    owner = make_staff(Role.FACILITATOR)
    other = make_staff(Role.FACILITATOR)
    lead = make_staff(Role.PROGRAMME_LEAD)
    panel = make_panel(facilitators=[owner])
    assert services.can_manage_panel(lead, panel)
    assert not services.can_manage_panel(other, panel)
    assert services.managed_panels(other) == []
    with pytest.raises(NotFound):
        services.update_panel(other, panel, _details())


@pytest.mark.parametrize("role", [Role.MEMBER, Role.FINANCE, Role.SAFEGUARDING_LEAD, Role.ADMIN])
def test_only_facilitators_and_programme_leads_create_panels(db, role):
    with pytest.raises(NotAllowed):
        services.create_panel(make_staff(role), _details())


@pytest.mark.parametrize("level", [0, 5])
def test_involvement_level_must_be_1_to_4(db, level):
    with pytest.raises(ValidationFailed):
        services.create_panel(make_staff(Role.FACILITATOR), _details(involvement_level=level))


def test_size_limit_cannot_go_below_current_members(db):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator])
    for _ in range(3):
        make_membership(panel, make_member())
    with pytest.raises(ValidationFailed, match="already has 3 members"):
        services.update_panel(facilitator, panel, _details(size_limit=2))


def test_formatted_text_is_sanitised_on_the_way_in():
    dirty = '<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:evil()">x</a></p>'
    clean = sanitise(dirty)
    assert "script" not in clean and "onclick" not in clean and "javascript" not in clean
    assert sanitise("One\n\nTwo & three < four") == "<p>One</p><p>Two &amp; three &lt; four</p>"
    assert sanitise("Be <strong>kind</strong>\n\n- a\n- b") == (
        "<p>Be <strong>kind</strong></p><ul><li>a</li><li>b</li></ul>")
    assert sanitise("<h2>Rules</h2><p>Kind</p>") == "<h2>Rules</h2><p>Kind</p>"


def test_members_only_panels_are_hidden_from_visitors(db):
    make_panel(name="Open", visibility="public")
    hidden = make_panel(name="Closed", visibility="members")
    assert [p.name for p in services.visible_panels(None)] == ["Open"]
    assert {p.name for p in services.visible_panels(make_member())} == {"Open", "Closed"}
    with pytest.raises(NotFound):
        services.get_panel(hidden.id, None)


# --- joining -------------------------------------------------------------------------------------


def test_apply_records_agreement_version_and_time_and_encrypts_access_needs(db):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator])
    member = make_member()
    membership = services.apply_to_panel(member, panel, why_joining="To help others",
                                         access_needs="Step-free access please",
                                         accepted_agreement=True)
    assert membership.state == MembershipState.APPLIED
    assert membership.agreement_version == INVOLVEMENT_AGREEMENT_VERSION
    assert membership.agreement_accepted_at is not None
    raw = db.session.execute(text("SELECT access_needs, why_joining FROM panel_memberships")).one()
    assert "Step-free" not in raw[0] and "help others" not in raw[1]
    assert membership.access_needs == "Step-free access please"
    titles = db.session.scalars(select(Notification.title).where(
        Notification.user_id == facilitator.id)).all()
    assert titles == ["New application to a panel"]


def test_apply_needs_the_agreement_and_an_open_panel(db):
    member = make_member()
    with pytest.raises(ValidationFailed, match="involvement agreement"):
        services.apply_to_panel(member, make_panel(), accepted_agreement=False)
    with pytest.raises(InvalidState, match="not taking applications"):
        services.apply_to_panel(member, make_panel(open_for_applications=False),
                                accepted_agreement=True)


def test_applying_twice_makes_one_application(db):
    panel = make_panel()
    member = make_member()
    services.apply_to_panel(member, panel, accepted_agreement=True)
    with pytest.raises(InvalidState, match="already applied"):
        services.apply_to_panel(member, panel, accepted_agreement=True)
    assert len(services.applications(panel)) == 1


def test_accept_makes_an_active_member_and_tells_them(db):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator])
    member = make_member()
    membership = services.apply_to_panel(member, panel, accepted_agreement=True)
    services.accept_application(facilitator, membership, "Welcome!")
    assert membership.state == MembershipState.ACTIVE and membership.joined_at
    assert membership.decision_message == "Welcome!"
    assert panel.member_count == 1 and panel.is_active_member(member)
    assert db.session.scalar(select(Notification.title).where(
        Notification.user_id == member.id)) == "Your panel application"
    with pytest.raises(InvalidState, match="already been answered"):
        services.decline_application(facilitator, membership, "No")
    assert panel.member_count == 1


def test_decline_keeps_the_place_free_and_allows_applying_again(db):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator])
    member = make_member()
    membership = services.apply_to_panel(member, panel, accepted_agreement=True)
    services.decline_application(facilitator, membership, "Not this time, with thanks.")
    assert membership.state == MembershipState.DECLINED and panel.member_count == 0
    again = services.apply_to_panel(member, panel, accepted_agreement=True)
    assert again.id == membership.id and again.state == MembershipState.APPLIED
    assert again.decision_message is None


def test_another_facilitator_cannot_decide(db):
    panel = make_panel(facilitators=[make_staff(Role.FACILITATOR)])
    membership = services.apply_to_panel(make_member(), panel, accepted_agreement=True)
    with pytest.raises(NotFound):
        services.accept_application(make_staff(Role.FACILITATOR), membership)


def test_size_limit_refuses_acceptance_when_full(db):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator], size_limit=1)
    first = services.apply_to_panel(make_member(), panel, accepted_agreement=True)
    second = services.apply_to_panel(make_member(), panel, accepted_agreement=True)
    services.accept_application(facilitator, first)
    db.session.commit()
    with pytest.raises(InvalidState, match="full"):
        services.accept_application(facilitator, second)
    db.session.rollback()
    db.session.refresh(panel)
    assert panel.member_count == 1
    assert db.session.get(type(second), second.id).state == MembershipState.APPLIED


def test_database_refuses_more_members_than_the_limit(db):
    from sqlalchemy.exc import IntegrityError

    panel = make_panel(size_limit=1)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE panels SET member_count = 2 WHERE id = :id"),
                           {"id": panel.id})
        db.session.flush()
    db.session.rollback()


# --- breaks and leaving ---------------------------------------------------------------------------


def test_break_come_back_and_leave(db):
    panel = make_panel(size_limit=5)
    member = make_member()
    make_membership(panel, member)
    services.take_break(member, panel)
    assert panel.membership_of(member).state == MembershipState.ON_BREAK
    assert panel.is_member(member) and not panel.is_active_member(member)
    assert panel.member_count == 1, "a member on a break keeps their place"
    with pytest.raises(InvalidState):
        services.take_break(member, panel)
    services.come_back(member, panel)
    assert panel.is_active_member(member)
    services.leave_panel(member, panel)
    assert panel.membership_of(member).state == MembershipState.LEFT
    assert panel.member_count == 0
    with pytest.raises(InvalidState):
        services.leave_panel(member, panel)


def test_withdrawing_an_application_frees_nothing(db):
    panel = make_panel()
    member = make_member()
    services.apply_to_panel(member, panel, accepted_agreement=True)
    services.leave_panel(member, panel)
    assert panel.membership_of(member).state == MembershipState.LEFT
    assert panel.member_count == 0


# --- messages ------------------------------------------------------------------------------------


def test_message_reaches_active_members_only_and_email_only_where_safe(db):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator])
    active = make_member(email="a@example.org", email_is_safe=True)
    unsafe_email = make_member(email="b@example.org", email_is_safe=False)
    resting = make_member(email="c@example.org", email_is_safe=True)
    applicant = make_member()
    make_membership(panel, active)
    make_membership(panel, unsafe_email)
    make_membership(panel, resting, state=MembershipState.ON_BREAK)
    make_membership(panel, applicant, state=MembershipState.APPLIED)
    services.message_panel(facilitator, panel, "Next meeting", "Thursday at 6pm.")
    notified = set(db.session.scalars(select(Notification.user_id)))
    assert notified == {active.id, unsafe_email.id}
    emails = db.session.scalars(select(OutboxMessage)).all()
    assert [e.user_id for e in emails] == [active.id]
    assert emails[0].subject == "You have a new message", "discreet by default"
    assert "Thursday" not in emails[0].body_text
    assert [m.subject for m in services.panel_messages(panel)] == ["Next meeting"]


def test_only_the_panels_facilitators_can_message_it(db):
    panel = make_panel(facilitators=[make_staff(Role.FACILITATOR)])
    with pytest.raises(NotFound):
        services.message_panel(make_staff(Role.FACILITATOR), panel, "Hi", "There")


# --- attribution ---------------------------------------------------------------------------------


def test_attribution_defaults_to_not_credited_and_can_change(db):
    member = make_member(display_name="River")
    assert services.credit_for(member) is None
    services.set_attribution(member, Attribution.PSEUDONYM, "Blue Heron")
    assert services.credit_for(member) == "Blue Heron"
    services.set_attribution(member, Attribution.DISPLAY_NAME)
    assert services.credit_for(member) == "River"
    assert services.attribution_of(member).pseudonym is None
    services.set_attribution(member, Attribution.NOT_CREDITED)
    assert services.credit_for(member) is None


def test_pseudonym_choice_needs_a_name(db):
    with pytest.raises(ValidationFailed, match="Enter the name"):
        services.set_attribution(make_member(), Attribution.PSEUDONYM, "  ")


def test_helpers_for_other_domains(db):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator], involvement_level=4)
    member = make_member()
    make_membership(panel, member)
    assert panel.involvement_level == 4
    assert panel.facilitators_and_leads() == [facilitator]
    assert panel.is_facilitator(facilitator) and not panel.is_facilitator(member)
    assert panel.is_active_member(member) and not panel.is_active_member(facilitator)
    assert not panel.is_active_member(None)
    assert isinstance(db.session.get(Panel, panel.id), Panel)
