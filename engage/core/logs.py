"""Logs as JSON lines (LOG_FORMAT=json, the production default) or plain text, one request log
line per request, and optional error and trace reporting configured by the environment alone.

A request line carries a request id, the method, the route (the URL rule, so ids in paths stay
out), the status and the duration. It never carries a client address, user agent, referrer,
query string or anything about who is signed in; on the routes where people give or check
feedback anonymously or answer a consultation anonymously it carries no time either (the
anonymity promise in DESIGN.md section 5), not even in the line's timestamp.

Sentry (SENTRY_DSN) and OpenTelemetry (OTEL_EXPORTER_OTLP_ENDPOINT) are switched on only when
their setting is present and their package installed (`pip install sentry-sdk`, or
`opentelemetry-distro opentelemetry-exporter-otlp opentelemetry-instrumentation-flask`);
Engage does not depend on either.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from datetime import UTC, datetime

from flask import Flask, g, request

log = logging.getLogger("engage.request")

# Routes whose logs must hold no time: anonymous feedback (giving, checking by code, linking a
# code to an account, staff entering it on someone's behalf) and answering a consultation
# (by the person, or by staff on their behalf).
UNTIMED_ROUTES = re.compile(r"^/(feedback(/|$)|impact/feedback-codes|"
                            r"consultations/\d+/(answer|on-behalf)$|"
                            r"staff/feedback/on-behalf$)")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and any `extra` fields."""

    STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {}
        if not getattr(record, "untimed", False):
            entry["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds")
        entry.update(level=record.levelname, logger=record.name, message=record.getMessage())
        for key, value in vars(record).items():
            if key not in self.STANDARD and key != "untimed":
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._untimed = logging.Formatter("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "untimed", False):
            return self._untimed.format(record)
        return super().format(record)


def configure_logging(app: Flask) -> None:
    """Engage's own handler on the root logger, set up once per process."""
    root = logging.getLogger()
    formatter = JsonFormatter() if app.config["LOG_FORMAT"] == "json" else TextFormatter()
    ours = [h for h in root.handlers if getattr(h, "engage", False)]
    if ours:
        ours[0].setFormatter(formatter)
    elif not root.handlers:
        handler = logging.StreamHandler()
        handler.engage = True  # type: ignore[attr-defined]
        handler.setFormatter(formatter)
        root.addHandler(handler)
        root.setLevel(app.config["LOG_LEVEL"].upper())
    # What no Engage log line shows is not worked out for each line either: the thread and
    # process names and the file and line each call came from (the logging HOWTO's
    # "Optimization"). The request log writes a line for every request.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    # Werkzeug's request log prints client addresses; the request log below replaces it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _start_request() -> None:
    g.request_started = time.perf_counter()
    given = request.environ.get("HTTP_X_REQUEST_ID", "")  # the header, without building them all
    g.request_id = given if REQUEST_ID.match(given) else secrets.token_hex(8)


def _log_request(response):
    started = g.pop("request_started", None)
    if started is None:
        return response
    this = request._get_current_object()  # once, not through the proxy each time
    untimed = bool(UNTIMED_ROUTES.match(this.path))
    rule = this.url_rule.rule if this.url_rule is not None else "(no route)"
    request_id = g.get("request_id", "")
    fields = {"request_id": request_id, "method": this.method, "route": rule,
              "status": response.status_code,
              "duration_ms": round((time.perf_counter() - started) * 1000, 1),
              "untimed": untimed}
    log.info("%s %s %s", this.method, rule, response.status_code, extra=fields)
    response.headers["X-Request-ID"] = request_id
    return response


def init_request_log(app: Flask) -> None:
    app.before_request(_start_request)
    app.after_request(_log_request)


def init_reporting(app: Flask) -> None:
    """Sentry and OpenTelemetry, each only when configured and installed."""
    if app.config["SENTRY_DSN"]:
        try:
            import sentry_sdk
        except ImportError:
            logging.getLogger("engage").warning(
                "SENTRY_DSN is set but sentry-sdk is not installed; errors are not reported")
        else:
            sentry_sdk.init(dsn=app.config["SENTRY_DSN"], send_default_pii=False,
                            traces_sample_rate=app.config["SENTRY_TRACES_SAMPLE_RATE"],
                            environment=app.config["ENV_NAME"])
    if app.config["OTEL_EXPORTER_OTLP_ENDPOINT"]:
        try:
            from opentelemetry.instrumentation.flask import FlaskInstrumentor
        except ImportError:
            logging.getLogger("engage").warning(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry Flask "
                "instrumentation is not installed; no traces are sent")
        else:
            # The exporter and service name come from the standard OTEL_* variables; client
            # addresses and user agents are not recorded as span attributes.
            FlaskInstrumentor().instrument_app(app, excluded_urls="healthz,readyz,static,assets",
                                               request_hook=_strip_client_details)


def _strip_client_details(span, environ) -> None:
    if span and span.is_recording():
        for attribute in ("http.client_ip", "net.peer.ip", "http.user_agent",
                          "client.address", "user_agent.original"):
            span.set_attribute(attribute, "")
