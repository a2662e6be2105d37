"""Where a transaction may end, checked on every module in engage/: the request's unit of work
commits once (engage/core/unit_of_work.py), so no view commits or rolls back. Every other
commit or rollback (the worker's one per job, the jobs that keep each item as they go, the
leases, error pages) says why on its line; commands are their own unit of work.
"""

from __future__ import annotations

import ast
from pathlib import Path

import engage

ENGAGE_DIR = Path(engage.__file__).parent
ENDS = {"commit", "rollback"}
# Commands run outside a request and are their own unit of work; demo data is one command.
COMMAND_MODULES = {"cli.py"}


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ENGAGE_DIR.parent).with_suffix("").parts)


def transaction_ends(source: str) -> list[int]:
    """Line numbers of `<something>.commit()` / `.rollback()` calls."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ENDS and not node.args]


def _is_view_module(module: str) -> bool:
    last = module.split(".")[-1]
    return last == "views" or last.endswith("_views")


def _is_command_module(path: Path) -> bool:
    return path.name in COMMAND_MODULES or "demo" in path.relative_to(ENGAGE_DIR).parts


def _sources():
    for path in sorted(ENGAGE_DIR.rglob("*.py")):
        if "migrations" in path.relative_to(ENGAGE_DIR).parts:
            continue
        yield path, path.read_text(encoding="utf-8")


def test_no_view_commits_or_rolls_back():
    found = [f"{_module(path)}:{line}" for path, source in _sources()
             if _is_view_module(_module(path)) for line in transaction_ends(source)]
    assert found == []


def test_every_other_commit_or_rollback_says_why_on_its_line():
    unexplained = []
    for path, source in _sources():
        if _is_command_module(path):
            continue
        lines = source.splitlines()
        unexplained += [f"{_module(path)}:{line}" for line in transaction_ends(source)
                        if "#" not in lines[line - 1]]
    assert unexplained == []


def test_the_check_sees_a_commit_in_a_view():
    view = ("def save():\n"
            "    services.save(form.data)\n"
            "    db.session.commit()\n"
            "    return redirect('/')\n")
    assert transaction_ends(view) == [3]
