"""The issue's 'done when', through the real pages, one person at a time."""

from __future__ import annotations

import feedparser

from engage.core.permissions import Role
from tests.conftest import FormClient
from tests.factories import make_staff, sign_in
from tests.feedback.helpers import check_code, code_from, give_via_page


def test_the_loop_closes_for_an_anonymous_visitor(app, db):
    facilitator = make_staff(Role.FACILITATOR, display_name="Facilitator Fay")
    lead = make_staff(Role.PROGRAMME_LEAD, display_name="Lead Lou")
    second = make_staff(Role.PROGRAMME_LEAD, display_name="Second Sam")
    db.session.commit()

    visitor = app.test_client()
    given = give_via_page(visitor, "Nobody told me what would happen at the clinic.",
                          may_quote="yes")
    code = code_from(given)

    staff = FormClient(app.test_client())
    sign_in(staff, facilitator)
    queue = staff.get("/staff/feedback").get_data(as_text=True)
    item_url = queue.split('href="/staff/feedback/')[1].split('"')[0]
    item_url = f"/staff/feedback/{item_url}"
    feedback_id = item_url.rsplit("/", 1)[1]
    assert staff.post(f"{item_url}/acknowledge", {}, form_url=item_url).status_code == 302
    assert staff.post(f"{item_url}/reply", {"reply-body": "Thank you. We will write a guide."},
                      form_url=item_url).status_code == 302
    assert staff.post(f"{item_url}/quote", {"quote-quote": "Nobody told me what would happen."},
                      form_url=item_url).status_code == 302

    writer = FormClient(app.test_client())
    sign_in(writer, lead)
    created = writer.post("/staff/changes/new", {
        "said": "People did not know what would happen at their first clinic visit.",
        "done": "A short guide is now sent before every first appointment.",
        "organisation": "City Clinic", "status": "done"})
    entry_url = created.headers["Location"]
    assert writer.post(f"{entry_url}/links", {"feedback_id": feedback_id},
                       form_url=entry_url).status_code == 302
    assert writer.post(f"{entry_url}/submit", {}, form_url=entry_url).status_code == 302

    approver = FormClient(app.test_client())
    sign_in(approver, second)
    assert approver.post(f"{entry_url}/approve", {}, form_url=entry_url).status_code == 302

    status = check_code(visitor, code).get_data(as_text=True)
    assert "Thank you. We will write a guide." in status
    assert "People did not know what would happen at their first clinic visit." in status
    assert "Linked to a change" in status

    entry_id = entry_url.rsplit("/", 1)[1]
    public = visitor.get(f"/you-said-we-did/{entry_id}").get_data(as_text=True)
    assert "Nobody told me what would happen." in public
    log = visitor.get("/you-said-we-did").get_data(as_text=True)
    feed = visitor.get("/you-said-we-did.json").get_data(as_text=True)
    atom = visitor.get("/you-said-we-did.atom").get_data()
    assert "People did not know what would happen" in log
    assert "A short guide is now sent" in feed
    assert feedparser.parse(atom).entries[0].link.endswith(f"/you-said-we-did/{entry_id}")
    for text in (log, feed, atom.decode()):
        for personal in ("Facilitator Fay", "Lead Lou", "Second Sam", facilitator.username,
                         lead.username, second.username, "at the clinic.", code):
            assert personal not in text
    assert "Set-Cookie" not in check_code(visitor, code).headers
