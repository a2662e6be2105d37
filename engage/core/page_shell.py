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

import hashlib
import pickle  # nosec B403 - only ever dumps our own values, never loads
import re
from collections.abc import Callable, Mapping

from flask import Flask, current_app, g, render_template, request, session
from flask_babel import get_locale, gettext
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from engage.core.page_cache import KeptCopies
from engage.core.permissions import Permission, can

KEPT_LIMIT = 512  # kept pages per process; the keys carry small facts, but never grow unbounded
PARTS = {"top": "_shell/top.html", "bottom": "_shell/bottom.html"}
CSRF_MARK = Markup("<!--engage:csrf-->")
UNREAD_MARK = Markup("<!--engage:unread-->")
UNREAD_BADGE = Markup(' <span class="engage-badge">%s<span class="nhsuk-u-visually-hidden"> %s'
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
    kept = _kept(part, user)
    if user is None or g.get("engage_keeping_page"):
        return kept.html
    return _filled(kept, context.get("unread_count") or 0)


class KeptHtml:
    """A kept page or part: its HTML, and the same cut at its marks once, when it is kept
    (text, mark, text, mark, ..., text), so that filling it in is a join rather than a search
    of the whole page for each kind of mark."""

    __slots__ = ("html", "parts")

    def __init__(self, html: str) -> None:
        self.html = Markup(html)  # noqa: S704  # nosec B704 - rendered by Jinja with autoescape
        self.parts = tuple(MARKS.split(html))


# Any mark, as one group (so that splitting keeps the marks): a fill's is \ue000name\ue001.
MARKS = re.compile(f"({re.escape(CSRF_MARK)}|{re.escape(UNREAD_MARK)}|\ue000[a-z_]+\ue001)")


def _filled(kept: KeptHtml, unread: int, fills: Mapping[str, object] | None = None) -> Markup:
    """The person's own sign-out token, unread badge and `fills`, put where the marks are. A
    value is put in as it is (escaped), never searched for marks itself."""
    token, badge = generate_csrf(), _badge(unread)
    parts = list(kept.parts)
    for at in range(1, len(parts), 2):
        mark = parts[at]
        if mark == CSRF_MARK:
            parts[at] = token
        elif mark == UNREAD_MARK:
            parts[at] = badge
        elif fills and (name := mark[1:-1]) in fills:
            parts[at] = escape(fills[name])
    return Markup("".join(parts))  # noqa: S704  # nosec B704 - our own kept template, filled with escaped values


_BADGES: KeptCopies[Markup] = KeptCopies(KEPT_LIMIT)


def _badge(unread: int) -> Markup:
    """The unread badge for a count, drawn once per language and count: translating its
    word cost more than the rest of putting the person's own values into a kept page."""
    if not unread:
        return Markup("")
    key = (str(get_locale()), unread)
    badge = _BADGES.get(key)
    if badge is None:
        badge = UNREAD_BADGE % (unread, gettext("unread"))
        _BADGES.put(key, badge)
    return badge


class Fill:
    """Where one of the person's own values goes in a kept page: private-use characters that
    autoescaping leaves alone, so the mark survives being put into a translated sentence."""

    def __init__(self, name: str) -> None:
        self.mark = f"\ue000{name}\ue001"

    def __str__(self) -> str:
        return self.mark

    __html__ = __str__


def kept_page(template: str, *, key: tuple = (), fills: Mapping[str, object] | None = None,
              draw: Callable[[], dict] | None = None, **context) -> str:
    """A whole page drawn once and kept like the shell, with the person's token, badge and
    `fills` put in on every request.

    The kept copy is the same for everyone with the same `nav_key` and `key`, so everything the
    page shows that may differ between people must be one of those: `key` for small facts that
    change what is drawn (yes or no, which kind of account), `fills` for the person's own words
    and numbers, which the template only prints. Nothing in `fills` is kept. Drawn afresh: for
    staff (every page shows them their work queues, counted on each request), with a message
    to show, for visitors (their copy is the public page cache's) and in development.

    `draw`, when given, returns more of the template's context and is only called when the page
    is drawn: a page whose `key` already holds everything it shows (the rows it lists, read
    lightly) loads the heavier objects the template needs only then."""
    user = current_user._get_current_object()  # the person, once, not through the proxy
    if not user.is_authenticated:
        user = None
    app = current_app
    if (user is None or user.is_staff or "_flashes" in session or app.debug
            or app.jinja_env.auto_reload):
        return render_template(template, **context, **(draw() if draw else {}),
                               **(fills or {}))
    full_key = ("page", template, *nav_key("top", user), _digest(key))
    kept = app.extensions["engage_page_shell"]
    page = kept.get(full_key)
    if page is None:
        page = _keep(kept, full_key, template, {**context, **(draw() if draw else {})},
                     fills or {})
    return _filled(page, g.get("engage_unread_count") or 0, fills)


def _digest(key: tuple) -> bytes:
    """The key as 16 bytes: a list's key holds its rows, and the copies should cost memory for
    their pages, not for what they were drawn from. Equal digests mean equal keys (BLAKE2b)."""
    return hashlib.blake2b(pickle.dumps(key, protocol=5), digest_size=16).digest()


def _keep(kept: dict, key: tuple, template: str, context: dict, fills: Mapping) -> KeptHtml:
    if len(kept) >= KEPT_LIMIT:
        kept.clear()
    token = g.pop("csrf_token", None)
    g.csrf_token, g.engage_keeping_page = CSRF_MARK, True  # forms in the page get the mark
    try:
        page = kept[key] = KeptHtml(render_template(template, **context,
                                                    **{name: Fill(name) for name in fills}))
    finally:
        g.pop("engage_keeping_page")
        g.pop("csrf_token")
        if token is not None:
            g.csrf_token = token
    return page


def _kept(part: str, user) -> KeptHtml:
    app = current_app
    if app.debug or app.jinja_env.auto_reload:
        return KeptHtml(_draw(part))
    kept = app.extensions["engage_page_shell"]
    key = nav_key(part, user)
    found = kept.get(key)
    if found is None:
        found = kept[key] = KeptHtml(_draw(part))
    return found


def _draw(part: str) -> Markup:
    """Drawn with the same context every page has (site name, helplines, `can`, `nav_user`)."""
    context: dict = {}
    current_app.update_template_context(context)
    template = current_app.jinja_env.get_template(PARTS[part])
    return Markup(template.render(**context, csrf_mark=CSRF_MARK, unread_mark=UNREAD_MARK))  # noqa: S704  # nosec B704 - rendered by Jinja with autoescape
