"""Your impact: events attended, named feedback, linked changes and a payments summary."""

from __future__ import annotations

from datetime import timedelta

from engage.changes import services as changes
from engage.core.permissions import Role
from engage.dashboard.impact import impact_for
from engage.events import services as events
from engage.payments.policy import seed_policies
from tests.factories import make_member, make_staff, sign_in
from tests.factories_events import confirmed_booking, make_event, make_panel
from tests.factories_feedback import give, make_entry, publish
from tests.factories_payments import approved_claim


def _page(browser_like, person) -> str:
    sign_in(browser_like, person)
    return browser_like.get("/impact").get_data(as_text=True)


def test_events_from_finalised_registers_only_where_the_member_came(db, browser_like):
    seed_policies()
    facilitator = make_staff(Role.FACILITATOR)
    person, other = make_member(), make_member()
    panel = make_panel(facilitators=[facilitator], members=[person, other])
    came = make_event(organiser=facilitator, panel=panel, title="Spring panel meeting",
                      starts_in=timedelta(days=14))
    missed = make_event(organiser=facilitator, panel=panel, title="Summer panel meeting",
                        starts_in=timedelta(days=14))
    not_final = make_event(organiser=facilitator, panel=panel, title="Autumn panel meeting",
                           starts_in=timedelta(days=14))
    for event in (came, missed, not_final):
        confirmed_booking(person, event)
        confirmed_booking(other, event)
        event.starts_at -= timedelta(days=21)
        event.ends_at -= timedelta(days=21)
        events.register_rows(facilitator, event)
    events.save_register(facilitator, missed, {person.id: events.Mark("did_not_attend"),
                                               other.id: events.Mark("attended")})
    events.finalise_register(facilitator, came)
    events.finalise_register(facilitator, missed)
    db.session.commit()
    page = _page(browser_like, person)
    assert "You took part in 1 event." in page
    assert "Spring panel meeting" in page
    assert "Summer panel meeting" not in page and "Autumn panel meeting" not in page


def test_named_feedback_and_the_changes_it_is_part_of(db, browser_like, request_ctx):
    person = make_member()
    named = give("The evening drop-in closes before I finish work.", actor=person,
                 attach_name=True)
    anonymous = give("Please add a quiet room.", actor=person)
    lead = make_staff(Role.PROGRAMME_LEAD)
    entry = publish(make_entry(lead, said="The evening drop-in closes too early."))
    changes.link_feedback(lead, entry, named.item.id)
    hidden = publish(make_entry(lead, said="A quiet room is now open."))
    changes.link_feedback(lead, hidden, anonymous.item.id)
    draft = make_entry(lead, said="A draft nobody has approved.")
    changes.link_feedback(lead, draft, named.item.id)
    db.session.commit()
    page = _page(browser_like, person)
    assert "You gave 1 piece of feedback with your name." in page
    assert f"/feedback/yours/{named.item.id}" in page
    assert "Your voice is part of 1 change." in page
    assert "The evening drop-in closes too early." in page and "Planned" in page
    assert "A quiet room is now open." not in page  # anonymous: not linked to the member
    assert "A draft nobody has approved." not in page


def test_payments_summary_only_for_members_with_claims(db, browser_like, request_ctx):
    person, newcomer = make_member(), make_member()
    approved_claim(person)
    db.session.commit()
    page = _page(browser_like, person)
    assert "Being checked or paid" in page and "1 claim<" in page
    assert "payments" not in [s.key for s in impact_for(newcomer)]
