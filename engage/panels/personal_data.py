"""The panels domain's personal data: memberships, panel roles, messages sent, attribution."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from engage.core import clock
from engage.core.clock import iso
from engage.core.personal_data import PersonalDataKind
from engage.extensions import db
from engage.panels.models import (
    AttributionPreference,
    MembershipPeriod,
    MembershipState,
    Panel,
    PanelMembership,
    PanelMessage,
    PanelStaff,
)
from engage.panels.retention import UNFINISHED_APPLICATIONS_RULE
from engage.panels.services import release_place_on_erasure, restore_earlier_periods


def _earlier_times(user) -> dict[int, list[dict[str, str | None]]]:
    """Each membership's earlier times as a member, in one query."""
    times: dict[int, list[dict[str, str | None]]] = {}
    for period in db.session.scalars(
            select(MembershipPeriod)
            .join(PanelMembership, PanelMembership.id == MembershipPeriod.membership_id)
            .where(PanelMembership.user_id == user.id)
            .order_by(MembershipPeriod.joined_at)):
        times.setdefault(period.membership_id, []).append(
            {"joined_at": iso(period.joined_at), "left_at": iso(period.left_at)})
    return times


def _memberships(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(PanelMembership).where(PanelMembership.user_id == user.id))
    earlier = _earlier_times(user)
    return [{
        "panel": m.panel.name,
        "state": m.state,
        "why_joining": m.why_joining,
        "access_needs": m.access_needs,
        "involvement_agreement_version": m.agreement_version,
        "involvement_agreement_accepted_at": iso(m.agreement_accepted_at),
        "applied_at": iso(m.applied_at),
        "decided_at": iso(m.decided_at),
        "decision_message": m.decision_message,
        "joined_at": iso(m.joined_at),
        "left_at": iso(m.left_at),
        "earlier_times_as_a_member": earlier.get(m.id, []),
    } for m in rows]


def _release_places_and_staff_decisions(user) -> None:
    for membership in db.session.scalars(
        select(PanelMembership).where(PanelMembership.user_id == user.id)
    ):
        release_place_on_erasure(membership)
    db.session.execute(update(PanelMembership).where(PanelMembership.decided_by_id == user.id)
                       .values(decided_by_id=None))


def _erase_memberships(user) -> None:
    _release_places_and_staff_decisions(user)
    db.session.execute(delete(PanelMembership).where(PanelMembership.user_id == user.id))


def _keep_memberships_without_name(user) -> None:
    """The member chose to keep their contributions: memberships that had begun stay as the
    panel's history (so past membership figures do not change), with no link to them and
    nothing they told us. A closed account has left every panel, so its place is given back
    and the leaving time set. Applications that never led to membership are not history and
    are deleted."""
    _release_places_and_staff_decisions(user)
    mine = PanelMembership.user_id == user.id
    restore_earlier_periods(mine)
    db.session.execute(delete(PanelMembership).where(mine, PanelMembership.joined_at.is_(None))
                       .execution_options(synchronize_session=False))
    db.session.execute(update(PanelMembership).where(mine, PanelMembership.left_at.is_(None))
                       .values(left_at=clock.now())
                       .execution_options(synchronize_session=False))
    db.session.execute(update(PanelMembership).where(mine)
                       .values(user_id=None, state=MembershipState.LEFT, break_started_at=None,
                               why_joining=None, access_needs=None, decision_message=None)
                       .execution_options(synchronize_session=False))
    db.session.expire_all()


def _staff(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(PanelStaff).where(PanelStaff.user_id == user.id))
    return [{"panel": s.panel.name, "role": s.role} for s in rows]


def _erase_staff(user) -> None:
    db.session.execute(delete(PanelStaff).where(PanelStaff.user_id == user.id))


def _panels_created(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Panel).where(Panel.created_by_id == user.id))
    return [{"panel": p.name, "created_at": iso(p.created_at)} for p in rows]


def _erase_panels_created(user) -> None:
    db.session.execute(update(Panel).where(Panel.created_by_id == user.id)
                       .values(created_by_id=None))


def _messages(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(PanelMessage).where(PanelMessage.sender_id == user.id))
    return [{"subject": m.subject, "body": m.body, "sent_at": iso(m.sent_at)} for m in rows]


def _erase_messages(user) -> None:
    db.session.execute(update(PanelMessage).where(PanelMessage.sender_id == user.id)
                       .values(sender_id=None))


def _attribution(user) -> list[dict[str, Any]]:
    pref = db.session.get(AttributionPreference, user.id)
    if pref is None:
        return []
    return [{"choice": pref.choice, "pseudonym": pref.pseudonym,
             "updated_at": iso(pref.updated_at)}]


def _erase_attribution(user) -> None:
    db.session.execute(delete(AttributionPreference)
                       .where(AttributionPreference.user_id == user.id))


KINDS = [
    PersonalDataKind("panel_memberships", "Your panels",
                     "To know which panels you belong to and when, your agreement to the "
                     "involvement agreement, and any support you asked for.",
                     "You, and the facilitators of that panel. Access needs are encrypted.",
                     "Until you close your account. Applications that did not lead to "
                     "membership are deleted sooner.", _memberships, _erase_memberships,
                     retention=UNFINISHED_APPLICATIONS_RULE,
                     anonymise=_keep_memberships_without_name,
                     anonymise_note="Panels you were a member of keep a record that a member "
                     "joined and left, without your name, so their history stays right. "
                     "Nobody can see it was you. You leave any panel you are still in; what "
                     "you told us when applying, and applications that did not lead to "
                     "membership, are deleted."),
    PersonalDataKind("panel_staff", "Panels you help run", "To show who runs each panel.",
                     "Everyone who can see the panel.", "Until you close your account.",
                     _staff, _erase_staff),
    PersonalDataKind("panels", "Panels you set up", "To keep a record of who set up a panel.",
                     "Staff.", "Until you close your account.", _panels_created,
                     _erase_panels_created,
                     on_close="The panel stays, without your name."),
    PersonalDataKind("panel_messages", "Messages you sent to a panel",
                     "So panel members can read them.", "Members of that panel.",
                     "The messages stay with the panel without your name after your account "
                     "closes.", _messages, _erase_messages,
                     on_close="Kept with the panel, without your name."),
    PersonalDataKind("attribution_preferences", "How you are credited",
                     "To credit you the way you chose when we quote you publicly.",
                     "You, and staff preparing published results.",
                     "Until you close your account.", _attribution, _erase_attribution),
]
