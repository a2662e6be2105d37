"""A member's "your impact" page: what they took part in and what it led to.

The page is a list of sections from providers `(user) -> ImpactSection | None`, added in
engage/dashboard/__init__.py's init_app with `wiring.add_hook(app, IMPACT_SECTIONS, provider)`.
Panels and consultations are here; impact_domains.py has the rest:

- events: the events the person attended (from AttendanceRecord);
- feedback: the feedback they gave with their name, and anonymous feedback only when they add
  its code themselves (and can remove it again: an item with `remove_url` gets a button);
- changes: the "you said, we did" entries their contributions are linked to ("your voice is
  part of 3 changes"), with each entry's status;
- payments: a summary of involvement payments and expenses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from engage.consultations.models import (
    Consultation,
    ConsultationState,
    ParticipationReceipt,
    Response,
    ResponseStatus,
)
from engage.core.wiring import Hook
from engage.extensions import db
from engage.panels.models import MembershipState, PanelMembership


@dataclass
class ImpactItem:
    title: str
    status: str
    link: str | None = None
    # A POST address that takes the item off the page again (a button with a CSRF token).
    remove_url: str | None = None


@dataclass
class ImpactSection:
    key: str
    title: str
    summary: str
    items: list[ImpactItem] = field(default_factory=list)
    empty: str = ""
    # A template shown at the end of the section (for example, a way to add items).
    extra_template: str | None = None


ImpactProvider = Callable[[object], ImpactSection | None]
IMPACT_SECTIONS = Hook("dashboard.impact_sections")


def impact_for(user) -> list[ImpactSection]:
    return IMPACT_SECTIONS.results(user)


def panels_joined(user) -> ImpactSection:
    memberships = db.session.scalars(
        select(PanelMembership).where(PanelMembership.user_id == user.id,
                                      PanelMembership.joined_at.is_not(None))
        .order_by(PanelMembership.joined_at)).all()
    items = [ImpactItem(m.panel.name, m.state_label,
                        url_for("panels.detail", panel_id=m.panel_id)) for m in memberships]
    current = sum(m.state in (MembershipState.ACTIVE, MembershipState.ON_BREAK)
                  for m in memberships)
    return ImpactSection("panels", _("Panels"),
                         ngettext("You have joined %(num)s panel; you are a member of %(c)s now.",
                                  "You have joined %(num)s panels; you are a member of %(c)s "
                                  "now.", len(memberships), c=current),
                         items, _("You have not joined a panel yet."))


def consultations_answered(user) -> ImpactSection:
    responses = db.session.execute(
        select(Consultation).join(Response, Response.consultation_id == Consultation.id)
        .where(Response.user_id == user.id, Response.status == ResponseStatus.SUBMITTED)
        .order_by(Response.submitted_at)).scalars().all()
    items = []
    for consultation in responses:
        published = consultation.state == ConsultationState.PUBLISHED
        items.append(ImpactItem(
            consultation.title,
            _("Results published") if published else consultation.state_label,
            url_for("consultations.results", consultation_id=consultation.id) if published
            else url_for("consultations.detail", consultation_id=consultation.id)))
    anonymous = db.session.scalar(select(func.count()).select_from(ParticipationReceipt)
                                  .where(ParticipationReceipt.user_id == user.id)) or 0
    summary = ngettext("You answered %(num)s consultation with your name.",
                       "You answered %(num)s consultations with your name.", len(items))
    if anonymous:
        summary += " " + ngettext(
            "You also took part in %(num)s anonymous consultation. Your answers there are not "
            "linked to you, so they are not listed.",
            "You also took part in %(num)s anonymous consultations. Your answers there are not "
            "linked to you, so they are not listed.", anonymous)
    return ImpactSection("consultations", _("Consultations"), summary, items,
                         _("You have not answered a consultation with your name yet."))
