"""Closing an account and panel memberships: "keep my contributions without my name" keeps past
memberships as unnamed history (so past figures do not change); deleting removes them. Unnamed
rows never appear as a person and never take a place on a panel."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engage.core import clock
from engage.core.permissions import Role
from engage.core.personal_data import close_all
from engage.extensions import db as _db
from engage.lifecycle import retention
from engage.panels import services as panels
from engage.panels.models import MembershipState, Panel, PanelMembership
from tests.conftest import FormClient
from tests.factories import PASSWORD, make_member, make_staff, sign_in
from tests.factories_panels import make_membership, make_panel


def memberships(panel: Panel) -> list[PanelMembership]:
    return list(_db.session.scalars(select(PanelMembership)
                                    .where(PanelMembership.panel_id == panel.id)
                                    .order_by(PanelMembership.id)))


def unnamed() -> list[PanelMembership]:
    return list(_db.session.scalars(select(PanelMembership)
                                    .where(PanelMembership.user_id.is_(None))))


def _history(db, person):
    """One person in every state: active, on a break, left, waiting, declined."""
    facilitator = make_staff(Role.FACILITATOR)
    active = make_panel(name="Active panel", facilitators=[facilitator], size_limit=1)
    on_break = make_panel(name="Break panel", facilitators=[facilitator])
    left = make_panel(name="Left panel", facilitators=[facilitator])
    waiting = make_panel(name="Waiting panel", facilitators=[facilitator])
    declined = make_panel(name="Declined panel", facilitators=[facilitator])
    make_membership(active, person, access_needs="A quiet room, please",
                    why_joining="To be heard")
    make_membership(on_break, person, MembershipState.ON_BREAK)
    gone = make_membership(left, person)
    panels.leave_panel(person, left)
    make_membership(waiting, person, MembershipState.APPLIED, why_joining="I want to help")
    refused = make_membership(declined, person, MembershipState.APPLIED)
    panels.decline_application(facilitator, refused, "Sorry, Robin: the panel is full.")
    db.session.commit()
    return facilitator, {"active": active, "on_break": on_break, "left": left,
                         "waiting": waiting, "declined": declined}, gone.left_at


def test_keeping_contributions_keeps_past_memberships_unnamed_and_left(db, request_ctx):
    person = make_member()
    _facilitator, p, left_before = _history(db, person)
    moment = clock.now() + timedelta(hours=1)
    with clock.frozen(moment):
        close_all(person, keep_contributions=True)
    db.session.commit()
    db.session.expire_all()

    kept = {m.panel_id: m for m in unnamed()}
    assert set(kept) == {p["active"].id, p["on_break"].id, p["left"].id}
    for membership in kept.values():
        assert membership.state == MembershipState.LEFT
        assert membership.joined_at is not None
        assert membership.why_joining is None and membership.access_needs is None
        assert membership.decision_message is None and membership.break_started_at is None
    assert kept[p["active"].id].left_at == moment  # a closed account has left
    assert kept[p["on_break"].id].left_at == moment
    assert kept[p["left"].id].left_at == left_before  # an earlier leaving time stays
    # Applications that never led to membership are not history.
    assert memberships(p["waiting"]) == [] and memberships(p["declined"]) == []
    # Places are given back.
    assert db.session.get(Panel, p["active"].id).member_count == 0
    assert db.session.get(Panel, p["on_break"].id).member_count == 0
    # The retention rule for unfinished applications never touches this history.
    with clock.frozen(moment + timedelta(days=3650)):
        retention.apply_all()
    assert len(unnamed()) == 3


def test_deleting_contributions_deletes_memberships_as_before(db, request_ctx):
    person = make_member()
    _facilitator, p, _left = _history(db, person)
    close_all(person, keep_contributions=False)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(PanelMembership)) == 0
    assert db.session.get(Panel, p["active"].id).member_count == 0


def test_unnamed_history_takes_no_place_so_the_panel_can_fill_again(db, request_ctx):
    person, newcomer = make_member(), make_member()
    facilitator, p, _left = _history(db, person)
    full = p["active"]
    application = make_membership(full, newcomer, MembershipState.APPLIED)
    db.session.commit()
    assert full.is_full
    close_all(person, keep_contributions=True)
    db.session.commit()
    db.session.expire_all()
    panels.accept_application(facilitator, application)
    db.session.commit()
    assert db.session.get(Panel, full.id).member_count == 1


def test_several_closed_accounts_can_share_a_panel(db, request_ctx):
    """NULL user ids are distinct in the (panel, user) unique constraint on SQLite and
    PostgreSQL alike."""
    panel = make_panel()
    people = [make_member() for _ in range(3)]
    for person in people:
        make_membership(panel, person)
    db.session.commit()
    for person in people:
        close_all(person, keep_contributions=True)
        db.session.commit()
    assert len(unnamed()) == 3
    assert db.session.get(Panel, panel.id).member_count == 0


def test_unnamed_history_never_shows_as_a_person(app, db, request_ctx):
    person, stays = make_member(display_name="Robin Closed"), make_member(display_name="Sky")
    facilitator, p, _left = _history(db, person)
    make_membership(p["active"], stays, MembershipState.LEFT)  # someone with an account
    db.session.commit()
    close_all(person, keep_contributions=True)
    db.session.commit()
    hidden = {m.panel_id: m.id for m in unnamed()}
    staff = FormClient(app.test_client())
    sign_in(staff, facilitator)
    for panel in p.values():
        page = staff.get(f"/panels/{panel.id}/applications").get_data(as_text=True)
        assert "Robin Closed" not in page
        assert "<li>: " not in page  # no nameless line
        detail = staff.get(f"/panels/{panel.id}").get_data(as_text=True)
        assert "Robin Closed" not in detail
    sky_page = staff.get(f"/panels/{p['active'].id}/applications").get_data(as_text=True)
    assert "Sky: Left the panel" in sky_page
    for panel_id, membership_id in hidden.items():
        response = staff.get(f"/panels/{panel_id}/applications/{membership_id}")
        assert response.status_code == 404
        decided = staff.post(f"/panels/{panel_id}/applications/{membership_id}/accept",
                             {"accept-message": "Welcome"},
                             form_url=f"/panels/{panel_id}/applications")
        assert decided.status_code == 404
    assert all(m.user_id is not None for m in panels.applications(p["active"]))


def test_the_close_page_says_what_happens_to_panels(db, browser_like, request_ctx):
    person = make_member()
    _history(db, person)
    sign_in(browser_like, person)
    page = browser_like.get("/account/close").get_data(as_text=True)
    row = page.split("Your panels</th>")[1].split("</tr>")[0]
    assert "Deleted." in row
    assert "keep a record that a member joined and left, without your name" in row
    assert "You leave any panel you are still in" in row


def _members_per_panel(lead_client) -> list[list[str]]:
    response = lead_client.get("/dashboard/download/members-per-panel.csv")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.parametrize("keep", [True, False])
def test_past_membership_figures_and_the_closing_choice(app, db, request_ctx, keep):
    """Keeping contributions leaves every past month as it was; only the current month, in
    which the person left, changes. Deleting them takes the person out of past months too."""
    person, other = make_member(), make_member()
    panel = make_panel(name="Survivors' voice panel")
    for member in (person, other):
        membership = make_membership(panel, member)
        membership.joined_at = clock.now() - timedelta(days=100)
    db.session.commit()
    lead = FormClient(app.test_client())
    sign_in(lead, make_staff(Role.PROGRAMME_LEAD))
    before = _members_per_panel(lead)
    assert before[1][-1] == "2"

    closing = FormClient(app.test_client())
    sign_in(closing, person)
    done = closing.post("/account/close", {"password": PASSWORD,
                                           "contributions": "keep" if keep else "remove"})
    assert "Your account is closed" in done.get_data(as_text=True)
    after = _members_per_panel(lead)

    past_before = [row[:-1] for row in before]
    past_after = [row[:-1] for row in after]
    assert after[1][-1] == "1"  # this month: the person has left
    if keep:
        assert past_after == past_before
    else:
        assert past_after != past_before
        assert "2" not in after[1][1:]


@pytest.mark.parametrize("keep", [True, False])
def test_closing_an_account_counts_as_leaving_each_panel_held(db, request_ctx, keep):
    """The dashboard's "joining and leaving" figure counts a closed account as leaving every
    panel it held a place on (active or on a break), and not the panels it had already left
    or only applied to."""
    from datetime import date

    from engage.dashboard.sections import Filters, build_sections

    person = make_member()
    _facilitator, p, _left = _history(db, person)
    today = clock.now().date()
    shown = Filters(start=date(today.year, today.month, 1), end=today)

    def left_per_panel() -> dict[int, int]:
        counts = {}
        for name, panel in p.items():
            one = Filters(shown.start, shown.end, panel_id=panel.id)
            figure = next(f for s in build_sections(one) for f in s.figures
                          if f.key == "joiners-and-leavers")
            counts[name] = sum(row[2] for row in figure.rows)
        return counts

    before = left_per_panel()
    close_all(person, keep_contributions=keep)
    db.session.commit()
    after = left_per_panel()
    assert {name: after[name] - before[name] for name in p} == {
        "active": 1, "on_break": 1, "left": 0, "waiting": 0, "declined": 0}


def _rejoin_history(db, person):
    """A member from January to March who applied again in May and was accepted in June."""
    from datetime import UTC, datetime

    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(name="Rejoin panel", facilitators=[facilitator])
    with clock.frozen(datetime(2026, 1, 10, tzinfo=UTC)):
        make_membership(panel, person)
    with clock.frozen(datetime(2026, 3, 20, tzinfo=UTC)):
        panels.leave_panel(person, panel)
    with clock.frozen(datetime(2026, 5, 5, tzinfo=UTC)):
        again = panels.apply_to_panel(person, panel, why_joining="Ready again",
                                      accepted_agreement=True)
    db.session.commit()
    return facilitator, panel, again


def _members_by_month(panel) -> list:
    from datetime import date

    from engage.dashboard.sections import Filters, build_sections

    one = Filters(start=date(2026, 1, 1), end=date(2026, 7, 31), panel_id=panel.id)
    figure = next(f for s in build_sections(one) for f in s.figures
                  if f.key == "members-per-panel")
    return figure.rows[0][1:]


def test_someone_who_left_and_joined_again_is_counted_for_both_times(db, request_ctx):
    from datetime import UTC, datetime

    from engage.panels.models import MembershipPeriod

    person = make_member()
    facilitator, panel, again = _rejoin_history(db, person)
    with clock.frozen(datetime(2026, 6, 2, tzinfo=UTC)):
        panels.accept_application(facilitator, again)
    db.session.commit()
    with clock.frozen(datetime(2026, 7, 15, tzinfo=UTC)):
        #                             Jan Feb Mar Apr May Jun Jul
        assert _members_by_month(panel) == [1, 1, 0, 0, 0, 1, 1]
    [earlier] = db.session.scalars(select(MembershipPeriod)).all()
    assert (earlier.joined_at.month, earlier.left_at.month) == (1, 3)
    # Still one row for the person on this panel.
    assert len(memberships(panel)) == 1
    # The person's data download shows both times.
    from engage.core.personal_data import export_all
    [mine] = export_all(person)["panel_memberships"]
    assert mine["joined_at"].startswith("2026-06-02")
    assert [t["joined_at"][:10] for t in mine["earlier_times_as_a_member"]] == ["2026-01-10"]


def test_a_second_submit_of_the_same_application_keeps_one_earlier_time(db, request_ctx):
    from engage.errors import InvalidState
    from engage.panels.models import MembershipPeriod

    person = make_member()
    _facilitator, panel, _again = _rejoin_history(db, person)
    with pytest.raises(InvalidState):
        panels.apply_to_panel(person, panel, accepted_agreement=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MembershipPeriod)) == 1


@pytest.mark.parametrize("how", ["retention", "close_keep", "close_delete"])
def test_removing_a_waiting_application_keeps_or_removes_the_earlier_time(db, request_ctx, how):
    """A re-application left waiting is an unfinished application: the retention rule and
    closing an account with "keep" remove it but put the earlier membership back on the row;
    closing with "delete" removes both."""
    from engage.panels.models import MembershipPeriod

    person = make_member()
    _facilitator, panel, _again = _rejoin_history(db, person)
    if how == "retention":
        with clock.frozen(clock.now() + timedelta(days=400)):
            retention.apply_all()
    else:
        close_all(person, keep_contributions=how == "close_keep")
    db.session.commit()
    db.session.expire_all()
    rows = memberships(panel)
    assert db.session.scalar(select(func.count()).select_from(MembershipPeriod)) == 0
    if how == "close_delete":
        assert rows == []
        return
    [row] = rows
    assert row.state == MembershipState.LEFT
    assert (row.joined_at.month, row.left_at.month) == (1, 3)
    assert row.why_joining is None
    assert row.user_id == (person.id if how == "retention" else None)
    with clock.frozen(clock.now() + timedelta(days=400)):
        retention.apply_all()  # history is never an unfinished application
    assert len(memberships(panel)) == 1
