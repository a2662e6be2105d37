"""Members register with a username, password and display name; email is optional."""

from __future__ import annotations

import re

from sqlalchemy import select

from engage.accounts.models import User
from engage.core.models import AuditEvent


def register(browser_like, **overrides):
    data = {"username": "river", "display_name": "River", "email": "",
            "password": "blue kettle morning walk"}
    data.update(overrides)
    return browser_like.post("/register", data)


def test_register_without_email_shows_recovery_codes_once(db, browser_like):
    response = register(browser_like)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Your recovery codes" in html
    codes = re.findall(r"<li>([0-9A-F]{5}-[0-9A-F]{5})</li>", html)
    assert len(codes) == 10
    user = db.session.scalar(select(User).where(User.username_key == "river"))
    assert user is not None and user.email is None
    stored = {c.code_hash for c in user.recovery_codes}
    assert not any(code in stored for code in codes), "codes are stored only as hashes"
    # signed in straight away
    assert browser_like.get("/account").status_code == 200


def test_register_with_email_gets_no_recovery_codes(db, browser_like):
    response = register(browser_like, email="river@example.org")
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username_key == "river"))
    assert user.email == "river@example.org"
    assert user.recovery_codes == []
    assert user.email_is_safe is False and user.discreet_mode is True


def test_common_password_refused_and_nothing_typed_is_lost(browser_like):
    response = register(browser_like, password="password1", display_name="Rain", email="r@x.org")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "one of the most common" in html
    assert 'value="river"' in html and 'value="Rain"' in html and 'value="r@x.org"' in html


def test_short_password_refused_long_passphrase_allowed(db, browser_like):
    assert "at least 8" in register(browser_like, password="short").get_data(as_text=True)
    long_phrase = "this is a very long passphrase " * 6
    assert register(browser_like, password=long_phrase).status_code == 200
    assert db.session.scalar(select(User).where(User.username_key == "river")) is not None


def test_username_taken_case_insensitive(app, db, browser_like):
    from tests.conftest import FormClient

    register(browser_like)
    response = register(FormClient(app.test_client()), username="RIVER")
    assert "already in use" in response.get_data(as_text=True)


def test_invalid_username_gets_field_error(browser_like):
    response = register(browser_like, username="a b")
    assert "Use 3 to 40 letters" in response.get_data(as_text=True)


def test_password_is_hashed_with_argon2id(db, browser_like):
    register(browser_like)
    user = db.session.scalar(select(User).where(User.username_key == "river"))
    assert user.password_hash.startswith("$argon2id$")
    assert "blue kettle" not in user.password_hash


def test_registration_is_audited_without_personal_data(db, browser_like):
    register(browser_like, email="river@example.org")
    events = db.session.scalars(select(AuditEvent)).all()
    assert "account.registered" in {e.action for e in events}
    assert all("river" not in str(e.details) for e in events)


def test_item_6_a_taken_username_is_said_only_once_the_rest_of_the_form_is_right(
        app, db, browser_like):
    from tests.conftest import FormClient

    register(browser_like)
    stranger = FormClient(app.test_client())
    weak = register(stranger, password="password1").get_data(as_text=True)
    assert "one of the most common" in weak
    assert "already in use" not in weak, "a bad password says nothing about the name"
    bad_email = register(stranger, email="not an address").get_data(as_text=True)
    assert "already in use" not in bad_email
    right = register(stranger).get_data(as_text=True)
    assert "already in use" in right


def test_item_6_registration_is_throttled_per_client(app, db, browser_like):
    app.config["REGISTER_LIMIT_PER_CLIENT"] = "3 per hour"
    answers = [register(browser_like, username=f"river{n}", password="password1").status_code
               for n in range(4)]
    assert answers == [200, 200, 200, 429]
    assert db.session.scalar(select(User)) is None
