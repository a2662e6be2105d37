"""Engage: the application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from jinja2 import ChainableUndefined, ChoiceLoader, FileSystemLoader, PackageLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from engage.core.unit_of_work import EngageFlask

PACKAGE_DIR = Path(__file__).resolve().parent


class ConfigurationError(RuntimeError):
    """Raised when a configuration cannot run safely (for example, a missing secret)."""


def create_app(config: str | type | None = "development", **overrides) -> Flask:
    from engage.config import CONFIGS, INSTANCE_DIR

    config_class = CONFIGS[config] if isinstance(config, str) else config
    app = EngageFlask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(PACKAGE_DIR / "templates"),
        static_folder=str(PACKAGE_DIR / "static"),
    )
    app.config.from_object(config_class)
    app.config.update(overrides)
    _check_secrets(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    _configure_logging(app)
    _configure_jinja(app)
    _configure_proxies(app)
    _init_extensions(app)
    _register_blueprints(app)

    from engage import cli, hooks
    from engage.errors_http import register_error_handlers

    hooks.register(app)
    register_error_handlers(app)
    cli.register(app)
    return app


def _check_secrets(app: Flask) -> None:
    if app.config.get("ENV_NAME") != "production":
        return
    weak = {"", "dev-only-not-secret", "change-me"}
    if app.config.get("SECRET_KEY", "") in weak or len(app.config["SECRET_KEY"]) < 32:
        raise ConfigurationError(
            "SECRET_KEY is missing or too short: set the SECRET_KEY environment variable to a "
            "random value of at least 32 characters (python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')."
        )
    if len(app.config.get("FIELD_ENCRYPTION_KEY", "").split(",")[0].strip()) < 32:
        raise ConfigurationError(
            "FIELD_ENCRYPTION_KEY is missing or too short: set it to a random value of at "
            "least 32 characters (python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'). Keep the value you already use: "
            "changing it makes every encrypted field unreadable."
        )


def _configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                            "%(message)s")
    # Werkzeug's request log prints client addresses; the feedback routes must leave none, so
    # the development server's access log is replaced by one without addresses (hooks.py).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _configure_jinja(app: Flask) -> None:
    app.jinja_options = {
        **app.jinja_options,
        "undefined": ChainableUndefined,
        "loader": ChoiceLoader([
            FileSystemLoader(str(PACKAGE_DIR / "templates")),
            PackageLoader("nhsuk_frontend_jinja"),
        ]),
        "trim_blocks": True,
        "lstrip_blocks": True,
        # The NHS.UK macros are .jinja files, which Flask would not autoescape: without this,
        # text passed to them (labels, typed values) would be output as raw HTML.
        "autoescape": True,
    }


def _configure_proxies(app: Flask) -> None:
    import os

    hops = int(os.environ.get("PROXY_FIX_X_FOR", "0"))
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _init_extensions(app: Flask) -> None:
    from engage import models  # noqa: F401 - every table registered before use
    from engage.accounts import personal_data  # noqa: F401 - registers personal data kinds
    from engage.changes import personal_data as _changes_data  # noqa: F401
    from engage.consultations import personal_data as _consultations_data  # noqa: F401
    from engage.consultations import retention as _consultations_retention  # noqa: F401
    from engage.core.crypto import FieldCipher
    from engage.db import configure_sqlite
    from engage.equality import personal_data as _equality_data  # noqa: F401
    from engage.equality.events_link import connect_to_events as connect_equality_to_events
    from engage.events import personal_data as _events_data  # noqa: F401
    from engage.extensions import babel, csrf, db, limiter, login_manager, migrate
    from engage.feedback import personal_data as _feedback_data  # noqa: F401
    from engage.feedback import retention as _feedback_retention  # noqa: F401 - after personal_data
    from engage.panels import personal_data as _panels_data  # noqa: F401
    from engage.panels import retention as _panels_retention  # noqa: F401 - retention rules
    from engage.payments import personal_data as _payments_data  # noqa: F401
    from engage.payments import retention as _payments_retention  # noqa: F401 - after personal_data
    from engage.payments.events_link import connect_to_events
    from engage.payments.notices import register_notice as register_payment_notice

    app.extensions["engage_field_cipher"] = FieldCipher(app.config["FIELD_ENCRYPTION_KEY"])
    connect_to_events()  # registers, corrections and cancellations → claims
    register_payment_notice()  # the benefits and tax notice before a paid role
    connect_equality_to_events()  # registers → equality snapshots of who attended
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_sqlite(engine)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app)
    _install_request_gettext(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # no IP/agent fingerprint; see hooks.py
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"


def _install_request_gettext(app: Flask) -> None:
    """Templates call _() dozens of times a page, and Flask-Babel looks the request's
    translations up afresh (three context look-ups) on every call: look them up once per
    request (or app context) instead."""
    from flask import g
    from flask_babel import get_translations

    def translations():
        found = g.get("engage_translations")
        if found is None:
            found = g.engage_translations = get_translations()
        return found

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )


def _register_blueprints(app: Flask) -> None:
    from engage.accounts.admin_views import bp as admin_bp
    from engage.accounts.views import bp as accounts_bp
    from engage.changes.views import bp as changes_bp
    from engage.consultations.views import bp as consultations_bp
    from engage.core.views import bp as core_bp
    from engage.dashboard.views import bp as dashboard_bp
    from engage.equality.views import bp as equality_bp
    from engage.events.views import bp as events_bp
    from engage.feedback.views import bp as feedback_bp
    from engage.lifecycle.views import bp as lifecycle_bp
    from engage.panels.programme_views import bp as programmes_bp
    from engage.panels.views import bp as panels_bp
    from engage.payments.views import bp as payments_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(panels_bp)
    app.register_blueprint(programmes_bp)
    app.register_blueprint(consultations_bp)
    app.register_blueprint(feedback_bp)
    app.register_blueprint(changes_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(equality_bp)
    app.register_blueprint(lifecycle_bp)
    app.register_blueprint(dashboard_bp)
