"""Request logs: JSON lines with request id, route, status and duration; no address, user agent
or referrer ever, and no time on the anonymous routes."""

from __future__ import annotations

import json
import logging

import engage.gunicorn_conf as gunicorn_conf
from engage.core.logs import JsonFormatter


def _lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records
            if r.name == "engage.request"]


def test_each_request_is_one_json_line_without_who_sent_it(client, caplog):
    caplog.set_level(logging.INFO, logger="engage.request")
    response = client.get("/support", headers={"User-Agent": "Secret-Browser/1.0",
                                                "Referer": "https://elsewhere.example/",
                                                "X-Request-ID": "abcdef123456"},
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
    (line,) = _lines(caplog)
    assert line["route"] == "/support" and line["status"] == 200 and line["method"] == "GET"
    assert line["request_id"] == "abcdef123456" == response.headers["X-Request-ID"]
    assert isinstance(line["duration_ms"], float) and "time" in line
    text = json.dumps(line)
    assert "203.0.113.9" not in text and "Secret-Browser" not in text
    assert "elsewhere" not in text


def test_anonymous_feedback_requests_are_logged_without_a_time(client, caplog):
    caplog.set_level(logging.INFO, logger="engage.request")
    client.get("/feedback", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    client.get("/feedback/check?code=apple-harbor")
    lines = _lines(caplog)
    assert [line["route"] for line in lines] == ["/feedback", "/feedback/check"]
    for line in lines:
        assert "time" not in line and "203.0.113.9" not in json.dumps(line)
        assert "apple" not in json.dumps(line)  # no query string
    assert len(lines[0]["request_id"]) == 16  # a fresh random id when none was sent


def test_ids_in_paths_are_not_logged(client, caplog):
    caplog.set_level(logging.INFO, logger="engage.request")
    client.get("/payments/receipts/4242")
    (line,) = _lines(caplog)
    assert line["route"] == "/payments/receipts/<int:receipt_id>"


def test_gunicorn_keeps_no_access_log_with_address_or_time():
    assert gunicorn_conf.accesslog is None
    for field in ("%(h)s", "%(t)s", "%(a)s", "%(f)s", "%(q)s"):
        assert field not in gunicorn_conf.access_log_format
    assert gunicorn_conf.logconfig_dict["loggers"]["gunicorn.access"]["handlers"] == []
