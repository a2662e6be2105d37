"""Request hooks: who is signed in, session lifetimes, two-factor gate, headers, template
helpers."""

from __future__ import annotations

import time
from functools import cache

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user, user_logged_out
from markupsafe import Markup
from sqlalchemy import bindparam, func, inspect, literal_column, select

from engage.accounts.models import User, UserRole, UserSession
from engage.accounts.queues import staff_queues
from engage.accounts.services import end_session, session_key
from engage.core import clock, page_cache, page_shell, sessions, wiring
from engage.core.models import Notification
from engage.core.permissions import ROLE_LABELS, Permission, Role, can
from engage.core.security import READ_METHODS, add_security_headers
from engage.db import attached, one_row_reads, plain_rows, with_one_row_reads
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


# Columns only sign-in uses: not read (nor decrypted) with the person on every request.
SIGN_IN_ONLY = frozenset({"totp_secret", "password_hash"})


@cache
def _person_columns() -> tuple:
    mapper = inspect(User)
    return tuple((attribute.key, attribute.columns[0]) for attribute in mapper.column_attrs
                 if attribute.key not in SIGN_IN_ONLY)


@cache
def _user_query(extras: tuple = (), joined: tuple = ()):
    """Built once (for each page that reads something with the person) and reused: the
    person (only while the cookie's server-side session exists), the names of their roles and
    their unread count, as plain columns, then the page's `extras` and the one-row reads it
    sent (`joined`: engage.db.with_one_row_reads). The roles come as one string rather than as
    loaded objects, and the two-factor secret and password hash, which only sign-in uses, are
    not read or decrypted."""
    unread = (select(func.count()).select_from(Notification)
              .where(Notification.user_id == User.id, Notification.read_at.is_(None))
              .correlate(User).scalar_subquery())
    # The separator is written into the SQL, not sent as a parameter to write in each time.
    role_names = (select(func.aggregate_strings(UserRole.role, literal_column("','")))
                  .where(UserRole.user_id == User.id).correlate(User).scalar_subquery())
    return with_one_row_reads(
        select(*(column for _, column in _person_columns()), unread, role_names,
               *(column() for _, column in extras))
        .join(UserSession, (UserSession.user_id == User.id)
              & (UserSession.id == bindparam("session_key")))
        .where(User.id == bindparam("user_id")), joined)


def load_user(user_id: str):
    """The signed-in person, their roles, their unread message count and what the page asked
    to have read with them, in one query, only while their server-side session exists
    (signing out deletes it, so a copied cookie stops working). The query runs as a plain
    read (engage.db.plain_rows) and the person is put in the session as if the ORM had
    loaded them."""
    key = session_key(session.get("sid"))
    if key is None:
        return None
    try:
        raw_id, raw_version = user_id.split(":", 1)
        wanted = int(raw_id)
    except (ValueError, TypeError):
        return None
    found = wiring.registries()
    extras = found.with_person.get(request.endpoint, ())
    sent = found.sent_with_person.get(request.endpoint)
    early = sent(wanted) if sent is not None and request.method in READ_METHODS else []
    joined = tuple(statement for statement, _ in early)
    [rows] = plain_rows(db.session, (_user_query(extras, joined), wiring.joined_params(
        {"user_id": wanted, "session_key": key}, early)))
    if not rows:
        return None
    if len(rows) > 1:  # the person is one row: a read joined to them found several
        raise RuntimeError(f"a read sent with the person on {request.endpoint} found more "
                           "than one row (wiring.send_with_person takes one-row reads)")
    names = [name for name, _ in _person_columns()]
    person = dict(zip(names, rows[0], strict=False))
    if person["is_disabled"] or str(person["session_version"]) != raw_version:
        return None
    unread, role_names, *rest = rows[0][len(names):]
    g.engage_unread_count = unread
    setattr(g, wiring.READ_WITH_PERSON,
            {name: value for (name, _), value in zip(extras, rest, strict=False)})
    wiring.sent_early(early, one_row_reads(tuple(rest[len(extras):]), joined))
    user = attached(db.session, User, person)
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
    user = current_user._get_current_object()  # the person, once, not through the proxy
    if not user.is_authenticated:
        return None
    idle, absolute = _limits_for(user)
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
    if user.needs_two_factor_setup and request.endpoint not in TWO_FACTOR_SETUP_ALLOWED:
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
