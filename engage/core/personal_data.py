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


REGISTRY: dict[str, PersonalDataKind] = {}


def register(kind: PersonalDataKind) -> None:
    REGISTRY[kind.table] = kind


def export_all(user: Any) -> dict[str, list[dict[str, Any]]]:
    return {table: kind.export(user) for table, kind in sorted(REGISTRY.items())}


def erase_all(user: Any) -> None:
    # Erase dependants before the person's own row.
    for _table, kind in sorted(REGISTRY.items(), key=lambda item: item[0] == "users"):
        kind.erase(user)
