"""The public log is cached for signed-out visitors, and never shows anything out of date or
anything belonging to one visitor to another."""

from __future__ import annotations

from sqlalchemy import update

from engage.changes import services
from engage.changes.models import ChangeEntry
from engage.core.permissions import Role
from engage.extensions import db as _db
from tests.conftest import make_app
from tests.factories import make_member, make_staff, sign_in
from tests.factories_feedback import make_entry, publish, publish_new_version


def _published(said: str, organisation: str = "City Sexual Assault Referral Centre"):
    entry = publish(make_entry(said=said, organisation=organisation))
    _db.session.commit()
    return entry


def test_a_published_entry_shows_at_once_on_a_log_already_seen(app, db, client):
    _published("The first change people asked for.")
    assert "The first change" in client.get("/you-said-we-did").get_data(as_text=True)
    _published("A second change, published after the log was seen.")
    page = client.get("/you-said-we-did").get_data(as_text=True)
    assert "A second change" in page
    feed = client.get("/you-said-we-did.json").get_json()
    assert feed["entries"][0]["you_said"].startswith("A second change")


def test_an_approved_new_version_of_a_published_entry_shows_at_once(app, db, client):
    entry = _published("Evening drop-in closes too early.")
    client.get("/you-said-we-did")
    publish_new_version(entry, make_staff(Role.PROGRAMME_LEAD),
                        done="Open until 9pm from May.", organisation="Another Service",
                        status="done")
    db.session.commit()
    page = client.get("/you-said-we-did").get_data(as_text=True)
    assert "Another Service" in page  # in the entry and in the organisation filter
    assert "City Sexual Assault Referral Centre" not in page
    feed = client.get("/you-said-we-did.json").get_json()
    assert feed["entries"][0]["we_did"] == "Open until 9pm from May."


def test_a_withdrawn_entry_leaves_a_log_already_seen(app, db, client):
    entry = _published("The waiting room is too loud.", organisation="Quiet Rooms Service")
    assert "Quiet Rooms Service" in client.get("/you-said-we-did").get_data(as_text=True)
    services.withdraw_entry(make_staff(Role.PROGRAMME_LEAD), entry, "It repeated another entry.")
    db.session.commit()
    page = client.get("/you-said-we-did").get_data(as_text=True)
    assert "The waiting room is too loud." not in page
    assert "Quiet Rooms Service" not in page  # gone from the organisation filter too
    feed = client.get("/you-said-we-did.json").get_json()
    assert feed["entries"] == []
    assert feed["withdrawn"][0]["reason"] == "It repeated another entry."


def test_a_change_made_by_a_bulk_statement_shows_too(app, db, client):
    entry = _published("Waiting lists are too long.")
    client.get("/you-said-we-did")
    db.session.execute(update(ChangeEntry).where(ChangeEntry.id == entry.id)
                       .values(said="Two more counsellors from June."))
    db.session.commit()
    assert "Two more counsellors" in client.get("/you-said-we-did").get_data(as_text=True)


def test_another_process_sees_a_publication_made_elsewhere(tmp_path):
    """Two app instances on one database stand for two gunicorn workers or two nodes: each
    keeps its own copies, and the shared version tells the first what the second did."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    reader, writer = make_app(url), make_app(url)
    with writer.app_context():
        _db.create_all()
        _published("Seen by both processes.")
        _db.session.remove()
    with reader.app_context():
        visitor = reader.test_client()
        assert "Seen by both" in visitor.get("/you-said-we-did").get_data(as_text=True)
        _db.session.remove()
    with writer.app_context():
        _published("Published by the other process.")
        _db.session.remove()
    with reader.app_context():
        page = reader.test_client().get("/you-said-we-did").get_data(as_text=True)
        assert "Published by the other process." in page
        _db.session.remove()
        _db.engine.dispose()
    with writer.app_context():
        _db.engine.dispose()


def test_signed_in_pages_are_neither_served_from_nor_put_in_the_cache(app, db, client,
                                                                      browser_like):
    _published("Shown to everyone.")
    assert "Sign out" not in client.get("/you-said-we-did").get_data(as_text=True)
    member = make_member()
    db.session.commit()
    sign_in(browser_like, member)
    signed_in_page = browser_like.get("/you-said-we-did").get_data(as_text=True)
    assert "Sign out" in signed_in_page  # their own page, not the signed-out copy
    stranger = app.test_client()
    assert "Sign out" not in stranger.get("/you-said-we-did").get_data(as_text=True)
    assert "Sign out" not in stranger.get("/").get_data(as_text=True)


def test_a_message_for_one_visitor_is_not_kept_for_the_next(app, db, browser_like):
    member = make_member()
    db.session.commit()
    sign_in(browser_like, member)
    browser_like.post("/sign-out", {}, form_url="/account")
    assert "You have signed out" in browser_like.get("/").get_data(as_text=True)
    assert "You have signed out" not in app.test_client().get("/").get_data(as_text=True)
    response = app.test_client().get("/")
    assert "Set-Cookie" not in response.headers
