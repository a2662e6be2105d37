"""Request hooks: who is signed in, session lifetimes, two-factor gate, headers, template
helpers."""

from __future__ import annotations

import time
from functools import cache

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user, user_logged_out
from markupsafe import Markup
from sqlalchemy import bindparam, func, literal_column, select
from sqlalchemy.orm import defer

from engage.accounts.models import User, UserRole, UserSession
from engage.accounts.queues import staff_queues
from engage.accounts.services import end_session, session_key
from engage.core import clock, page_cache, page_shell, sessions
from engage.core.models import Notification
from engage.core.permissions import ROLE_LABELS, Permission, Role, can
from engage.core.security import add_security_headers
from engage.extensions import db, login_manager
from engage.panels.richtext import sanitise

# Endpoints a member of staff may use before finishing two-factor set-up.
TWO_FACTOR_SETUP_ALLOWED = {
    "accounts.two_factor_setup",
    "accounts.sign_out",
    "core.leave",
    "core.leaving_quickly",
    "core.support",
    "core.accessibility",
    "core.cookies",
    "lifecycle.privacy",
    "core.healthz",
    "core.readyz",
    "core.vendor_asset",
    "static",
}
SESSIONLESS_ENDPOINTS = {"static", "core.vendor_asset", "core.healthz", "core.readyz"}
SEEN_AT_RESOLUTION = 60  # seconds; idle time-outs are exact to within this


def register(app: Flask) -> None:
    page_cache.init_app(app)
    sessions.init_app(app)
    page_shell.init_app(app)
    login_manager.user_loader(load_user)
    user_logged_out.connect(end_server_session, app)
    app.before_request(enforce_session_rules)
    app.after_request(lambda response: add_security_headers(app, response))
    app.context_processor(template_helpers)
    app.add_template_filter(clock.format_london, "london")
    app.add_template_filter(role_label, "role_label")
    app.add_template_filter(formatted_html, "formatted_html")


def formatted_html(value: str | None):
    """Staff-formatted text, cleaned again as it is shown (it was cleaned when saved too), so a
    template never marks raw text as safe."""
    return Markup(sanitise(value))  # noqa: S704  # nosec B704 - nh3 has just cleaned it


def role_label(role) -> str:
    return ROLE_LABELS[Role(role)]


@cache
def _user_query():
    """Built once and reused: the person (only while the cookie's server-side session exists),
    the names of their roles and their unread count. The roles come as one string rather than
    as loaded objects (building the collection cost more than the rest of the query), and the
    two-factor secret and password hash, which only sign-in uses, are not read or decrypted."""
    unread = (select(func.count()).select_from(Notification)
              .where(Notification.user_id == User.id, Notification.read_at.is_(None))
              .correlate(User).scalar_subquery())
    # The separator is written into the SQL, not sent as a parameter to write in each time.
    role_names = (select(func.aggregate_strings(UserRole.role, literal_column("','")))
                  .where(UserRole.user_id == User.id).correlate(User).scalar_subquery())
    return (select(User, unread, role_names)
            .join(UserSession, (UserSession.user_id == User.id)
                  & (UserSession.id == bindparam("session_key")))
            .options(defer(User.totp_secret), defer(User.password_hash))
            .where(User.id == bindparam("user_id")))


def load_user(user_id: str):
    """The signed-in person, their roles and their unread message count, in one query, only
    while their server-side session exists (signing out deletes it, so a copied cookie stops
    working)."""
    key = session_key(session.get("sid"))
    if key is None:
        return None
    try:
        raw_id, raw_version = user_id.split(":", 1)
        wanted = int(raw_id)
    except (ValueError, TypeError):
        return None
    row = db.session.execute(_user_query(), {"user_id": wanted, "session_key": key}).first()
    if row is None:
        return None
    user, g.engage_unread_count, role_names = row
    if user.is_disabled or str(user.session_version) != raw_version:
        return None
    user.known_roles(role_names.split(",") if role_names else ())
    return user


def end_server_session(sender, user=None, **extra) -> None:
    """Flask-Login signs someone out (the sign-out button, "Exit this page", a time-out):
    their server-side session is deleted too."""
    end_session(session.get("sid"))


def _limits_for(user) -> tuple[float, float]:
    config = (
        ("STAFF_IDLE_TIMEOUT", "STAFF_ABSOLUTE_TIMEOUT")
        if user.is_staff
        else ("MEMBER_IDLE_TIMEOUT", "MEMBER_ABSOLUTE_TIMEOUT")
    )
    return (
        current_app.config[config[0]].total_seconds(),
        current_app.config[config[1]].total_seconds(),
    )


def enforce_session_rules():
    if request.endpoint in SESSIONLESS_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return None
    idle, absolute = _limits_for(current_user)
    now = time.time()
    started = session.get("login_at", 0)
    seen = session.get("seen_at", 0)
    if now - seen > idle or now - started > absolute:
        logout_user()
        session.clear()
        flash("You were signed out because the session timed out. Please sign in again.", "info")
        return redirect(url_for("accounts.sign_in"))
    if now - seen >= SEEN_AT_RESOLUTION:
        # Written at most once a minute: the cookie is signed and sent again only then.
        session["seen_at"] = now
    if current_user.needs_two_factor_setup and request.endpoint not in TWO_FACTOR_SETUP_ALLOWED:
        return redirect(url_for("accounts.two_factor_setup"))
    return None


def template_helpers() -> dict:
    # The person themselves, not the proxy: templates ask about them dozens of times a page.
    user = current_user._get_current_object() if current_user.is_authenticated else None
    return {
        "site_name": current_app.config["SITE_NAME"],
        "helplines": current_app.config["HELPLINES"],
        "can": lambda permission: can(user, Permission(permission)),
        "nav_user": user,
        "unread_count": _unread_count(user) if user else 0,
        # Called by base.html for staff only: members and visitors pay no queries for it.
        "staff_queues": lambda: staff_queues(user),
    }


def _unread_count(user) -> int:
    if "engage_unread_count" in g:  # read with the user at the start of the request
        return g.engage_unread_count
    try:
        return db.session.scalar(
            select(func.count()).select_from(Notification).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        ) or 0
    except Exception:  # an error page must still render when the database is down
        db.session.rollback()  # ends the failed read, so the error page can use the session
        return 0
