"""How a domain plugs into the app: registries that belong to the app, filled by each domain's
`init_app(app)` while `create_app` walks the domains in dependency order.

A registry refuses a second entry under the same name (two domains claiming one table, one job
registered twice) and any entry once the app is set up, so nothing depends on which module
happened to be imported first. docs/development.md ("How a domain is wired") shows each call.

- `add_personal_data(app, *kinds)`: kinds of personal data, each with its retention rule and
  anonymise rule in the same declaration (engage.core.personal_data).
- `add_job(app, name, run, every=...)`: a polling job for the worker.
- `add_hook(app, hook, function)`: a higher domain's contribution to a lower domain's page or
  process, at a `Hook` the lower domain defines; `connect(app, signal, receiver)` is the same
  for a `Signal` (a hook whose receivers return nothing).
- `add_command(app, command)`: a `flask engage ...` command.
- `read_with_person(app, endpoint, **columns)`: what a page needs read in the same query as
  the signed-in person (correlated scalar subqueries), found with `read_with_the_person(name)`;
  `send_with_person(app, endpoint, reads)`: the plain one-row reads a page will make, joined
  to the person's query and found with `rows_sent_with_person`. Both save the page a query
  (decision 0022).
- `add_template_names(app, *objects)`: names templates may use, such as a model's state enum
  (`{% if c.state == ConsultationState.OPEN %}`), so templates compare members, not strings.
Blueprints are registered with Flask's own `app.register_blueprint`, which refuses duplicates
and late registrations in the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import click
from flask import Flask, current_app, g

from engage.db import plain_rows

EXTENSION = "engage.wiring"
READ_WITH_PERSON = "engage_with_person"  # the key in `g` of what was read with the person
SENT_WITH_PERSON = "engage_sent_with_person"  # ... and of the rows of reads sent with them


class RegistrationError(RuntimeError):
    """A domain registered something twice, or after the app was set up."""


class Registry:
    """Named entries in the order they were registered; closed once the app is set up."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[Any, Any] = {}
        self._closed = False

    def add(self, key: Any, value: Any) -> None:
        if self._closed:
            raise RegistrationError(
                f"{self.what} {key!r} was registered after the app was set up: register it in "
                "its domain's init_app(app).")
        if key in self._entries:
            raise RegistrationError(f"{self.what} {key!r} is registered twice.")
        self._entries[key] = value

    def close(self) -> None:
        self._closed = True

    def __getitem__(self, key: Any) -> Any:
        return self._entries[key]

    def get(self, key: Any, default: Any = None) -> Any:
        return self._entries.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[Any]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self):
        return self._entries.keys()

    def values(self):
        return self._entries.values()

    def items(self):
        return self._entries.items()

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Registry) and self.what == other.what
                and list(self._entries.items()) == list(other._entries.items()))

    __hash__ = None  # type: ignore[assignment]  # mutable while the app is being set up


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[str], object]  # called with the worker's id; returns something to log
    every: float  # minimum seconds between runs (0: every tick)
    # Jobs that deliver what other jobs queued (the email outbox) run after the others in a
    # tick, so a reminder queued by one job goes out in the same tick.
    after_others: bool = False


@dataclass(eq=True)
class Registries:
    personal_data: Registry = field(default_factory=lambda: Registry("personal data kind"))
    retention_rules: Registry = field(default_factory=lambda: Registry("retention rule"))
    jobs: Registry = field(default_factory=lambda: Registry("worker job"))
    hooks: Registry = field(default_factory=lambda: Registry("hook"))
    commands: Registry = field(default_factory=lambda: Registry("command"))
    template_names: Registry = field(default_factory=lambda: Registry("template name"))
    with_person: Registry = field(default_factory=lambda: Registry("read with the person"))
    sent_with_person: Registry = field(
        default_factory=lambda: Registry("reads sent with the person"))

    def all(self) -> list[Registry]:
        return [self.personal_data, self.retention_rules, self.jobs, self.hooks, self.commands,
                self.template_names, self.with_person, self.sent_with_person]

    def close(self) -> None:
        for registry in self.all():
            registry.close()


def setup(app: Flask) -> Registries:
    if EXTENSION in app.extensions:
        raise RegistrationError("The app's registries are already set up.")
    app.extensions[EXTENSION] = Registries()
    return app.extensions[EXTENSION]


def registries(app: Flask | None = None) -> Registries:
    """The registries of `app`, or of the current app."""
    return (app or current_app).extensions[EXTENSION]


def _name_of(function: Callable) -> str:
    return f"{function.__module__}.{function.__qualname__}"


# --- what a domain's init_app calls -------------------------------------------------------------


def add_personal_data(app: Flask, *kinds: Any) -> None:
    """Declare kinds of personal data (engage.core.personal_data.PersonalDataKind). A kind's
    retention rule is registered with it; kinds may share one rule (the same object)."""
    found = registries(app)
    for kind in kinds:
        found.personal_data.add(kind.table, kind)
        rule = kind.retention
        if rule is None:
            continue
        if found.retention_rules.get(rule.key) is rule:
            continue
        found.retention_rules.add(rule.key, rule)


def add_job(app: Flask, name: str, run: Callable[[str], object], *, every: float,
            after_others: bool = False) -> None:
    registries(app).jobs.add(name, Job(name, run, every, after_others))


def add_hook(app: Flask, hook: Hook, function: Callable) -> None:
    registries(app).hooks.add((hook.name, _name_of(function)), function)


def connect(app: Flask, signal: Signal, receiver: Callable) -> None:
    add_hook(app, signal, receiver)


def add_command(app: Flask, command: click.Command) -> None:
    registries(app).commands.add(command.name, command)


def read_with_person(app: Flask, endpoint: str, **columns: Callable[[], Any]) -> None:
    """Have each of `columns` (a function giving a scalar subquery correlated to the person's
    row, `User.id`) read with the signed-in person when `endpoint` is asked for."""
    registries(app).with_person.add(endpoint, tuple(columns.items()))


def send_with_person(app: Flask, endpoint: str, reads: Callable[[int], list[tuple]]) -> None:
    """When `endpoint` is asked for (GET), read `reads(person_id)` (plain reads that find one
    row at most, see engage.db.plain_rows, for the person the cookie names) within the person's
    own query (engage.db.with_one_row_reads). The page finds their rows with
    `rows_sent_with_person`; if the person is not signed in after all, the rows are dropped
    unseen."""
    registries(app).sent_with_person.add(endpoint, reads)


def joined_params(params: dict, reads: list[tuple]) -> dict:
    """`params` with those of each read sent with the person: one query's parameters. A name
    two of them use must have the same value in both (the person's id, say)."""
    joined = dict(params)
    for _, more in reads:
        for name, value in (more or {}).items():
            if joined.setdefault(name, value) != value:
                raise ValueError(f"the reads sent with the person give {name!r} two values")
    return joined


def sent_early(reads: list[tuple], rows: list[list[tuple]]) -> None:
    """Keep the rows of reads sent with the person for this request (engage.hooks.load_user)."""
    setattr(g, SENT_WITH_PERSON, {_read_key(read): found
                                   for read, found in zip(reads, rows, strict=True)})


def rows_sent_with_person(session, *reads: tuple) -> list[list[tuple]]:
    """engage.db.plain_rows(session, *reads), except that a read sent with the person in this
    request (the very same statement with the same parameters) gives the rows it found then,
    once; the others are read now, together."""
    sent = g.get(SENT_WITH_PERSON) or {}
    early = [sent.pop(_read_key(read), None) for read in reads]
    fresh = iter(plain_rows(session, *(read for read, rows in zip(reads, early, strict=True)
                                       if rows is None)) if None in early else ())
    return [next(fresh) if rows is None else rows for rows in early]


def _read_key(read: tuple) -> tuple:
    statement, params = read
    return statement, tuple(sorted((params or {}).items()))


def read_with_the_person(name: str, otherwise: Callable[[], Any]) -> Any:
    """What the page asked to have read with the signed-in person under `name` in this
    request (engage.hooks.load_user puts it in `g`), or `otherwise()` when it was not."""
    found = g.get(READ_WITH_PERSON) or {}
    return found[name] if name in found else otherwise()


def add_template_names(app: Flask, *objects: Any) -> None:
    """Make classes (a model's state enum, say) usable in every template by their own name."""
    for obj in objects:
        registries(app).template_names.add(obj.__name__, obj)
        app.add_template_global(obj, obj.__name__)


# --- what a lower domain defines ---------------------------------------------------------------


class Hook:
    """A point where higher domains contribute to a lower domain's page or process, without the
    lower domain importing them. Functions run in the order the domains registered them."""

    def __init__(self, name: str) -> None:
        self.name = name

    def functions(self) -> list[Callable]:
        return [function for (hook, _name), function in registries().hooks.items()
                if hook == self.name]

    def results(self, *args: Any, **kwargs: Any) -> list[Any]:
        """What each function returned, leaving out None."""
        found = (function(*args, **kwargs) for function in self.functions())
        return [result for result in found if result is not None]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Signal(Hook):
    """Something that happened in a lower domain, which higher domains may act on. Receivers run
    in the sender's transaction: if one fails, the whole unit of work rolls back."""

    def send(self, sender: Any, **kwargs: Any) -> None:
        for receiver in self.functions():
            receiver(sender, **kwargs)
