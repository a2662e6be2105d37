"""One declaration of every kind of personal data Engage holds.

Each domain registers the tables that hold a person's data: how to export them, what happens
on account closure, why the data is held, who can see it and how long it is kept. The own-data
export, account closure and (later) the "data we hold" page are all generated from this, and a
test fails when a table that refers to a person is missing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Exporter = Callable[[Any], list[dict[str, Any]]]
Eraser = Callable[[Any], None]


@dataclass(frozen=True)
class PersonalDataKind:
    table: str
    label: str
    why: str
    who_can_see: str
    kept_for: str
    export: Exporter
    erase: Eraser
    # Optional: keep the person's contributions of this kind without any link to them (the
    # member's choice when closing their account); `anonymise_note` says what that means.
    anonymise: Eraser | None = None
    anonymise_note: str = ""
    # Optional: the engage.lifecycle retention rule that removes this kind of data over time.
    retention_key: str | None = None
    # What closing the account does to it, when that is not simply deleting it.
    on_close: str = "Deleted."


REGISTRY: dict[str, PersonalDataKind] = {}


def register(kind: PersonalDataKind) -> None:
    REGISTRY[kind.table] = kind


def export_all(user: Any) -> dict[str, list[dict[str, Any]]]:
    return {table: kind.export(user) for table, kind in sorted(REGISTRY.items())}


def erase_all(user: Any) -> None:
    close_all(user, keep_contributions=False)


def close_all(user: Any, *, keep_contributions: bool) -> None:
    """Account closure: everything erased, except that contributions of kinds that can be kept
    without a link to the person are anonymised instead when the person chose to keep them."""
    # Erase dependants before the person's own row.
    for _table, kind in sorted(REGISTRY.items(), key=lambda item: item[0] == "users"):
        if keep_contributions and kind.anonymise is not None:
            kind.anonymise(user)
        else:
            kind.erase(user)


def closure_preview(user: Any) -> list[tuple[PersonalDataKind, int]]:
    """Each kind of data the person has, with how many records: what closing would touch."""
    preview = []
    for _table, kind in sorted(REGISTRY.items(), key=lambda item: item[1].label):
        count = len(kind.export(user))
        if count:
            preview.append((kind, count))
    return preview
