"""Retention with a frozen clock, the once-a-day job, and the settings an admin can change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from engage.consultations.models import Response, ResponseStatus
from engage.core import clock
from engage.core.clock import months_before
from engage.core.models import AuditEvent
from engage.core.permissions import Role
from engage.core.personal_data import declared
from engage.lifecycle import retention
from engage.lifecycle.tasks import apply_retention_daily
from engage.panels.models import MembershipState, PanelMembership
from engage.worker import jobs_of
from tests.factories import make_member, make_staff, sign_in
from tests.factories_consultations import make_consultation
from tests.factories_panels import make_membership, make_panel

START = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def memberships() -> set[str]:
    from engage.extensions import db

    return {m.user.username for m in db.session.scalars(select(PanelMembership))}


def test_months_before_handles_short_months():
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28,
                                                                            tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 6) == datetime(2025, 7, 15,
                                                                           tzinfo=UTC)


def test_unfinished_applications_go_after_six_months_members_stay(db):
    panel = make_panel()
    with clock.frozen(START):
        waiting = make_membership(panel, make_member(username="waiting"),
                                  state=MembershipState.APPLIED)
        declined = make_membership(panel, make_member(username="declined"),
                                   state=MembershipState.APPLIED)
        declined.state, declined.decided_at = MembershipState.DECLINED, START
        make_membership(panel, make_member(username="member"))
        left = make_membership(panel, make_member(username="left"))
        left.state, left.left_at = MembershipState.LEFT, START
    with clock.frozen(START + timedelta(days=60)):
        recent = make_membership(panel, make_member(username="recent"),
                                 state=MembershipState.APPLIED)
    db.session.flush()
    assert waiting and recent
    with clock.frozen(months_before(START, -6) - timedelta(minutes=1)):
        assert retention.apply_all()["panel_applications_unfinished"] == 0
    with clock.frozen(months_before(START, -6) + timedelta(minutes=1)):
        counts = retention.apply_all()
    assert counts["panel_applications_unfinished"] == 2
    # People who were members are the panel's history, and the recent application waits on.
    assert memberships() == {"member", "left", "recent"}


def test_unsent_drafts_go_three_months_after_closing(db):
    with clock.frozen(START):
        closed = make_consultation(closes_at=START + timedelta(days=5))
        person = make_member()
        db.session.add_all([
            Response(consultation_id=closed.id, user_id=person.id, status=ResponseStatus.DRAFT),
            Response(consultation_id=closed.id, user_id=make_member().id,
                     status=ResponseStatus.SUBMITTED, submitted_at=START),
        ])
        db.session.flush()
    with clock.frozen(START + timedelta(days=5 + 80)):
        assert retention.apply_all()["consultation_unsent_drafts"] == 0
    with clock.frozen(START + timedelta(days=5 + 95)):
        assert retention.apply_all()["consultation_unsent_drafts"] == 1
    statuses = db.session.scalars(select(Response.status)).all()
    assert statuses == [ResponseStatus.SUBMITTED]


def test_an_admin_period_replaces_the_default(db):
    admin = make_staff(Role.ADMIN)
    panel = make_panel()
    with clock.frozen(START):
        make_membership(panel, make_member(), state=MembershipState.APPLIED)
    retention.set_period(admin, "panel_applications_unfinished", 1)
    with clock.frozen(START + timedelta(days=40)):
        assert retention.apply_all()["panel_applications_unfinished"] == 1


def test_the_audit_log_gets_counts_only(db):
    panel = make_panel()
    with clock.frozen(START):
        make_membership(panel, make_member(username="secretname"),
                        state=MembershipState.APPLIED, why_joining="private words")
    with clock.frozen(START + timedelta(days=400)):
        retention.apply_all()
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retention.applied"))
    assert entry.details == {"removed": {"consultation_unsent_drafts": 0,
                                         "feedback_anonymous_replies": 0,
                                         "panel_applications_unfinished": 1,
                                         "payment_records": 0}}
    assert entry.actor_id is None


def test_the_daily_job_runs_once_a_day_even_after_a_restart(db):
    with clock.frozen(START):
        assert apply_retention_daily("worker-a") is not None
        db.session.commit()
        # A restarted worker (or a second one) the same day does nothing.
        assert apply_retention_daily("worker-b") is None
    with clock.frozen(START + timedelta(hours=14)):  # 23:00 in London: still the same day
        assert apply_retention_daily("worker-b") is None
    with clock.frozen(START + timedelta(days=1)):
        assert apply_retention_daily("worker-b") is not None
    runs = db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "retention.applied"))
    assert runs == 2


def test_a_failed_run_is_tried_again(db):
    with clock.frozen(START):
        assert apply_retention_daily("worker-a") is not None
        db.session.rollback()  # the worker rolls back when a job fails: the claim goes too
        assert apply_retention_daily("worker-a") is not None


def test_the_job_is_in_the_worker(app):
    assert "apply_retention" in {job.name for job in jobs_of(app)}


# --- pages ------------------------------------------------------------------------------------


def test_data_we_hold_lists_every_registered_kind_with_its_period(db, browser_like):
    person = make_member()
    db.session.commit()
    sign_in(browser_like, person)
    page = browser_like.get("/account/data-we-hold").get_data(as_text=True)
    for kind in declared().values():
        assert f'id="kind-{kind.table}"' in page
    assert "deleted 6 months after the application was last answered" in page
    assert "Change how long data is kept" not in page


def test_admin_changes_a_period_and_the_page_follows(db, browser_like):
    admin = make_staff(Role.ADMIN)
    db.session.commit()
    sign_in(browser_like, admin)
    others = {"feedback_anonymous_replies": "24", "payment_records": "72"}
    bad = browser_like.post("/admin/retention", {"panel_applications_unfinished": "0",
                                                 "consultation_unsent_drafts": "3", **others})
    assert "Enter a whole number of months from 1 to 240" in bad.get_data(as_text=True)
    done = browser_like.post("/admin/retention", {"panel_applications_unfinished": "12",
                                                  "consultation_unsent_drafts": "3", **others},
                             follow_redirects=True)
    assert "retention periods are saved" in done.get_data(as_text=True)
    assert retention.periods()["panel_applications_unfinished"] == 12
    page = browser_like.get("/account/data-we-hold").get_data(as_text=True)
    assert "deleted 1 year after the application" in page
    changed = db.session.scalar(select(AuditEvent)
                                .where(AuditEvent.action == "retention.period_changed"))
    assert changed.actor_id == admin.id
