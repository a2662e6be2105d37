"""Panel use cases. Services add and flush; the view or task commits once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import url_for
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from engage.accounts.models import User, UserRole
from engage.core import audit, clock
from engage.core.notify import Message, notify
from engage.core.permissions import Permission, Role, can
from engage.core.unit_of_work import atomic
from engage.core.wiring import Hook
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.extensions import db
from engage.panels import programmes
from engage.panels.agreement import INVOLVEMENT_AGREEMENT_VERSION
from engage.panels.models import (
    PLACE_HOLDING_STATES,
    Attribution,
    AttributionPreference,
    MembershipPeriod,
    MembershipState,
    Panel,
    PanelMembership,
    PanelMessage,
    PanelStaff,
    PanelStaffRole,
    Visibility,
)
from engage.panels.richtext import sanitise
from engage.panels.signals import membership_started

# --- who may do what --------


def is_signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def can_create_panels(user) -> bool:
    return can(user, Permission.MANAGE_PANELS)


def can_manage_panel(user, panel: Panel) -> bool:
    """Programme leads run every panel; facilitators run the panels they are listed on."""
    if not can(user, Permission.MANAGE_PANELS):
        return False
    return user.has_role(Role.PROGRAMME_LEAD) or panel.is_facilitator(user)


def can_read_support_needs(user, panel: Panel) -> bool:
    """What applicants tell us (why they are joining, support and access needs) is shown only
    to the staff listed as this panel's facilitators, not to every programme lead."""
    return can(user, Permission.MANAGE_PANELS) and panel.is_facilitator(user)


def can_see_panel(user, panel: Panel) -> bool:
    """Public panels are listed to everyone; members-only panels to people who are signed in."""
    return panel.is_public or is_signed_in(user)


def can_see_panel_inside(user, panel: Panel) -> bool:
    """The members' area of a panel: members (including those on a break) and its staff."""
    return panel.is_member(user) or panel.is_facilitator(user) or can_manage_panel(user, panel)


def visible_panels(user) -> list[Panel]:
    query = select(Panel).order_by(Panel.name)
    if not is_signed_in(user):
        query = query.where(Panel.visibility == Visibility.PUBLIC)
    return list(db.session.scalars(query))


def managed_panels(user) -> list[Panel]:
    if not can(user, Permission.MANAGE_PANELS):
        return []
    query = select(Panel).order_by(Panel.name)
    if not user.has_role(Role.PROGRAMME_LEAD):
        query = query.join(PanelStaff).where(PanelStaff.user_id == user.id)
    return list(db.session.scalars(query))


def get_panel(panel_id: int, user) -> Panel:
    panel = db.session.get(Panel, panel_id)
    if panel is None or not can_see_panel(user, panel):
        raise NotFound()
    return panel


def memberships_of(user) -> list[PanelMembership]:
    if not is_signed_in(user):
        return []
    return list(db.session.scalars(
        select(PanelMembership).where(PanelMembership.user_id == user.id)
    ))


def active_members(panel: Panel) -> list[User]:
    """People who receive the panel's messages: active members, not those taking a break."""
    return list(db.session.scalars(
        select(User).join(PanelMembership, PanelMembership.user_id == User.id)
        .where(PanelMembership.panel_id == panel.id,
               PanelMembership.state == MembershipState.ACTIVE,
               User.is_disabled.is_(False))
        .order_by(User.display_name)
    ))


def members_for_listing(panel: Panel) -> list[PanelMembership]:
    return list(db.session.scalars(
        select(PanelMembership).join(User, PanelMembership.user_id == User.id)
        .where(PanelMembership.panel_id == panel.id,
               PanelMembership.state.in_(PLACE_HOLDING_STATES))
        .order_by(User.display_name)
    ))


def applications(panel: Panel, states: Iterable[MembershipState] | None = None):
    """Applications and memberships of people with an account (never the unnamed history of
    closed accounts)."""
    query = select(PanelMembership).where(PanelMembership.panel_id == panel.id,
                                          PanelMembership.user_id.is_not(None))
    if states:
        query = query.where(PanelMembership.state.in_(list(states)))
    return list(db.session.scalars(query.order_by(PanelMembership.applied_at)))


def staff_choices() -> list[User]:
    """People who can be named as a panel's facilitators: facilitators and programme leads."""
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_([Role.FACILITATOR, Role.PROGRAMME_LEAD]),
               User.is_disabled.is_(False))
        .order_by(User.display_name).distinct()
    ))


def lead_choices() -> list[User]:
    """Anyone with an account can be a lived-experience lead."""
    return list(db.session.scalars(
        select(User).where(User.is_disabled.is_(False)).order_by(User.display_name)
    ))


# --- creating and editing panels --------


@dataclass
class PanelDetails:
    name: str
    purpose: str = ""
    who_for: str = ""
    terms_of_reference: str = ""
    group_agreement: str = ""
    involvement_level: int = 2
    visibility: str = Visibility.PUBLIC
    open_for_applications: bool = True
    size_limit: int | None = None
    facilitator_ids: tuple[int, ...] = ()
    lead_ids: tuple[int, ...] = ()
    # Set only by people who manage programmes; otherwise the panel keeps its programme.
    set_programme: bool = False
    programme_id: int | None = None


def _apply_details(panel: Panel, details: PanelDetails) -> None:
    if not details.name or not details.name.strip():
        raise ValidationFailed("Enter a name for the panel.")
    if details.involvement_level not in (1, 2, 3, 4):
        raise ValidationFailed("Choose an involvement level from 1 to 4.")
    if details.visibility not in (Visibility.PUBLIC, Visibility.MEMBERS):
        raise ValidationFailed("Choose who can see the panel in the list.")
    if details.size_limit is not None:
        if details.size_limit < 1:
            raise ValidationFailed("Enter a size limit of 1 or more, or leave it empty.")
        if details.size_limit < (panel.member_count or 0):
            raise ValidationFailed(
                f"The panel already has {panel.member_count} members, so the size limit "
                f"cannot be lower than that."
            )
    panel.name = details.name.strip()
    panel.purpose = details.purpose.strip()
    panel.who_for = details.who_for.strip()
    panel.terms_of_reference = details.terms_of_reference
    panel.terms_of_reference_html = sanitise(details.terms_of_reference)
    panel.group_agreement = details.group_agreement
    panel.group_agreement_html = sanitise(details.group_agreement)
    panel.involvement_level = details.involvement_level
    panel.visibility = details.visibility
    panel.open_for_applications = details.open_for_applications
    panel.size_limit = details.size_limit


def _set_staff(panel: Panel, facilitator_ids: Iterable[int], lead_ids: Iterable[int]) -> None:
    wanted: dict[int, str] = {}
    for user_id in lead_ids:
        wanted[int(user_id)] = PanelStaffRole.LIVED_EXPERIENCE_LEAD
    for user_id in facilitator_ids:
        wanted[int(user_id)] = PanelStaffRole.FACILITATOR
    for entry in list(panel.staff):
        if entry.user_id not in wanted:
            panel.staff.remove(entry)
        else:
            entry.role = wanted.pop(entry.user_id)
    for user_id, role in wanted.items():
        if db.session.get(User, user_id) is None:
            raise ValidationFailed("One of the people chosen no longer has an account.")
        panel.staff.append(PanelStaff(user_id=user_id, role=role))


def _apply_programme(actor, panel: Panel, details: PanelDetails, *, new: bool = False) -> None:
    if not details.set_programme:
        return
    programmes.check_panel_programme(actor, None if new else panel, details.programme_id)
    if panel.programme_id != details.programme_id:
        panel.programme_id = details.programme_id
        if not new:
            audit.record("panel.programme_changed", actor_id=actor.id, subject_type="panel",
                         subject_id=panel.id, programme_id=details.programme_id)


@atomic
def create_panel(actor, details: PanelDetails) -> Panel:
    if not can_create_panels(actor):
        raise NotAllowed("Only facilitators and programme leads can set up panels.")
    panel = Panel(created_by_id=actor.id, member_count=0)
    _apply_details(panel, details)
    _apply_programme(actor, panel, details, new=True)
    facilitators = set(details.facilitator_ids)
    if not actor.has_role(Role.PROGRAMME_LEAD):
        facilitators.add(actor.id)  # a facilitator always runs the panels they set up
    db.session.add(panel)
    _set_staff(panel, facilitators, details.lead_ids)
    db.session.flush()
    audit.record("panel.created", actor_id=actor.id, subject_type="panel", subject_id=panel.id)
    return panel


@atomic
def update_panel(actor, panel: Panel, details: PanelDetails) -> Panel:
    if not can_manage_panel(actor, panel):
        raise NotFound()
    db.session.refresh(panel)  # the current member count, not one read earlier
    _apply_details(panel, details)
    _apply_programme(actor, panel, details)
    facilitators = set(details.facilitator_ids)
    if not actor.has_role(Role.PROGRAMME_LEAD):
        facilitators.add(actor.id)  # nobody can remove themselves and lose the panel by mistake
    _set_staff(panel, facilitators, details.lead_ids)
    db.session.flush()
    audit.record("panel.updated", actor_id=actor.id, subject_type="panel", subject_id=panel.id)
    return panel


# --- joining --------


@atomic
def apply_to_panel(user, panel: Panel, *, why_joining: str = "", access_needs: str = "",
                   accepted_agreement: bool) -> PanelMembership:
    if not is_signed_in(user):
        raise NotAllowed("Please sign in to apply.")
    if not panel.open_for_applications:
        raise InvalidState("This panel is not taking applications at the moment.")
    if not accepted_agreement:
        raise ValidationFailed("To join, please read the involvement agreement and tick the box "
                               "to say you accept it.")
    membership = panel.membership_of(user)
    if membership is not None and membership.state in (MembershipState.APPLIED,
                                                       *PLACE_HOLDING_STATES):
        raise InvalidState("You have already applied to this panel, or you are a member.")
    now = clock.now()
    fields = dict(
        state=MembershipState.APPLIED,
        why_joining=why_joining.strip() or None,
        access_needs=access_needs.strip() or None,
        agreement_version=INVOLVEMENT_AGREEMENT_VERSION,
        agreement_accepted_at=now,
        applied_at=now,
        decided_at=None, decided_by_id=None, decision_message=None,
        joined_at=None, break_started_at=None, left_at=None,
    )
    if membership is None:
        membership = PanelMembership(panel_id=panel.id, user_id=user.id, **fields)
        try:
            with db.session.begin_nested():
                db.session.add(membership)
        except IntegrityError:
            # Two submits at once: the other one already made the application.
            raise InvalidState("You have already applied to this panel.") from None
    else:
        earlier = (membership.joined_at, membership.left_at)
        # Conditional update: a double submit after leaving re-applies only once.
        result = db.session.execute(
            update(PanelMembership)
            .where(PanelMembership.id == membership.id,
                   PanelMembership.state.in_([MembershipState.LEFT, MembershipState.DECLINED]))
            .values(**fields)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise InvalidState("You have already applied to this panel.")
        _keep_earlier_period(membership, *earlier)
        db.session.refresh(membership)
    audit.record("panel.applied", actor_id=user.id, subject_type="panel", subject_id=panel.id,
                 agreement_version=INVOLVEMENT_AGREEMENT_VERSION)
    for person in panel.facilitators_and_leads():
        if can_manage_panel(person, panel):
            notify(person, Message(
                "New application to a panel",
                f"Someone has applied to join {panel.name}.",
                url_for("panels.application", panel_id=panel.id, membership_id=membership.id),
            ))
    return membership


def _keep_earlier_period(membership: PanelMembership, joined_at, left_at) -> None:
    """Re-applying starts the row's dates afresh; an earlier time as a member is kept."""
    if joined_at is not None and left_at is not None:
        db.session.add(MembershipPeriod(membership_id=membership.id,
                                        panel_id=membership.panel_id,
                                        joined_at=joined_at, left_at=left_at))


def restore_earlier_periods(*where) -> None:
    """Before applications that never led to membership are removed (retention, or an account
    closing with its history kept): where such a row holds an earlier time as a member, that
    time goes back on the row as a membership that has ended, instead of being lost with the
    application. What the person wrote when applying again is cleared."""
    rows = db.session.scalars(
        select(PanelMembership).where(
            *where, PanelMembership.joined_at.is_(None),
            select(MembershipPeriod.id)
            .where(MembershipPeriod.membership_id == PanelMembership.id).exists()))
    for membership in rows:
        latest = db.session.scalars(
            select(MembershipPeriod).where(MembershipPeriod.membership_id == membership.id)
            .order_by(MembershipPeriod.joined_at.desc(), MembershipPeriod.id.desc())).first()
        membership.state = MembershipState.LEFT
        membership.joined_at, membership.left_at = latest.joined_at, latest.left_at
        membership.why_joining = membership.access_needs = membership.decision_message = None
        membership.decided_at = membership.decided_by_id = membership.break_started_at = None
        db.session.delete(latest)
    db.session.flush()


def get_application(actor, panel: Panel, membership_id: int) -> PanelMembership:
    membership = db.session.get(PanelMembership, membership_id)
    if (membership is None or membership.user_id is None or membership.panel_id != panel.id
            or not can_manage_panel(actor, panel)):
        raise NotFound()
    return membership


def _take_place(panel: Panel) -> None:
    """Claim one place on the panel, or fail if it is full. The WHERE clause is evaluated by the
    database against the row as it is now, so simultaneous claims cannot overfill the panel."""
    result = db.session.execute(
        update(Panel)
        .where(Panel.id == panel.id,
               or_(Panel.size_limit.is_(None), Panel.member_count < Panel.size_limit))
        .values(member_count=Panel.member_count + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvalidState(
            "The panel is full, so this application cannot be accepted right now. You could "
            "raise the size limit, or keep the application until a place comes free."
        )


def _give_back_place(panel_id: int) -> None:
    db.session.execute(
        update(Panel).where(Panel.id == panel_id, Panel.member_count > 0)
        .values(member_count=Panel.member_count - 1)
        .execution_options(synchronize_session=False)
    )


def _move(membership: PanelMembership, from_states: Iterable[str], message: str,
          **values) -> None:
    result = db.session.execute(
        update(PanelMembership)
        .where(PanelMembership.id == membership.id,
               PanelMembership.state.in_(list(from_states)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvalidState(message)
    db.session.refresh(membership)


@atomic
def accept_application(actor, membership: PanelMembership, message: str = "") -> None:
    panel = membership.panel
    if not can_manage_panel(actor, panel):
        raise NotFound()
    _take_place(panel)
    _move(membership, [MembershipState.APPLIED],
          "This application has already been answered.",
          state=MembershipState.ACTIVE, decided_at=clock.now(), decided_by_id=actor.id,
          decision_message=(message or "").strip() or None, joined_at=clock.now())
    db.session.refresh(panel)
    membership_started.send(panel, user=membership.user)
    audit.record("panel.application_accepted", actor_id=actor.id, subject_type="panel",
                 subject_id=panel.id, membership_id=membership.id)
    notify(membership.user, Message(
        "Your panel application",
        f"You have a reply about your application to {panel.name}.",
        url_for("panels.detail", panel_id=panel.id),
    ), dedupe_key=f"panel-decision:{membership.id}:{membership.decided_at.isoformat()}")


@atomic
def decline_application(actor, membership: PanelMembership, message: str = "") -> None:
    panel = membership.panel
    if not can_manage_panel(actor, panel):
        raise NotFound()
    _move(membership, [MembershipState.APPLIED],
          "This application has already been answered.",
          state=MembershipState.DECLINED, decided_at=clock.now(), decided_by_id=actor.id,
          decision_message=(message or "").strip() or None)
    audit.record("panel.application_declined", actor_id=actor.id, subject_type="panel",
                 subject_id=panel.id, membership_id=membership.id)
    notify(membership.user, Message(
        "Your panel application",
        f"You have a reply about your application to {panel.name}.",
        url_for("panels.detail", panel_id=panel.id),
    ), dedupe_key=f"panel-decision:{membership.id}:{membership.decided_at.isoformat()}")


def own_membership(user, panel: Panel) -> PanelMembership:
    membership = panel.membership_of(user)
    if membership is None:
        raise NotFound()
    return membership


def take_break(user, panel: Panel) -> None:
    membership = own_membership(user, panel)
    _move(membership, [MembershipState.ACTIVE], "You are not an active member of this panel.",
          state=MembershipState.ON_BREAK, break_started_at=clock.now())
    audit.record("panel.break_started", actor_id=user.id, subject_type="panel",
                 subject_id=panel.id)


def come_back(user, panel: Panel) -> None:
    membership = own_membership(user, panel)
    _move(membership, [MembershipState.ON_BREAK], "You are not taking a break from this panel.",
          state=MembershipState.ACTIVE, break_started_at=None)
    audit.record("panel.break_ended", actor_id=user.id, subject_type="panel",
                 subject_id=panel.id)


def leave_panel(user, panel: Panel) -> None:
    membership = own_membership(user, panel)
    if membership.state == MembershipState.APPLIED:
        _move(membership, [MembershipState.APPLIED], "Your application has already been "
              "answered.", state=MembershipState.LEFT, left_at=clock.now())
        audit.record("panel.application_withdrawn", actor_id=user.id, subject_type="panel",
                     subject_id=panel.id)
        return
    _move(membership, PLACE_HOLDING_STATES, "You are not a member of this panel.",
          state=MembershipState.LEFT, left_at=clock.now(), break_started_at=None)
    _give_back_place(panel.id)
    db.session.refresh(panel)
    audit.record("panel.left", actor_id=user.id, subject_type="panel", subject_id=panel.id)


def release_place_on_erasure(membership: PanelMembership) -> None:
    """A closing account leaves every panel it holds a place on. The leaving is written to the
    audit log like any other (ids and the action only), so the programme dashboard's "joining
    and leaving" figure counts it whichever choice the member made about their contributions."""
    if membership.state in PLACE_HOLDING_STATES:
        _give_back_place(membership.panel_id)
        audit.record("panel.left", actor_id=membership.user_id, subject_type="panel",
                     subject_id=membership.panel_id, reason="account_closed")


# --- messages to the panel --------


@atomic
def message_panel(actor, panel: Panel, subject: str, body: str) -> PanelMessage:
    if not can_manage_panel(actor, panel):
        raise NotFound()
    if not subject.strip() or not body.strip():
        raise ValidationFailed("Enter a subject and a message.")
    message = PanelMessage(panel_id=panel.id, sender_id=actor.id, subject=subject.strip(),
                           body=body.strip())
    db.session.add(message)
    db.session.flush()
    recipients = active_members(panel)
    for person in recipients:
        notify(person, Message(
            f"Message from {panel.name}: {message.subject}",
            message.body,
            url_for("panels.detail", panel_id=panel.id, _anchor="messages"),
        ), dedupe_key=f"panel-message:{message.id}:{person.id}")
    audit.record("panel.messaged", actor_id=actor.id, subject_type="panel", subject_id=panel.id,
                 recipients=len(recipients))
    return message


def panel_messages(panel: Panel, limit: int = 10) -> list[PanelMessage]:
    return list(db.session.scalars(
        select(PanelMessage).where(PanelMessage.panel_id == panel.id)
        .order_by(PanelMessage.sent_at.desc(), PanelMessage.id.desc()).limit(limit)
    ))


# --- attribution --------


def attribution_of(user) -> AttributionPreference:
    """The person's choice, or the most private default (not credited) if they have not chosen."""
    pref = db.session.get(AttributionPreference, user.id)
    return pref or AttributionPreference(user_id=user.id, choice=Attribution.NOT_CREDITED)


@atomic
def set_attribution(user, choice: str, pseudonym: str = "") -> AttributionPreference:
    if choice not in set(Attribution):
        raise ValidationFailed("Choose how you would like to be credited.")
    pseudonym = (pseudonym or "").strip()
    if choice == Attribution.PSEUDONYM and not pseudonym:
        raise ValidationFailed("Enter the name you would like us to use, or choose another "
                               "option.")
    if len(pseudonym) > 60:
        raise ValidationFailed("Use 60 characters or fewer for the name.")
    pref = db.session.get(AttributionPreference, user.id)
    if pref is None:
        pref = AttributionPreference(user_id=user.id)
        db.session.add(pref)
    pref.choice = choice
    pref.pseudonym = pseudonym if choice == Attribution.PSEUDONYM else None
    db.session.flush()
    audit.record("attribution.changed", actor_id=user.id, subject_type="user",
                 subject_id=user.id)
    return pref


def credit_for(user) -> str | None:
    """How to credit this person in published material, as they chose; None means uncredited."""
    if user is None:
        return None
    pref = attribution_of(user)
    if pref.choice == Attribution.PSEUDONYM:
        return pref.pseudonym
    if pref.choice == Attribution.DISPLAY_NAME:
        return user.display_name
    return None


# --- sections other domains add to the panel page --------

# Higher domains (consultations, events) add a section to the members' area of the panel page
# without the panels domain importing them: a function (panel, user) that returns
# {"title": str, "items": [{"label", "url", "detail"}], "empty": str} or None.
PANEL_PAGE_SECTIONS = Hook("panels.page_sections")


def panel_sections(panel: Panel, user) -> list[dict]:
    return PANEL_PAGE_SECTIONS.results(panel, user)


# --- notices other domains add before someone accepts a role --------

# Higher domains (payments: the benefits and tax notice before a paid role) add a notice to the
# pages where a person accepts a role (applying to a panel, booking an event) without panels or
# events importing them: a function (user, involvement_level, where) that returns HTML to show
# above the form, or None. `where` names the page, like "panel 3" or "event 12", so the
# contributor can record what it showed where. A notice never blocks accepting.
ROLE_NOTICES = Hook("panels.role_notices")


def role_notices(user, involvement_level: int, where: str) -> list:
    return ROLE_NOTICES.results(user, involvement_level, where)
