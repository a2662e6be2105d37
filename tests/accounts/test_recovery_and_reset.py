"""Getting back in: recovery codes without email, signed expiring reset links with email."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from engage.accounts import services
from engage.accounts.models import RecoveryCode
from engage.accounts.passwords import verify_password
from engage.core import clock
from engage.core.mailer import send_due_messages
from tests.factories import make_member

NEW_PASSWORD = "river stones and tea"


def test_recovery_code_resets_password_and_is_single_use(db, browser_like):
    user = make_member()
    codes = services.issue_recovery_codes(user)
    db.session.commit()
    response = browser_like.post("/account/recover", {"username": user.username,
                                                      "code": codes[3].lower(),
                                                      "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert verify_password(user.password_hash, NEW_PASSWORD)
    again = browser_like.post("/account/recover", {"username": user.username, "code": codes[3],
                                                   "password": "another good phrase"})
    assert "could not match" in again.get_data(as_text=True)
    assert 'value="' + user.username + '"' in again.get_data(as_text=True)


def test_a_recovery_code_used_by_another_request_meanwhile_is_refused(db):
    """Two requests with the same code at once: the one that loaded the codes before the
    other used it must still be refused (the code is claimed in the database)."""
    user = make_member()
    codes = services.issue_recovery_codes(user)
    db.session.commit()
    assert [code.used_at for code in user.recovery_codes] == [None] * len(codes)
    db.session.execute(update(RecoveryCode).values(used_at=clock.now())
                       .where(RecoveryCode.user_id == user.id)
                       .execution_options(synchronize_session=False))  # the other request
    assert not services.use_recovery_code(user, codes[0])
    db.session.rollback()
    db.session.expire_all()
    assert services.use_recovery_code(user, codes[1])
    assert not services.use_recovery_code(user, codes[1])
    assert services.unused_recovery_code_count(user) == len(codes) - 1


def test_wrong_recovery_code_does_not_reveal_account(db, browser_like):
    response = browser_like.post("/account/recover", {"username": "nobody", "code": "AAAAA-BBBBB",
                                                      "password": NEW_PASSWORD})
    assert "could not match" in response.get_data(as_text=True)


def test_reset_by_email_end_to_end(app, db, browser_like, smtp):
    user = make_member(email="kit@example.org", email_is_safe=True)
    db.session.commit()
    response = browser_like.post("/account/forgot", {"email": "KIT@example.org"})
    assert "Check your email" in response.get_data(as_text=True)
    assert send_due_messages("test") == 1
    [mail] = smtp.wait_for(1)
    assert mail.subject == "Your requested link"
    assert "Engage" not in mail.subject
    link = re.search(r"http://localhost(/account/reset/\S+)", mail.body).group(1)
    done = browser_like.post(link, {"password": NEW_PASSWORD})
    assert done.status_code == 302
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    # the link worked once
    assert browser_like.get(link).status_code == 409


def test_reset_link_expires(app, db, browser_like):
    user = make_member(email="kit@example.org")
    db.session.commit()
    token = services.make_reset_token(user)
    later = clock.now() + timedelta(hours=2)
    import time

    real_time = time.time
    try:
        time.time = lambda: later.timestamp()
        response = browser_like.get(f"/account/reset/{token}")
    finally:
        time.time = real_time
    assert response.status_code == 409
    assert "expired" in response.get_data(as_text=True)


def _page_text(response) -> str:
    """What the person reads: the page without the form's one-time token."""
    return re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))


def test_item_4_forgot_never_emails_an_unsafe_address_and_says_the_same_thing(
        app, db, browser_like, smtp):
    make_member(email="unsafe@example.org", email_is_safe=False)
    make_member(email="safe@example.org", email_is_safe=True)
    db.session.commit()
    pages = [browser_like.post("/account/forgot", {"email": address}) for address in
             ("unsafe@example.org", "nobody@example.org", "safe@example.org")]
    assert {p.status_code for p in pages} == {200}
    assert len({_page_text(p) for p in pages}) == 1, "the same words whatever happened"
    assert "Check your email" in _page_text(pages[0])
    assert send_due_messages("test") == 1
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ["safe@example.org"]


def test_item_4_forgot_is_throttled_per_address_silently_and_per_client(
        app, db, browser_like, smtp):
    app.config["PASSWORD_RESET_LIMIT_PER_ADDRESS"] = "2 per hour"
    app.config["LOGIN_LIMIT_PER_CLIENT"] = "5 per hour"
    make_member(email="safe@example.org", email_is_safe=True)
    db.session.commit()
    same_address = [browser_like.post("/account/forgot", {"email": "Safe@example.org"})
                    for _ in range(3)]
    assert {_page_text(p) for p in same_address} == {_page_text(same_address[0])}
    assert send_due_messages("test") == 2, "the third asked too often for that address"
    browser_like.post("/account/forgot", {"email": "other@example.org"})
    browser_like.post("/account/forgot", {"email": "third@example.org"})
    too_many = browser_like.post("/account/forgot", {"email": "fourth@example.org"})
    assert too_many.status_code == 429, "and too often from one client"


def test_unknown_email_is_silent(db, browser_like, smtp):
    response = browser_like.post("/account/forgot", {"email": "nobody@example.org"})
    assert "Check your email" in response.get_data(as_text=True)
    assert send_due_messages("test") == 0


def test_change_password_signs_out_other_devices(app, db):
    from tests.conftest import FormClient
    from tests.factories import PASSWORD, sign_in

    user = make_member()
    db.session.commit()
    here, elsewhere = FormClient(app.test_client()), FormClient(app.test_client())
    sign_in(here, user)
    sign_in(elsewhere, user)
    wrong = here.post("/account/password", {"current_password": "nope nope",
                                            "password": NEW_PASSWORD})
    assert "current password was not right" in wrong.get_data(as_text=True)
    ok = here.post("/account/password", {"current_password": PASSWORD, "password": NEW_PASSWORD})
    assert ok.status_code == 302
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account").status_code == 302
