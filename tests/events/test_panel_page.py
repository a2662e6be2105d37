"""Members of a panel see its upcoming events on the panel page."""

from __future__ import annotations

from datetime import timedelta

from engage.core.permissions import Role
from tests.conftest import FormClient
from tests.factories import make_member, make_staff, sign_in
from tests.factories_events import make_event, make_panel


def test_panel_members_see_upcoming_events_on_the_panel_page(app, db):
    facilitator = make_staff(Role.FACILITATOR)
    member = make_member()
    panel = make_panel(facilitators=[facilitator], members=[member])
    make_event(organiser=facilitator, panel=panel, title="Spring planning meeting",
               starts_in=timedelta(days=5))
    make_event(organiser=facilitator, panel=panel, title="Last winter's meeting",
               starts_in=timedelta(days=-40))
    make_event(organiser=facilitator, title="Someone else's open event",
               starts_in=timedelta(days=3))
    db.session.commit()
    visitor = FormClient(app.test_client())
    sign_in(visitor, member)
    html = visitor.get(f"/panels/{panel.id}").get_data(as_text=True)
    assert "Upcoming events" in html
    assert "Spring planning meeting" in html
    assert "Last winter" not in html
    assert "Someone else" not in html


def test_people_outside_the_panel_do_not_see_its_events(app, db):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator], members=[make_member()])
    make_event(organiser=facilitator, panel=panel, title="Members only meeting")
    outsider = make_member()
    db.session.commit()
    visitor = FormClient(app.test_client())
    sign_in(visitor, outsider)
    assert "Members only meeting" not in visitor.get(f"/panels/{panel.id}").get_data(
        as_text=True)
