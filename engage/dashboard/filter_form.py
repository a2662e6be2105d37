"""The dashboard's filter form, drawn once per set of choices and query string and kept.

Drawing it (two date boxes through the NHS.UK macros, three lists of choices with translated
labels) took about a third of the dashboard page. What it shows depends only on the language,
the query string (the values and any errors) and the panels and organisations offered, which
the page reads anyway, so those are the key: a renamed panel or a new organisation is a new key,
and nothing needs to be thrown away. Nothing about the person is in it (it is a GET form with
no token), so the copy is the same for every member of staff who asks with the same key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Flask, current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

MAX_FORMS = 128


class KeptForms:
    def __init__(self, size: int = MAX_FORMS) -> None:
        self.size = size
        self._forms: OrderedDict[tuple, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Markup | None:
        with self._lock:
            html = self._forms.get(key)
            if html is not None:
                self._forms.move_to_end(key)
            return html

    def put(self, key: tuple, html: Markup) -> None:
        with self._lock:
            self._forms[key] = html
            while len(self._forms) > self.size:
                self._forms.popitem(last=False)


def init_app(app: Flask) -> None:
    app.extensions["engage_dashboard_forms"] = KeptForms()


def filter_form_html(form) -> Markup:
    key = (str(get_locale()), request.script_root, request.query_string,
           tuple(form.panel.choices), tuple(form.organisation.choices))
    kept: KeptForms = current_app.extensions["engage_dashboard_forms"]
    html = kept.get(key)
    if html is None:
        html = Markup(render_template("dashboard/_filters.html", form=form))  # noqa: S704  # nosec B704 - rendered by Jinja with autoescape
        kept.put(key, html)
    return html
