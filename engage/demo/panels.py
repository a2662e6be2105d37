"""Demo panels for `make run`: a survivor panel with a lived-experience lead, and an open
network. Safe to run twice."""

from __future__ import annotations

from sqlalchemy import select

from engage.core import clock
from engage.extensions import db
from engage.panels.agreement import INVOLVEMENT_AGREEMENT_VERSION
from engage.panels.models import (
    Attribution,
    AttributionPreference,
    MembershipState,
    Panel,
    PanelMembership,
    PanelStaff,
    PanelStaffRole,
    Programme,
    Visibility,
)
from engage.panels.richtext import sanitise

DEMO_PROGRAMME = "Regional survivor voice programme"
SURVIVOR_PANEL = "Survivors' Voice Panel"
OPEN_NETWORK = "Open Voices Network"

TERMS = """The panel advises the regional partnership on services for people affected by \
sexual violence and abuse.

- We meet once a month, online or in person, for two hours.
- Members review plans, leaflets and service changes before they happen.
- The panel is co-chaired by a lived-experience lead and a facilitator."""

AGREEMENT = """- What is shared in the panel stays in the panel.
- Nobody has to talk about their own experiences.
- It is fine to step out, take a break or say "pass" at any time.
- We listen without judging, and we disagree kindly."""


def _panel(name: str, **fields) -> tuple[Panel, bool]:
    panel = db.session.scalar(select(Panel).where(Panel.name == name))
    if panel is not None:
        return panel, False
    panel = Panel(name=name, member_count=0, **fields)
    panel.terms_of_reference_html = sanitise(panel.terms_of_reference)
    panel.group_agreement_html = sanitise(panel.group_agreement)
    db.session.add(panel)
    db.session.flush()
    return panel, True


def _member(panel: Panel, user, note: str | None = None) -> None:
    now = clock.now()
    db.session.add(PanelMembership(
        panel_id=panel.id, user_id=user.id, state=MembershipState.ACTIVE,
        why_joining=note, agreement_version=INVOLVEMENT_AGREEMENT_VERSION,
        agreement_accepted_at=now, applied_at=now, decided_at=now, joined_at=now,
        decision_message="Welcome to the panel. We are glad you are here."))
    panel.member_count += 1


def seed(people: dict) -> list[str]:
    facilitator = people["demo-facilitator"]
    lead = people["demo-member2"]
    member = people["demo-member"]
    lines = []

    survivor, created = _panel(
        SURVIVOR_PANEL,
        purpose="A standing panel of survivors of sexual violence and abuse who shape the "
                "region's support services.",
        who_for="Adults (18+) in the region with lived experience of sexual violence or abuse, "
                "at any stage of their recovery.",
        terms_of_reference=TERMS, group_agreement=AGREEMENT, involvement_level=3,
        visibility=Visibility.PUBLIC, open_for_applications=True, size_limit=12,
        created_by_id=facilitator.id)
    if created:
        survivor.staff.append(PanelStaff(user_id=facilitator.id, role=PanelStaffRole.FACILITATOR))
        survivor.staff.append(PanelStaff(user_id=lead.id,
                                         role=PanelStaffRole.LIVED_EXPERIENCE_LEAD))
        _member(survivor, lead, "I want to help shape services I once needed.")
        lines.append(f"  Panel: {SURVIVOR_PANEL} (facilitator demo-facilitator, lived-experience "
                     "lead demo-member2; demo-member can apply)")

    network, created = _panel(
        OPEN_NETWORK,
        purpose="An open network for anyone with lived experience who wants to hear about "
                "consultations and events, and take part when it suits them.",
        who_for="Anyone with lived experience of trauma, abuse or violence.",
        terms_of_reference="Members hear about opportunities and choose what to take part in.",
        group_agreement="Be kind. Take part as much or as little as you like.",
        involvement_level=1, visibility=Visibility.PUBLIC, open_for_applications=True,
        created_by_id=facilitator.id)
    if created:
        network.staff.append(PanelStaff(user_id=facilitator.id, role=PanelStaffRole.FACILITATOR))
        _member(network, member)
        _member(network, lead)
        lines.append(f"  Panel: {OPEN_NETWORK} (open network; demo-member and demo-member2 "
                     "are members)")

    programme = db.session.scalar(select(Programme).where(Programme.name == DEMO_PROGRAMME))
    if programme is None:
        programme = Programme(name=DEMO_PROGRAMME, is_active=True,
                              description="The demo panels' programme: finance filters claims "
                                          "and reports spend by it.")
        db.session.add(programme)
        db.session.flush()
        lines.append(f"  Programme: {DEMO_PROGRAMME} (both demo panels)")
    for panel in (survivor, network):
        if panel.programme_id is None:
            panel.programme_id = programme.id

    if db.session.get(AttributionPreference, lead.id) is None:
        db.session.add(AttributionPreference(user_id=lead.id, choice=Attribution.PSEUDONYM,
                                             pseudonym="Kestrel"))
    db.session.flush()
    return lines
