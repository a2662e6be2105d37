"""The programme dashboard: figures from real data, suppression, filters, CSV, providers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from engage import DOMAINS
from engage.consultations.models import AnonymousResponse, Response, ResponseStatus
from engage.core import clock, wiring
from engage.core.permissions import Role
from engage.dashboard import metrics
from engage.dashboard.sections import (
    DASHBOARD_SECTIONS,
    Figure,
    Filters,
    Section,
    build_sections,
)
from engage.equality import services as equality
from engage.extensions import db as _db
from engage.panels import services as panels
from engage.panels.models import MembershipState
from tests.conftest import make_app
from tests.factories import make_member, make_staff, sign_in
from tests.factories_consultations import make_consultation
from tests.factories_panels import make_membership, make_panel

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
RANGE = Filters(start=date(2026, 4, 1), end=date(2026, 6, 30))


def figure(filters, key) -> Figure:
    return next(f for s in build_sections(filters) for f in s.figures if f.key == key)


def test_members_per_panel_counts_places_at_each_month_end(db):
    panel = make_panel(name="Survivor voices")
    with clock.frozen(datetime(2026, 4, 10, tzinfo=UTC)):
        early = make_membership(panel, make_member())
        make_membership(panel, make_member(), state=MembershipState.ON_BREAK)
    with clock.frozen(datetime(2026, 5, 10, tzinfo=UTC)):
        make_membership(panel, make_member())
        make_membership(panel, make_member(), state=MembershipState.APPLIED)
    early.state, early.left_at = MembershipState.LEFT, datetime(2026, 6, 2, tzinfo=UTC)
    db.session.flush()
    with clock.frozen(NOW):
        result = figure(RANGE, "members-per-panel")
    assert result.header == ["Panel", "Apr 2026", "May 2026", "Jun 2026"]
    assert result.rows == [["Survivor voices", 2, 3, 2]]
    assert "Survivor voices" in result.chart


def test_joiners_leavers_and_breaks_by_month(db, request_ctx):
    facilitator = make_staff(Role.FACILITATOR)
    panel = make_panel(facilitators=[facilitator])
    person = make_member()
    membership = make_membership(panel, person, state=MembershipState.APPLIED)
    with clock.frozen(datetime(2026, 4, 3, tzinfo=UTC)):
        panels.accept_application(facilitator, membership)
        db.session.flush()  # the audit entry takes its time when it is written
    with clock.frozen(datetime(2026, 5, 3, tzinfo=UTC)):
        panels.take_break(person, panel)
        db.session.flush()
    with clock.frozen(datetime(2026, 6, 3, tzinfo=UTC)):
        panels.come_back(person, panel)
        panels.leave_panel(person, panel)
        db.session.flush()
    rows = figure(RANGE, "joiners-and-leavers").rows
    assert rows == [["Apr 2026", 1, 0, 0, 0], ["May 2026", 0, 0, 1, 0],
                    ["Jun 2026", 0, 1, 0, 1]]
    other = make_panel()
    assert figure(Filters(RANGE.start, RANGE.end, panel_id=other.id),
                  "joiners-and-leavers").rows[0] == ["Apr 2026", 0, 0, 0, 0]


def test_responses_by_month_named_and_anonymous(db):
    consultation = make_consultation()
    db.session.add_all([
        Response(consultation_id=consultation.id, user_id=make_member().id,
                 status=ResponseStatus.SUBMITTED, submitted_at=datetime(2026, 4, 30, 22, 30,
                                                                        tzinfo=UTC)),
        Response(consultation_id=consultation.id, user_id=make_member().id,
                 status=ResponseStatus.DRAFT),
        AnonymousResponse(consultation_id=consultation.id, submitted_on=date(2026, 6, 1)),
    ])
    db.session.flush()
    rows = figure(RANGE, "responses-by-month").rows
    # 22:30 UTC on 30 April is 23:30 in London: still April.
    assert rows == [["Apr 2026", 1, 0, 1], ["May 2026", 0, 0, 0], ["Jun 2026", 0, 1, 1]]


def _snapshots(values: dict[str, int], kind: str = "consultation", context_id: int = 1):
    with clock.frozen(NOW):
        for value, number in values.items():
            for _ in range(number):
                person = make_member()
                equality.save_answers(person, {"ethnicity": value} if value else {})
                equality.take_equality_snapshot(person, kind, context_id)


def test_equality_make_up_hides_small_numbers_and_what_would_reveal_them(db):
    _snapshots({"white": 20, "black": 3, "asian": 9})
    _snapshots({"white": 6}, kind="panel")
    result = figure(RANGE, "equality-ethnicity")
    rows = {row[0]: row[1:] for row in result.rows}
    assert rows["Black, Black British, Caribbean or African"][1] == "not shown"
    # Asian (9) is the next smallest in the consultation column: hidden so 3 cannot be
    # worked out from the total of 32.
    assert rows["Asian or Asian British"][1] == "not shown"
    assert rows["White"][:4] == ["6", "20", "0", "26"]
    assert rows["Total"][1] == "32"
    assert "not shown" in result.note or "under 5" in result.note
    assert "3" not in [cell for row in result.rows for cell in row[1:5]]


def test_equality_compares_with_population_figures(db):
    equality.set_population_figures(make_staff(Role.ADMIN), {("ethnicity", "white"): 815})
    _snapshots({"white": 6})
    rows = {row[0]: row for row in figure(RANGE, "equality-ethnicity").rows}
    assert rows["White"][5] == "81.5%"
    assert rows["Mixed or multiple ethnic groups"][5] == "-"


def spend_section(filters):
    return Section("spend", "Spend", [Figure("spend", "Spend", "How.", ["A"], [])])


def test_a_new_section_provider_appears_on_the_page():
    extra = SimpleNamespace(init_app=lambda app: wiring.add_hook(app, DASHBOARD_SECTIONS,
                                                                 spend_section))
    app = make_app(domains=(*DOMAINS, extra))
    with app.app_context():
        _db.create_all()
        assert [s.key for s in build_sections(RANGE)][-1] == "spend"


def test_filters_cover_every_month_in_the_range():
    assert Filters(date(2025, 11, 20), date(2026, 2, 1)).months() == [
        "2025-11", "2025-12", "2026-01", "2026-02"]
    assert metrics.month_label("2026-02") == "Feb 2026"


# --- pages ------------------------------------------------------------------------------------


def test_programme_lead_sees_figures_charts_tables_and_notes(db, browser_like):
    lead = make_staff(Role.PROGRAMME_LEAD)
    make_membership(make_panel(name="Survivor voices"), make_member())
    db.session.commit()
    sign_in(browser_like, lead)
    page = browser_like.get("/dashboard").get_data(as_text=True)
    for title in ("Participation", "Voice", "Equality", "Survivor voices",
                  "How this is counted", "Download this table (CSV)", "<svg", "<table"):
        assert title in page


def test_bad_filters_are_explained_and_defaults_used(db, browser_like):
    lead = make_staff(Role.PROGRAMME_LEAD)
    db.session.commit()
    sign_in(browser_like, lead)
    response = browser_like.get("/dashboard?start=2026-05-01&end=2026-01-01")
    assert response.status_code == 200
    assert "The end date must be on or after the start date" in response.get_data(as_text=True)


def test_csv_download_has_the_same_numbers(db, browser_like):
    admin = make_staff(Role.ADMIN)
    consultation = make_consultation()
    db.session.add(AnonymousResponse(consultation_id=consultation.id,
                                     submitted_on=clock.today_london()))
    db.session.commit()
    sign_in(browser_like, admin)
    response = browser_like.get("/dashboard/download/responses-by-month.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeffMonth,Named,Anonymous,All responses")
    assert body.strip().endswith(",0,1,1")
    assert browser_like.get("/dashboard/download/no-such-table.csv").status_code == 404
    assert browser_like.get("/dashboard/download/..%2Fx.csv").status_code == 404


def test_the_kept_filter_form_offers_a_new_panel_and_keeps_each_query_s_own_values(
        db, browser_like):
    lead = make_staff(Role.PROGRAMME_LEAD)
    make_panel(name="Survivor voices")
    db.session.commit()
    sign_in(browser_like, lead)
    assert ">Survivor voices</option>" in browser_like.get("/dashboard").get_data(as_text=True)
    make_panel(name="Police scrutiny group")
    db.session.commit()
    page = browser_like.get("/dashboard").get_data(as_text=True)
    assert ">Police scrutiny group</option>" in page  # a new panel is a new key, not a stale copy
    chosen = browser_like.get("/dashboard?start=2026-02-01").get_data(as_text=True)
    assert 'value="2026-02-01"' in chosen and 'value="2026-02-01"' not in page
    wrong = browser_like.get("/dashboard?start=2026-05-01&end=2026-01-01").get_data(as_text=True)
    assert "The end date must be on or after the start date" in wrong
    assert "The end date must be on or after the start date" not in browser_like.get(
        "/dashboard").get_data(as_text=True)
