"""Engage's Jinja environment."""

from __future__ import annotations

from flask.templating import Environment


class EngageEnvironment(Environment):
    """Each template's globals as one plain dict, not Jinja's layered ChainMap.

    Jinja compares the importing template's globals with the imported one's on every
    `{% from ... import ... %}`; over a ChainMap that is one layered look-up per global (about
    40), and the NHS.UK macros import each other dozens of times a page, which made the form
    pages several times slower. Every global is added while the app is set up, before any
    template is loaded, so a copy taken when a template loads misses nothing.
    """

    def make_globals(self, d):
        return {**self.globals, **(d or {})}
