"""The dashboard's filter form, drawn once per set of choices and query string and kept.

Drawing it (two date boxes through the NHS.UK macros, three lists of choices with translated
labels) took about a third of the dashboard page. What it shows depends only on the language,
the query string (the values and any errors) and the panels and organisations offered, which
the page reads anyway, so those are the key: a renamed panel or a new organisation is a new key,
and nothing needs to be thrown away. Nothing about the person is in it (it is a GET form with
no token), so the copy is the same for every member of staff who asks with the same key.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

from engage.core.page_cache import KeptCopies

MAX_FORMS = 128


def init_app(app: Flask) -> None:
    app.extensions["engage_dashboard_forms"] = KeptCopies[Markup](MAX_FORMS)


def filter_form_html(form) -> Markup:
    key = (str(get_locale()), request.script_root, request.query_string,
           tuple(form.panel.choices), tuple(form.organisation.choices))
    kept: KeptCopies[Markup] = current_app.extensions["engage_dashboard_forms"]
    html = kept.get(key)
    if html is None:
        html = Markup(render_template("dashboard/_filters.html", form=form))  # noqa: S704  # nosec B704 - rendered by Jinja with autoescape
        kept.put(key, html)
    return html
