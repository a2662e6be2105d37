"""Anonymous must mean anonymous: the schema, the stored rows, the cookies and the logs."""

from __future__ import annotations

import logging
import re
import uuid

from sqlalchemy import DateTime, text

from engage.extensions import db as _db
from engage.feedback.models import ANONYMOUS_TABLES
from tests.conftest import make_app

IDENTIFYING = re.compile(r"user|ip|addr|agent|referr?er|cookie|session|email|name_of|actor|"
                         r"author|by_id|_at$|time", re.IGNORECASE)


def test_no_anonymous_feedback_table_can_identify_a_person(app):
    tables = _db.metadata.tables
    for name in ANONYMOUS_TABLES:
        table = tables[name]
        for column in table.columns:
            assert not IDENTIFYING.search(column.name), f"{name}.{column.name}"
            assert not isinstance(column.type, DateTime), f"{name}.{column.name}: finer than a day"
            for fk in column.foreign_keys:
                assert fk.column.table.name in ANONYMOUS_TABLES, f"{name}.{column.name}"
    # The one table that knows a name is the separate, opt-in record of named feedback.
    assert "user_id" in tables["feedback_givers"].columns


def _anonymous_headers(agent: str, address: str) -> dict:
    return {"User-Agent": agent, "X-Forwarded-For": address, "Referer": "http://localhost/feedback"}


def test_canary_agent_and_address_are_stored_and_logged_nowhere(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("PROXY_FIX_X_FOR", "1")
    database = tmp_path / "canary.sqlite3"
    app = make_app(f"sqlite:///{database}")
    agent = f"CanaryAgent/{uuid.uuid4().hex}"
    address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    canary_text = f"canary feedback {uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        _db.create_all()
        client = app.test_client()
        headers = _anonymous_headers(agent, address)
        page = client.get("/feedback", headers=headers).get_data(as_text=True)
        token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
        response = client.post("/feedback", headers=headers, data={
            "form_token": token.group(1), "body": canary_text, "may_quote": "no",
            "attach_name": "anonymous"})
        assert response.status_code == 200 and "Your feedback code" in response.get_data(
            as_text=True)
        code = re.search(r'id="feedback-code">([a-z-]+)<', response.get_data(as_text=True))[1]
        check = client.post("/feedback/check", headers=headers, data={
            "form_token": _token(client, headers), "code": code})
        assert canary_text in check.get_data(as_text=True)
        client.post("/feedback/check", headers=headers,
                    data={"form_token": _token(client, headers), "code": "wrong"})

        rows_by_table = {}
        for table in _db.metadata.sorted_tables:
            # Raw rows as stored (names come from our own metadata, not from input).
            rows = _db.session.execute(text(f'SELECT * FROM "{table.name}"')).all()  # noqa: S608
            rows_by_table[table.name] = " ".join(str(v) for row in rows for v in row)
        decoded = {}
        for table in _db.metadata.sorted_tables:
            rows = _db.session.execute(table.select()).all()
            decoded[table.name] = " ".join(str(v) for row in rows for v in row)
        _db.session.remove()
        _db.engine.dispose()

    raw_file = database.read_bytes()
    logs = caplog.text
    for secret in (agent, address):
        assert secret.encode() not in raw_file
        assert secret not in logs
        assert not any(secret in dump for dump in rows_by_table.values())
        assert not any(secret in dump for dump in decoded.values())
    # The text is encrypted at rest, and once decrypted it is found only in feedback_items.
    assert canary_text.encode() not in raw_file
    assert canary_text not in logs
    assert [name for name, dump in decoded.items() if canary_text in dump] == ["feedback_items"]
    assert code not in logs and code.encode() not in raw_file


def _token(client, headers) -> str:
    page = client.get("/feedback/check", headers=headers).get_data(as_text=True)
    return re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)[1]


def test_anonymous_visitors_get_no_cookie_on_any_feedback_response(client, db):
    from tests.factories_feedback import give

    given = give()
    db.session.commit()
    form = client.get("/feedback")
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"',
                      form.get_data(as_text=True))[1]
    check_page = client.get("/feedback/check").get_data(as_text=True)
    check_token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', check_page)[1]
    responses = [
        form,
        client.post("/feedback", data={"form_token": token, "body": "Thank you for the leaflets",
                                       "may_quote": "no"}),
        client.post("/feedback", data={"form_token": token, "body": ""}),
        client.get("/feedback/check"),
        client.post("/feedback/check", data={"form_token": check_token, "code": given.code}),
        client.post("/feedback/check", data={"form_token": check_token, "code": "not a code"}),
        client.post("/feedback/check/delete-replies",
                    data={"form_token": check_token, "code": given.code}),
        client.post("/feedback/check/withdraw",
                    data={"form_token": check_token, "code": given.code}),
        client.post("/feedback/check/withdraw",
                    data={"form_token": check_token, "code": given.code, "confirmed": "yes"}),
        client.get("/you-said-we-did"),
    ]
    for response in responses:
        assert response.status_code in (200, 404), response.status_code
        assert "Set-Cookie" not in response.headers, response.request.path
    assert client.get_cookie("session") is None
