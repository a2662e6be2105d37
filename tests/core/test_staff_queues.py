"""Staff navigation shows their queues with counts: feedback to triage, entries awaiting my
approval, claims awaiting me, safeguarding queue (issue 16).

Each count is read from the real page a person of that role sees, and falls when the work is
done through the real page."""

from __future__ import annotations

import re

from engage.changes import services as change_services
from engage.core.permissions import Role
from engage.extensions import db
from engage.feedback import services as feedback_services
from engage.payments import services as payment_services
from tests.conftest import FormClient
from tests.factories import make_member, make_staff, sign_in
from tests.factories_feedback import make_entry, make_feedback
from tests.factories_payments import make_claim

QUEUE = re.compile(
    r'<li><a href="(?P<url>[^"]+)">(?P<label>[^<]+?)<span class="engage-badge engage-badge--queue" '
    r'aria-hidden="true">(?P<count>\d+)</span><span class="nhsuk-u-visually-hidden">'
    r' \((?P<spoken>[^)]+)\)</span></a></li>')


def signed_in(app, user) -> FormClient:
    visitor = FormClient(app.test_client())
    db.session.commit()
    assert sign_in(visitor, user).status_code == 302
    return visitor


def queues(visitor, path: str = "/") -> dict[str, tuple[int, str, str]]:
    """The work queues in the page's navigation: label -> (count, spoken count, link)."""
    html = visitor.get(path).get_data(as_text=True)
    return {m["label"]: (int(m["count"]), m["spoken"], m["url"].replace("&amp;", "&"))
            for m in QUEUE.finditer(html)}


def test_feedback_to_triage_counts_new_items_and_drops_when_one_is_read(app):
    first = make_feedback()
    make_feedback(body="Another piece of feedback.")
    facilitator = make_staff(Role.FACILITATOR)
    visitor = signed_in(app, facilitator)
    shown = queues(visitor)
    assert shown["Feedback to triage"] == (2, "2 new items", "/staff/feedback?status=new")
    assert "Safeguarding queue" not in shown  # a facilitator cannot open it
    assert visitor.get("/staff/feedback?status=new").status_code == 200

    visitor.post(f"/staff/feedback/{first.id}/acknowledge", {},
                 form_url=f"/staff/feedback/{first.id}")
    assert queues(visitor)["Feedback to triage"][:2] == (1, "1 new item")


def test_safeguarding_queue_counts_open_flagged_items_for_the_safeguarding_lead(app):
    item = make_feedback()
    make_feedback(body="Not flagged.")
    facilitator = make_staff(Role.FACILITATOR)
    feedback_services.flag_safeguarding(facilitator, item)
    safeguarding = signed_in(app, make_staff(Role.SAFEGUARDING_LEAD))
    shown = queues(safeguarding)
    assert shown == {"Safeguarding queue": (1, "1 open item", "/staff/safeguarding/feedback")}
    assert safeguarding.get("/staff/safeguarding/feedback").status_code == 200

    triage = signed_in(app, facilitator)
    triage.post(f"/staff/feedback/{item.id}/close", {"close-reason": "Passed on and answered."},
                form_url=f"/staff/feedback/{item.id}")
    assert queues(safeguarding)["Safeguarding queue"][:2] == (0, "0 open items")


def test_entries_to_approve_counts_only_what_someone_else_submitted(app):
    writer = make_staff(Role.PROGRAMME_LEAD)
    approver = make_staff(Role.PROGRAMME_LEAD)
    entry = make_entry(writer)
    change_services.submit_for_approval(writer, entry)
    make_entry(writer, said="Still a draft, not waiting for anyone.")

    as_writer = signed_in(app, writer)
    assert queues(as_writer)["Entries to approve"][:2] == (0, "0 entries waiting for you")
    as_approver = signed_in(app, approver)
    assert queues(as_approver)["Entries to approve"] == (
        1, "1 entry waiting for you", "/staff/changes")

    assert as_approver.post(f"/staff/changes/{entry.id}/approve", {},
                            form_url=f"/staff/changes/{entry.id}").status_code == 302
    assert queues(as_approver)["Entries to approve"][0] == 0


def test_claims_to_check_counts_the_leads_own_panels_and_drops_when_approved(app):
    lead = make_staff(Role.FACILITATOR)
    other_lead = make_staff(Role.FACILITATOR)
    member = make_member()
    claim = make_claim(member, lead)
    payment_services.submit_claim(member, claim)
    unsent = make_claim(make_member(), lead)
    assert unsent.state == "draft"

    assert queues(signed_in(app, other_lead))["Claims to check"][:2] == (0, "0 claims")
    as_lead = signed_in(app, lead)
    assert queues(as_lead)["Claims to check"] == (1, "1 claim", "/payments/lead")

    assert as_lead.post(f"/payments/claims/{claim.id}/lead-approve", {},
                        form_url=f"/payments/claims/{claim.id}").status_code == 302
    assert queues(as_lead)["Claims to check"][0] == 0

    finance = make_staff(Role.FINANCE)
    as_finance = signed_in(app, finance)
    shown = queues(as_finance)
    assert shown == {"Claims to approve for payment": (
        1, "1 claim", "/payments/finance?state=lead_approved")}
    assert as_finance.get("/payments/finance?state=lead_approved").status_code == 200
    assert as_finance.post(f"/payments/claims/{claim.id}/finance-approve", {},
                           form_url=f"/payments/claims/{claim.id}").status_code == 302
    assert queues(as_finance)["Claims to approve for payment"][0] == 0


def test_a_finance_officer_is_not_counted_their_own_claim(app):
    finance = make_staff(Role.FINANCE)
    lead = make_staff(Role.FACILITATOR)
    claim = make_claim(finance, lead)
    payment_services.submit_claim(finance, claim)
    payment_services.lead_approve(lead, claim)
    assert queues(signed_in(app, finance))["Claims to approve for payment"][0] == 0


def test_a_programme_lead_sees_each_queue_they_can_open_as_a_keyboard_link(app):
    visitor = signed_in(app, make_staff(Role.PROGRAMME_LEAD))
    shown = queues(visitor)
    assert list(shown) == ["Feedback to triage", "Entries to approve", "Claims to check"]
    for _count, _spoken, url in shown.values():
        assert visitor.get(url).status_code == 200


def test_members_and_visitors_see_no_work_queues(app):
    make_feedback()
    assert queues(signed_in(app, make_member())) == {}
    assert "Your work queues" not in app.test_client().get("/").get_data(as_text=True)


def test_error_pages_show_no_work_queues(app):
    visitor = signed_in(app, make_staff(Role.PROGRAMME_LEAD))
    response = visitor.get("/no-such-page")
    assert response.status_code == 404
    assert "Your work queues" not in response.get_data(as_text=True)
