"""Engage: the application factory."""

from __future__ import annotations

import importlib.util
from functools import partial
from pathlib import Path
from types import ModuleType

from babel import Locale
from flask import Flask, g, has_request_context, request
from flask_babel import get_translations
from jinja2 import ChainableUndefined, ChoiceLoader, FileSystemLoader, PackageLoader, pass_context
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

from engage import (
    accounts,
    changes,
    cli,
    consultations,
    core,
    dashboard,
    equality,
    events,
    extensions,
    feedback,
    hooks,
    lifecycle,
    panels,
    payments,
)
from engage.config import CONFIGS, INSTANCE_DIR
from engage.core import logs, wiring
from engage.core.crypto import FieldCipher
from engage.core.security import READ_METHODS
from engage.core.unit_of_work import EngageFlask
from engage.db import configure_engine
from engage.errors_http import register_error_handlers
from engage.extensions import babel, csrf, limiter, login_manager, migrate

PACKAGE_DIR = Path(__file__).resolve().parent

# The domains in dependency order (DESIGN.md): each one's init_app registers its blueprints,
# personal data, jobs, hooks and signal receivers; a domain may rely on those before it.
DOMAINS: tuple[ModuleType, ...] = (
    core, accounts, panels, consultations, feedback, events, changes, payments,
    equality, lifecycle, dashboard,
)


class ConfigurationError(RuntimeError):
    """Raised when a configuration cannot run safely (for example, a missing secret)."""


def create_app(config: str | type | None = "development", *,
               domains: tuple[ModuleType, ...] = DOMAINS, **overrides) -> Flask:
    config_class = CONFIGS[config] if isinstance(config, str) else config
    app = EngageFlask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(PACKAGE_DIR / "templates"),
        static_folder=None,  # engage/core/assets.py serves it, hashed and compressed
    )
    app.config.from_object(config_class)
    app.config.update(overrides)
    _check_production(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    _configure_logging(app)
    _configure_jinja(app)
    _configure_proxies(app)
    _init_extensions(app)
    registries = wiring.setup(app)
    for domain in domains:
        domain.init_app(app)
    registries.close()

    hooks.register(app)
    register_error_handlers(app)
    cli.register(app)
    return app


def _check_production(app: Flask) -> None:
    """Production refuses settings that are unsafe, or that break as soon as there is more than
    one process, and says which variable to set."""
    if app.config.get("ENV_NAME") != "production":
        return
    _check_secrets(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        raise ConfigurationError(
            "DATABASE_URL is not set (or is SQLite): production needs PostgreSQL. Set "
            "DATABASE_URL=postgresql+psycopg://USER:PASSWORD@HOST/DATABASE and install "
            "engage[postgres].")
    storage_uri = app.config["RATELIMIT_STORAGE_URI"]
    if storage_uri.startswith("memory"):
        raise ConfigurationError(
            "RATELIMIT_STORAGE_URI is memory://, which counts sign-in attempts per process, so "
            "each web process would allow the full number again. Set "
            "RATELIMIT_STORAGE_URI=redis://HOST:6379/0 and install engage[redis].")
    if storage_uri.startswith(("redis", "rediss")) and importlib.util.find_spec("redis") is None:
        raise ConfigurationError(
            "RATELIMIT_STORAGE_URI is Redis but the redis package is missing: install "
            "engage[redis] (pip install 'engage[redis]').")
    if app.config["STORAGE_BACKEND"] == "s3" and importlib.util.find_spec("boto3") is None:
        raise ConfigurationError(
            "STORAGE_BACKEND is s3 but boto3 is missing: install engage[s3].")


def _check_secrets(app: Flask) -> None:
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
    logs.configure_logging(app)
    logs.init_request_log(app)
    logs.init_reporting(app)


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
    hops = int(app.config["PROXY_FIX_X_FOR"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _init_extensions(app: Flask) -> None:
    app.extensions["engage_field_cipher"] = FieldCipher(app.config["FIELD_ENCRYPTION_KEY"])
    # extensions.db, never a name `db` here: it would hide the engage.db module (migrations
    # use engage.db.UTCDateTime).
    extensions.db.init_app(app)
    with app.app_context():
        for engine in extensions.db.engines.values():
            configure_engine(engine, reads_first=_reads_first)
    migrate.init_app(app, extensions.db, directory=str(PACKAGE_DIR / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    # One language for now: the locale is parsed once, not on every request.
    babel.init_app(app, locale_selector=partial(_the_locale,
                                                Locale.parse(app.config["BABEL_DEFAULT_LOCALE"])))
    _install_request_gettext(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"


def _the_locale(locale: Locale) -> Locale:
    return locale


def _reads_first() -> bool:
    """A GET or HEAD request reads before it writes, if it writes at all (engage/db.py)."""
    return has_request_context() and request.method in READ_METHODS


def _install_request_gettext(app: Flask) -> None:
    """Templates call _() dozens of times a page, and Flask-Babel looks the request's
    translations up afresh (three context look-ups) on every call: look them up once per
    request (or app context) instead. `_` and `gettext` are also called directly rather than
    through Jinja's alias, and a text with no placeholders is not run through `%` (which
    would give the same text back)."""
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

    @pass_context
    def gettext(context, string: str, **variables):
        text = translations().ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704  # nosec B704 - our catalogue, as Jinja i18n does
        return text % variables if variables or "%" in text else text

    app.jinja_env.globals.update(gettext=gettext, _=gettext)
