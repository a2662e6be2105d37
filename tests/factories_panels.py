"""Factories for panels: each returns a flushed object; tests commit if needed."""

from __future__ import annotations

import itertools

from engage.core import clock
from engage.extensions import db
from engage.panels.agreement import INVOLVEMENT_AGREEMENT_VERSION
from engage.panels.models import (
    MembershipState,
    Panel,
    PanelMembership,
    PanelStaff,
    PanelStaffRole,
    Visibility,
)

_counter = itertools.count(1)


def make_panel(*, name: str | None = None, facilitators=(), leads=(), size_limit=None,
               visibility: str = Visibility.PUBLIC, open_for_applications: bool = True,
               involvement_level: int = 3, group_agreement: str = "We listen to each other.",
               terms_of_reference: str = "We meet monthly.") -> Panel:
    panel = Panel(
        name=name or f"Panel {next(_counter)}",
        purpose="To shape local services together.",
        who_for="Adult survivors living in the region.",
        terms_of_reference=terms_of_reference,
        terms_of_reference_html=f"<p>{terms_of_reference}</p>",
        group_agreement=group_agreement,
        group_agreement_html=f"<p>{group_agreement}</p>",
        involvement_level=involvement_level,
        visibility=visibility,
        open_for_applications=open_for_applications,
        size_limit=size_limit,
        member_count=0,
    )
    for user in facilitators:
        panel.staff.append(PanelStaff(user_id=user.id, role=PanelStaffRole.FACILITATOR))
    for user in leads:
        panel.staff.append(PanelStaff(user_id=user.id, role=PanelStaffRole.LIVED_EXPERIENCE_LEAD))
    db.session.add(panel)
    db.session.flush()
    return panel


def make_membership(panel: Panel, user, state: str = MembershipState.ACTIVE,
                    access_needs: str | None = None, why_joining: str | None = None
                    ) -> PanelMembership:
    now = clock.now()
    membership = PanelMembership(
        panel_id=panel.id, user_id=user.id, state=state, access_needs=access_needs,
        why_joining=why_joining, agreement_version=INVOLVEMENT_AGREEMENT_VERSION,
        agreement_accepted_at=now, applied_at=now,
        joined_at=now if state in (MembershipState.ACTIVE, MembershipState.ON_BREAK) else None,
    )
    db.session.add(membership)
    if state in (MembershipState.ACTIVE, MembershipState.ON_BREAK):
        panel.member_count += 1
    db.session.flush()
    return membership


class PersonClient:
    """A browser for one person. Tests hold an app context for their whole run, so what Flask
    keeps per context in flask.g (Flask-WTF's CSRF token, Flask-Login's current user) would leak
    between two people's browsers; each request here starts without it, as on a real server."""

    def __init__(self, app, user=None) -> None:
        from tests.conftest import FormClient
        from tests.factories import PASSWORD, totp_now

        self.client = app.test_client()
        self.form = FormClient(self.client)
        self.user = user
        if user is not None:
            response = self.post("/sign-in", {"username": user.username, "password": PASSWORD})
            if response.headers.get("Location", "").endswith("/sign-in/two-factor"):
                response = self.post("/sign-in/two-factor", {"code": totp_now(user)})
            assert response.status_code == 302, "sign in failed"

    def get(self, url: str, **kwargs):
        _forget_request_state()
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict | None = None, **kwargs):
        _forget_request_state()
        return self.form.post(url, data, **kwargs)

    def raw_post(self, url: str, data: dict, **kwargs):
        """POST exactly this data (including a csrf_token taken earlier)."""
        _forget_request_state()
        return self.client.post(url, data=data, **kwargs)


def _forget_request_state() -> None:
    from flask import g

    for key in ("csrf_token", "_login_user"):
        g.pop(key, None)
