"""Engage configurations, read from environment variables.

Pick one with ENGAGE_CONFIG=development|testing|production (engage/wsgi.py does this).
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent

DEFAULT_HELPLINES = [
    {
        "name": "Rape Crisis 24/7 Support Line",
        "phone": "0808 500 2222",
        "hours": "Open 24 hours a day, every day",
        "url": "https://247sexualabusesupport.org.uk",
    },
    {
        "name": "Samaritans",
        "phone": "116 123",
        "hours": "Open 24 hours a day, every day",
        "url": "https://www.samaritans.org",
    },
    {
        "name": "National Domestic Abuse Helpline",
        "phone": "0808 2000 247",
        "hours": "Open 24 hours a day, every day",
        "url": "https://www.nationaldahelpline.org.uk",
    },
    {
        "name": "NAPAC (support for adult survivors of childhood abuse)",
        "phone": "0808 801 0331",
        "hours": "Monday to Thursday 10am to 9pm, Friday 10am to 6pm",
        "url": "https://napac.org.uk",
    },
    {
        "name": "Shout (text support)",
        "phone": "Text SHOUT to 85258",
        "hours": "Open 24 hours a day, every day",
        "url": "https://giveusashout.org",
    },
]


# Every environment variable this module reads, so a test can hold the settings table in
# docs/operations.md to it.
READ_FROM_ENVIRONMENT: set[str] = set()


def _env(name: str, default: str) -> str:
    READ_FROM_ENVIRONMENT.add(name)
    return os.environ.get(name) or default  # set but empty counts as not set


DEFAULT_FEEDBACK_TOPICS = [
    "Sexual assault referral centre",
    "Counselling and therapy",
    "Police and reporting",
    "Courts and justice",
    "Health services",
    "This website",
    "Something else",
]

DEFAULT_SAFEGUARDING_PROCEDURE = (
    "Read the feedback carefully. If anyone may be at immediate risk, call 999. Otherwise "
    "follow your organisation's safeguarding procedure: record your decision, consult the "
    "designated safeguarding lead, and never try to identify an anonymous giver."
)


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name, "")
    if not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


def _env_list(name: str, default: list[str]) -> list[str]:
    """A list written with semicolons between items: "Police; Courts; This website"."""
    raw = _env(name, "")
    items = [item.strip() for item in raw.split(";") if item.strip()]
    return items or list(default)


def _env_json(name: str, default):
    raw = _env(name, "")
    return json.loads(raw) if raw.strip() else default


def selected_config() -> str:
    """development (the default), testing or production."""
    return _env("ENGAGE_CONFIG", "development")


def web_server_settings() -> dict[str, object]:
    """For gunicorn (engage/gunicorn_conf.py, `engage serve`)."""
    return {
        "bind": _env("WEB_BIND", "127.0.0.1:8000"),
        "workers": _env_int("WEB_CONCURRENCY", 2),
        "threads": _env_int("WEB_THREADS", 4),
        "timeout": _env_int("WEB_TIMEOUT", 30),
    }


# Where the SQLite database and local files live when nothing else is configured: ./instance
# beside wherever Engage is started (the checkout for `make run`).
INSTANCE_DIR = Path(_env("ENGAGE_INSTANCE_PATH", "") or Path.cwd() / "instance").resolve()


class Config:
    """Settings shared by every configuration."""

    ENV_NAME = "base"
    SECRET_KEY = _env("SECRET_KEY", "")
    FIELD_ENCRYPTION_KEY = _env("FIELD_ENCRYPTION_KEY", "")
    SQLALCHEMY_DATABASE_URI = _env(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'engage.sqlite3'}"
    )
    # hide_parameters keeps personal data out of error messages and logs. Connections that
    # have been idle are checked before use (engage/db.py, configure_engine), not every one.
    SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}

    SITE_NAME = _env("SITE_NAME", "Engage")
    ORGANISATION_NAME = _env("ORGANISATION_NAME", "Engage")
    # Who people contact (accessibility statement, privacy notice, cookies page). Empty
    # settings are left out of those pages; with no email the feedback form is offered.
    ORGANISATION_EMAIL = _env("ORGANISATION_EMAIL", "")
    ORGANISATION_PHONE = _env("ORGANISATION_PHONE", "")
    ORGANISATION_ADDRESS = _env("ORGANISATION_ADDRESS", "")
    DATA_PROTECTION_EMAIL = _env("DATA_PROTECTION_EMAIL", "")
    # The privacy notice's lawful basis, in the organisation's own words (a default is given).
    PRIVACY_LAWFUL_BASIS = _env("PRIVACY_LAWFUL_BASIS", "")
    CONTACT_REPLY_WORKING_DAYS = _env_int("CONTACT_REPLY_WORKING_DAYS", 10)
    # The accessibility statement's own dates (ISO, YYYY-MM-DD) and who tested the site.
    ACCESSIBILITY_STATEMENT_PREPARED_ON = _env("ACCESSIBILITY_STATEMENT_PREPARED_ON",
                                               "2026-12-05")
    ACCESSIBILITY_LAST_REVIEWED_ON = _env("ACCESSIBILITY_LAST_REVIEWED_ON", "2026-12-05")
    ACCESSIBILITY_LAST_TESTED_ON = _env("ACCESSIBILITY_LAST_TESTED_ON", "2026-12-05")
    ACCESSIBILITY_TESTED_BY = _env("ACCESSIBILITY_TESTED_BY", "the team that builds Engage")
    EXIT_URL = _env("EXIT_URL", "https://www.bbc.co.uk/weather")
    # Support signposting on every page: a JSON list of {"name", "phone", "hours", "url"}.
    HELPLINES = _env_json("HELPLINES", DEFAULT_HELPLINES)
    DEMO_COMMANDS_ENABLED = False
    # Number of reverse proxies in front whose X-Forwarded-* headers are trusted.
    PROXY_FIX_X_FOR = _env_int("PROXY_FIX_X_FOR", 0)
    PASSWORD_HASHER = _env("PASSWORD_HASHER", "argon2id")

    # Sessions: signed cookies, never readable by scripts.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    STAFF_IDLE_TIMEOUT = timedelta(minutes=30)
    STAFF_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    MEMBER_IDLE_TIMEOUT = timedelta(hours=2)
    MEMBER_ABSOLUTE_TIMEOUT = timedelta(days=1)

    WTF_CSRF_TIME_LIMIT = None  # tied to the session, which already expires
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024

    PASSWORD_RESET_MAX_AGE = timedelta(hours=1)
    INVITATION_MAX_AGE = timedelta(days=7)

    # Rate limits (Flask-Limiter). Memory by default; Redis at scale.
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_ENABLED = True
    LOGIN_LIMIT_PER_CLIENT = _env("LOGIN_LIMIT_PER_CLIENT", "20 per 10 minutes")
    LOGIN_LIMIT_PER_ACCOUNT = _env("LOGIN_LIMIT_PER_ACCOUNT", "5 per 10 minutes")
    # Reset links asked for one address, whoever asks (silently: the page never says).
    PASSWORD_RESET_LIMIT_PER_ADDRESS = _env("PASSWORD_RESET_LIMIT_PER_ADDRESS", "3 per hour")
    REGISTER_LIMIT_PER_CLIENT = _env("REGISTER_LIMIT_PER_CLIENT", "10 per hour")
    FEEDBACK_GIVE_LIMIT = _env("FEEDBACK_GIVE_LIMIT", "10 per hour")
    FEEDBACK_CHECK_LIMIT = _env("FEEDBACK_CHECK_LIMIT", "10 per 10 minutes")
    CONSULTATION_ANSWER_LIMIT = _env("CONSULTATION_ANSWER_LIMIT", "20 per hour")

    # Feedback: the services people can choose from, and what safeguarding leads are told.
    FEEDBACK_TOPICS = _env_list("FEEDBACK_TOPICS", DEFAULT_FEEDBACK_TOPICS)
    SAFEGUARDING_PROCEDURE = _env("SAFEGUARDING_PROCEDURE", DEFAULT_SAFEGUARDING_PROCEDURE)
    # How long an anonymous feedback form stays valid: long enough to write with breaks.
    FEEDBACK_FORM_MAX_AGE = _env_int("FEEDBACK_FORM_MAX_AGE", 3 * 60 * 60)
    # scrypt cost of feedback-code lookups (2**14: about 16 MiB and tens of milliseconds).
    FEEDBACK_CODE_SCRYPT_N = _env_int("FEEDBACK_CODE_SCRYPT_N", 2**14)

    # Anonymous consultation answers are added to the results once this many wait (and all of
    # them when the consultation closes), so each hides among at least this many.
    ANONYMOUS_BATCH_SIZE = _env_int("ANONYMOUS_BATCH_SIZE", 5)

    # Email through the outbox. MAIL_BACKEND is "smtp" or "log".
    MAIL_BACKEND = _env("MAIL_BACKEND", "smtp")
    MAIL_SERVER = _env("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USERNAME = _env("MAIL_USERNAME", "")
    MAIL_PASSWORD = _env("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_TIMEOUT = _env_float("MAIL_TIMEOUT", 30)
    # The neutral sender every email comes from: never a service that says what it is about.
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "notifications@example.org")
    MAIL_DISCREET_SENDER_NAME = _env("MAIL_DISCREET_SENDER_NAME", "Notifications")
    OUTBOX_MAX_ATTEMPTS = _env_int("OUTBOX_MAX_ATTEMPTS", 8)
    OUTBOX_BATCH_SIZE = _env_int("OUTBOX_BATCH_SIZE", 50)
    # A message claimed for sending longer ago than this is taken to belong to a worker that
    # died mid-send, and is tried again. Keep it well above the longest an SMTP exchange can
    # take (several MAIL_TIMEOUTs), or a slow send could be repeated at a worker hand-over.
    OUTBOX_STALE_CLAIM_SECONDS = _env_float("OUTBOX_STALE_CLAIM_SECONDS", 600)

    # Stripe Connect payouts (engage/payments/gateway.py). Test-mode keys, or a local
    # Stripe-compatible server through STRIPE_API_BASE.
    STRIPE_SECRET_KEY = _env("STRIPE_SECRET_KEY", "")
    STRIPE_WEBHOOK_SECRET = _env("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = _env("STRIPE_API_BASE", "https://api.stripe.com")
    STRIPE_TIMEOUT_SECONDS = _env_float("STRIPE_TIMEOUT_SECONDS", 20)
    # The Connect endpoint's signing secret (events on members' connected accounts: bank
    # payouts, account updates). Stripe gives the Connect endpoint its own secret; leave it
    # unset when one endpoint's secret signs both.
    STRIPE_CONNECT_WEBHOOK_SECRET = _env("STRIPE_CONNECT_WEBHOOK_SECRET", "")
    # Where Stripe's onboarding and Express dashboard pages live: the one other origin the
    # bank account page's form may lead to (CSP form-action). Unset: https://connect.stripe.com,
    # or STRIPE_API_BASE's origin when that is a local Stripe-compatible server.
    STRIPE_CONNECT_ORIGIN = _env("STRIPE_CONNECT_ORIGIN", "")
    # A payout not sent within this many hours, or transferred and not in the bank within
    # this many days, is flagged to finance (the payouts page and nightly reconciliation).
    PAYOUT_STUCK_AFTER_HOURS = _env_int("PAYOUT_STUCK_AFTER_HOURS", 24)
    PAYOUT_BANK_WAIT_DAYS = _env_int("PAYOUT_BANK_WAIT_DAYS", 10)

    # Worker (APScheduler) settings.
    WORKER_POLL_SECONDS = _env_float("WORKER_POLL_SECONDS", 10)
    WORKER_LEASE_SECONDS = _env_float("WORKER_LEASE_SECONDS", 60)
    # Event reminders: hours before the start (longest first), and how many per batch.
    EVENT_REMINDER_HOURS = _env("EVENT_REMINDER_HOURS", "48,2")
    EVENT_REMINDER_BATCH_SIZE = _env_int("EVENT_REMINDER_BATCH_SIZE", 100)

    # Uploaded files (receipts): encrypted, then kept in a local folder or S3-compatible
    # object storage (engage/core/storage.py).
    STORAGE_BACKEND = _env("STORAGE_BACKEND", "local")
    UPLOADS_DIR = _env("UPLOADS_DIR", str(INSTANCE_DIR / "uploads"))
    S3_BUCKET = _env("S3_BUCKET", "")
    S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL", "")
    S3_REGION = _env("S3_REGION", "us-east-1")
    S3_ACCESS_KEY_ID = _env("S3_ACCESS_KEY_ID", "")
    S3_SECRET_ACCESS_KEY = _env("S3_SECRET_ACCESS_KEY", "")

    # Logs: "json" (one object a line) or "text"; optional error and trace reporting.
    LOG_FORMAT = _env("LOG_FORMAT", "text")
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")
    SENTRY_DSN = _env("SENTRY_DSN", "")
    SENTRY_TRACES_SAMPLE_RATE = _env_float("SENTRY_TRACES_SAMPLE_RATE", 0)
    OTEL_EXPORTER_OTLP_ENDPOINT = _env("OTEL_EXPORTER_OTLP_ENDPOINT", "")

    BABEL_DEFAULT_LOCALE = "en_GB"
    BABEL_DEFAULT_TIMEZONE = "Europe/London"
    BABEL_TRANSLATION_DIRECTORIES = str(PACKAGE_DIR / "translations")
    LANGUAGES = {"en_GB": "English"}

    HSTS = False
    # How long the dashboard's figures are kept before they are worked out again (seconds;
    # engage/dashboard/snapshots.py). 0 works them out on every visit.
    DASHBOARD_FIGURES_MAX_AGE = _env_float("DASHBOARD_FIGURES_MAX_AGE", 600)
    # Signed-out copies of public pages (engage/core/page_cache.py).
    PUBLIC_PAGE_CACHE = _env_bool("PUBLIC_PAGE_CACHE", True)
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = _env("SECRET_KEY", "dev-only-not-secret")
    # A fixed development key so demo data stays readable between runs; never used in production.
    FIELD_ENCRYPTION_KEY = _env(
        "FIELD_ENCRYPTION_KEY", "ZGV2ZWxvcG1lbnQtb25seS1maWVsZC1rZXktMzJieXQ="
    )
    MAIL_BACKEND = _env("MAIL_BACKEND", "log")
    DEMO_COMMANDS_ENABLED = True
    WORKER_POLL_SECONDS = _env_float("WORKER_POLL_SECONDS", 5)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105 - tests only
    FIELD_ENCRYPTION_KEY = "dGVzdGluZy1vbmx5LWZpZWxkLWtleS0zMi1ieXRlcyE="
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
    MAIL_BACKEND = "smtp"
    MAIL_SERVER = "127.0.0.1"
    # Tests start their own SMTP server and set the port (in the environment for a worker
    # subprocess).
    MAIL_PORT = _env_int("MAIL_PORT", 0)
    PASSWORD_HASHER = "fast"  # noqa: S105 - a hasher name, not a password
    DASHBOARD_FIGURES_MAX_AGE = 0.0  # tests read figures as they change; one test keeps them
    DEMO_COMMANDS_ENABLED = True
    PUBLIC_BASE_URL = "http://localhost"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    HSTS = True
    LOG_FORMAT = _env("LOG_FORMAT", "json")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
