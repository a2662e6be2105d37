"""Engage configurations, read from environment variables.

Pick one with ENGAGE_CONFIG=development|testing|production (engage/wsgi.py does this).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# Where the SQLite database and local files live when nothing else is configured: ./instance
# beside wherever Engage is started (the checkout for `make run`).
INSTANCE_DIR = Path(os.environ.get("ENGAGE_INSTANCE_PATH", Path.cwd() / "instance")).resolve()

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


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every configuration."""

    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", "")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'engage.sqlite3'}"
    )
    # hide_parameters keeps personal data out of error messages and logs.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}

    SITE_NAME = os.environ.get("SITE_NAME", "Engage")
    ORGANISATION_NAME = os.environ.get("ORGANISATION_NAME", "Engage")
    # Who people contact (accessibility statement, privacy notice, cookies page). Empty
    # settings are left out of those pages; with no email the feedback form is offered.
    ORGANISATION_EMAIL = os.environ.get("ORGANISATION_EMAIL", "")
    ORGANISATION_PHONE = os.environ.get("ORGANISATION_PHONE", "")
    ORGANISATION_ADDRESS = os.environ.get("ORGANISATION_ADDRESS", "")
    DATA_PROTECTION_EMAIL = os.environ.get("DATA_PROTECTION_EMAIL", "")
    # The privacy notice's lawful basis, in the organisation's own words (a default is given).
    PRIVACY_LAWFUL_BASIS = os.environ.get("PRIVACY_LAWFUL_BASIS", "")
    CONTACT_REPLY_WORKING_DAYS = int(os.environ.get("CONTACT_REPLY_WORKING_DAYS", "10"))
    # The accessibility statement's own dates (ISO, YYYY-MM-DD) and who tested the site.
    ACCESSIBILITY_STATEMENT_PREPARED_ON = os.environ.get(
        "ACCESSIBILITY_STATEMENT_PREPARED_ON", "2026-12-05")
    ACCESSIBILITY_LAST_REVIEWED_ON = os.environ.get("ACCESSIBILITY_LAST_REVIEWED_ON", "2026-12-05")
    ACCESSIBILITY_LAST_TESTED_ON = os.environ.get("ACCESSIBILITY_LAST_TESTED_ON", "2026-12-05")
    ACCESSIBILITY_TESTED_BY = os.environ.get("ACCESSIBILITY_TESTED_BY",
                                             "the team that builds Engage")
    EXIT_URL = os.environ.get("EXIT_URL", "https://www.bbc.co.uk/weather")
    HELPLINES = DEFAULT_HELPLINES
    DEMO_COMMANDS_ENABLED = False

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
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_ENABLED = True
    LOGIN_LIMIT_PER_CLIENT = os.environ.get("LOGIN_LIMIT_PER_CLIENT", "20 per 10 minutes")
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 10 minutes")
    # Reset links asked for one address, whoever asks (silently: the page never says).
    PASSWORD_RESET_LIMIT_PER_ADDRESS = os.environ.get("PASSWORD_RESET_LIMIT_PER_ADDRESS",
                                                      "3 per hour")
    REGISTER_LIMIT_PER_CLIENT = os.environ.get("REGISTER_LIMIT_PER_CLIENT", "10 per hour")

    # Anonymous consultation answers are added to the results once this many wait (and all of
    # them when the consultation closes), so each hides among at least this many.
    ANONYMOUS_BATCH_SIZE = int(os.environ.get("ANONYMOUS_BATCH_SIZE", "5"))

    # Email through the outbox. MAIL_BACKEND is "smtp" or "log".
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "30"))
    # The neutral sender every email comes from: never a service that says what it is about.
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "notifications@example.org")
    MAIL_DISCREET_SENDER_NAME = os.environ.get("MAIL_DISCREET_SENDER_NAME", "Notifications")
    OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8"))
    OUTBOX_BATCH_SIZE = int(os.environ.get("OUTBOX_BATCH_SIZE", "50"))
    # A message claimed for sending longer ago than this is taken to belong to a worker that
    # died mid-send, and is tried again. Keep it well above the longest an SMTP exchange can
    # take (several MAIL_TIMEOUTs), or a slow send could be repeated at a worker hand-over.
    OUTBOX_STALE_CLAIM_SECONDS = float(os.environ.get("OUTBOX_STALE_CLAIM_SECONDS", "600"))

    # Stripe Connect payouts (engage/payments/gateway.py). Test-mode keys, or a local
    # Stripe-compatible server through STRIPE_API_BASE.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
    STRIPE_TIMEOUT_SECONDS = float(os.environ.get("STRIPE_TIMEOUT_SECONDS", "20"))
    # The Connect endpoint's signing secret (events on members' connected accounts: bank
    # payouts, account updates). Stripe gives the Connect endpoint its own secret; leave it
    # unset when one endpoint's secret signs both.
    STRIPE_CONNECT_WEBHOOK_SECRET = os.environ.get("STRIPE_CONNECT_WEBHOOK_SECRET", "")
    # Where Stripe's onboarding and Express dashboard pages live: the one other origin the
    # bank account page's form may lead to (CSP form-action). Unset: https://connect.stripe.com,
    # or STRIPE_API_BASE's origin when that is a local Stripe-compatible server.
    STRIPE_CONNECT_ORIGIN = os.environ.get("STRIPE_CONNECT_ORIGIN", "")
    # A payout not sent within this many hours, or transferred and not in the bank within
    # this many days, is flagged to finance (the payouts page and nightly reconciliation).
    PAYOUT_STUCK_AFTER_HOURS = float(os.environ.get("PAYOUT_STUCK_AFTER_HOURS", "24"))
    PAYOUT_BANK_WAIT_DAYS = float(os.environ.get("PAYOUT_BANK_WAIT_DAYS", "10"))

    # Worker (APScheduler) settings.
    WORKER_POLL_SECONDS = float(os.environ.get("WORKER_POLL_SECONDS", "10"))
    WORKER_LEASE_SECONDS = float(os.environ.get("WORKER_LEASE_SECONDS", "60"))

    BABEL_DEFAULT_LOCALE = "en_GB"
    BABEL_DEFAULT_TIMEZONE = "Europe/London"
    BABEL_TRANSLATION_DIRECTORIES = str(PACKAGE_DIR / "translations")
    LANGUAGES = {"en_GB": "English"}

    HSTS = False
    # How long the dashboard's figures are kept before they are worked out again (seconds;
    # engage/dashboard/snapshots.py). 0 works them out on every visit.
    DASHBOARD_FIGURES_MAX_AGE = float(os.environ.get("DASHBOARD_FIGURES_MAX_AGE", "600"))
    # Signed-out copies of public pages (engage/core/page_cache.py).
    PUBLIC_PAGE_CACHE = _env_bool("PUBLIC_PAGE_CACHE", True)
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    # A fixed development key so demo data stays readable between runs; never used in production.
    FIELD_ENCRYPTION_KEY = os.environ.get(
        "FIELD_ENCRYPTION_KEY", "ZGV2ZWxvcG1lbnQtb25seS1maWVsZC1rZXktMzJieXQ="
    )
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "log")
    DEMO_COMMANDS_ENABLED = True
    WORKER_POLL_SECONDS = float(os.environ.get("WORKER_POLL_SECONDS", "5"))


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105 - tests only
    FIELD_ENCRYPTION_KEY = "dGVzdGluZy1vbmx5LWZpZWxkLWtleS0zMi1ieXRlcyE="
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    MAIL_BACKEND = "smtp"
    MAIL_SERVER = "127.0.0.1"
    # Tests start their own SMTP server and set the port (in the environment for a worker
    # subprocess).
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "0"))
    PASSWORD_HASHER = "fast"  # noqa: S105 - a hasher name, not a password
    DASHBOARD_FIGURES_MAX_AGE = 0.0  # tests read figures as they change; one test keeps them
    DEMO_COMMANDS_ENABLED = True
    PUBLIC_BASE_URL = "http://localhost"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    HSTS = True


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
