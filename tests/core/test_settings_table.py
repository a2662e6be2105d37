"""docs/operations.md holds one table of every setting, true to engage/config.py."""

from __future__ import annotations

import re
from pathlib import Path

import engage.gunicorn_conf  # noqa: F401 - reads the web server settings through engage.config
from engage import config

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \|(.*)\|\s*$")


def _table() -> dict[str, list[str]]:
    rows = {}
    for line in OPERATIONS.read_text().splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def test_every_setting_read_from_the_environment_is_in_the_operations_table():
    documented = set(_table())
    read = set(config.READ_FROM_ENVIRONMENT)
    assert read - documented == set(), "settings missing from docs/operations.md"
    assert documented - read == set(), "docs/operations.md names settings config.py never reads"


def test_each_row_gives_a_default_a_meaning_and_whether_production_needs_it():
    for name, cells in _table().items():
        assert len(cells) == 3 and all(cells), name
        assert cells[2].split(" ")[0].rstrip(",") in {"yes", "no", "with"}, name


def test_the_table_s_defaults_are_the_code_s():
    table = _table()
    for name in ("LOGIN_LIMIT_PER_CLIENT", "FEEDBACK_GIVE_LIMIT", "CONSULTATION_ANSWER_LIMIT",
                 "OUTBOX_MAX_ATTEMPTS", "WORKER_LEASE_SECONDS", "EVENT_REMINDER_HOURS",
                 "STORAGE_BACKEND", "FEEDBACK_FORM_MAX_AGE", "FEEDBACK_CODE_SCRYPT_N"):
        value = getattr(config.Config, name)
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        assert table[name][0].startswith(f"`{shown}`"), name
