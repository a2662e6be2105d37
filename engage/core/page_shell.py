"""The page shell: the top of every page (head links, exit bar, header, main menu) and its
footer, drawn once per kind of visitor and kept.

Drawing them took about half the time of a signed-in page (30 translated strings and 20 links
each time). What they show depends only on the language, the site's address, whether someone is
signed in and which of three menu items their roles allow (`nav_key`); the two things that are
the person's own (the sign-out form's token and the unread-message count) are put in where the
marks are on every request. Nothing about the person is kept: the kept copies are the same for
everyone with the same key.

The copies live in the process (a handful of small strings per language) and only change when
the code or the settings do, which means a restart. Development (debug or template
auto-reload) draws them every time, so an edited template shows at once.
"""

from __future__ import annotations

from flask import Flask, current_app, g, render_template, request, session
from flask_babel import get_locale, gettext
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from engage.core.permissions import Permission, can

PARTS = {"top": "_shell/top.html", "bottom": "_shell/bottom.html"}
CSRF_MARK = Markup("<!--engage:csrf-->")
UNREAD_MARK = Markup("<!--engage:unread-->")
UNREAD_BADGE = Markup(' <span class="engage-badge">{}<span class="nhsuk-u-visually-hidden"> {}'
                      '</span></span>')
# The menu items that depend on roles (base shell, _shell/top.html).
MENU_PERMISSIONS = (Permission.APPROVE_CLAIMS_AS_FINANCE, Permission.VIEW_DASHBOARD,
                    Permission.MANAGE_STAFF)


def init_app(app: Flask) -> None:
    app.extensions["engage_page_shell"] = {}
    app.add_template_global(page_shell)


def nav_key(part: str, user) -> tuple:
    """Everything the kept part may depend on: the footer is the same for everyone."""
    key = (part, str(get_locale()), request.script_root)
    if part == "bottom" or user is None:
        return key
    return (*key, *(can(user, permission) for permission in MENU_PERMISSIONS))


@pass_context
def page_shell(context: Context, part: str) -> Markup:
    """base.html's top or bottom; the context's `nav_user` and `unread_count` come from
    hooks.template_helpers."""
    user = context.get("nav_user")
    html = _kept(part, user)
    if user is None or g.get("engage_keeping_page"):
        return html
    return _filled(html, context.get("unread_count") or 0)


def _filled(html: str, unread: int) -> Markup:
    """The person's own sign-out token and unread badge, put where the marks are."""
    badge = UNREAD_BADGE.format(unread, gettext("unread")) if unread else Markup("")
    return Markup(html.replace(CSRF_MARK, generate_csrf()).replace(UNREAD_MARK, badge))  # noqa: S704  # nosec B704 - our own kept template, filled with escaped values


def kept_page(template: str) -> str:
    """A whole page that is the same for every signed-in member with the same `nav_key`
    (the home page), drawn once and kept like the shell, with the person's token and badge
    put in. Drawn afresh for staff (their work queues are their own), with a message to
    show, and for visitors (their copy is the public page cache's)."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    app = current_app
    if (user is None or user.is_staff or "_flashes" in session or app.debug
            or app.jinja_env.auto_reload):
        return render_template(template)
    key = ("page", template, *nav_key("top", user))
    kept = app.extensions["engage_page_shell"]
    html = kept.get(key)
    if html is None:
        g.engage_keeping_page = True
        try:
            html = kept[key] = render_template(template)
        finally:
            g.pop("engage_keeping_page")
    return _filled(html, g.get("engage_unread_count") or 0)


def _kept(part: str, user) -> Markup:
    app = current_app
    if app.debug or app.jinja_env.auto_reload:
        return _draw(part)
    kept = app.extensions["engage_page_shell"]
    key = nav_key(part, user)
    html = kept.get(key)
    if html is None:
        html = kept[key] = _draw(part)
    return html


def _draw(part: str) -> Markup:
    """Drawn with the same context every page has (site name, helplines, `can`, `nav_user`)."""
    context: dict = {}
    current_app.update_template_context(context)
    template = current_app.jinja_env.get_template(PARTS[part])
    return Markup(template.render(**context, csrf_mark=CSRF_MARK, unread_mark=UNREAD_MARK))  # noqa: S704  # nosec B704 - rendered by Jinja with autoescape
