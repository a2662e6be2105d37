"""The dependency direction of DESIGN.md, checked on every import in engage/ (imports inside
functions included):

core ← accounts ← panels ← consultations, feedback, events ← changes, payments ← dashboard,
with equality and lifecycle sitting with the dashboard. A domain imports only from domains to
its left, never another domain's views, and never the application around it (the factory,
request hooks, CLI, worker, demo data). A lower domain that needs a higher one uses a signal or
a hook (docs/development.md, "How a domain is wired").
"""

from __future__ import annotations

import ast
from pathlib import Path

import engage

ENGAGE_DIR = Path(engage.__file__).parent

# Modules every domain may use, beside core itself.
BASE = {"extensions", "db", "errors", "config"}
TIERS = [
    {"core"},
    {"accounts"},
    {"panels"},
    {"consultations", "feedback", "events"},
    {"changes", "payments"},
    {"equality", "lifecycle", "dashboard"},
]
TIER = {domain: rank for rank, domains in enumerate(TIERS) for domain in domains}
# Within the last tier, the dashboard reads equality and lifecycle.
SIBLINGS_ALLOWED = {("dashboard", "equality"), ("dashboard", "lifecycle")}


def _domain(module: str) -> str | None:
    """The domain a module belongs to (base modules count as core); None for the application
    around the domains (engage itself, hooks, cli, worker, wsgi, demo, migrations...)."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "engage":
        return None
    if parts[1] in TIER:
        return parts[1]
    if parts[1] in BASE:
        return "core"
    return None


def _is_views(module: str) -> bool:
    last = module.split(".")[-1]
    return last == "views" or last.endswith("_views")


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if node.module == "engage":
            return [f"engage.{alias.name}" for alias in node.names]
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names
                                if _is_views(alias.name)]
    return []


def forbidden_imports(module: str, source: str) -> list[str]:
    """Every import in `source` (the text of `module`) that goes the wrong way."""
    mine = _domain(module)
    if mine is None:
        return []  # the application around the domains may import any of them
    problems = []
    for node in ast.walk(ast.parse(source)):
        for target in _imported(node):
            if not target.startswith("engage"):
                continue
            theirs = _domain(target)
            line = f"{module}:{node.lineno} imports {target}"
            if theirs is None:
                problems.append(f"{line}: a domain never imports the application around it")
            elif theirs != mine and _is_views(target):
                problems.append(f"{line}: never another domain's views")
            elif theirs == mine:
                continue
            elif TIER[theirs] > TIER[mine]:
                problems.append(f"{line}: upwards ({theirs} sits above {mine}); use a signal "
                                "or a hook")
            elif TIER[theirs] == TIER[mine] and (mine, theirs) not in SIBLINGS_ALLOWED:
                problems.append(f"{line}: sideways ({mine} and {theirs} sit side by side)")
    return problems


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(ENGAGE_DIR.rglob("*.py")):
        parts = ("engage", *path.relative_to(ENGAGE_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append((".".join(parts), path))
    return found


def test_no_module_in_engage_imports_against_the_dependency_direction():
    problems = [problem for module, path in _modules()
                for problem in forbidden_imports(module, path.read_text())]
    assert problems == []


def test_the_check_sees_a_lazy_upward_import_inside_a_function():
    # What consultations/views.py did before the changes domain added its links through a
    # hook: import the changes services inside a view helper.
    lazy = ("def _change_links(consultation):\n"
            "    from engage.changes import services as changes\n"
            "    return changes.staff_entries()\n")
    assert forbidden_imports("engage.consultations.views", lazy) == [
        "engage.consultations.views:2 imports engage.changes: upwards (changes sits "
        "above consultations); use a signal or a hook"]


def test_the_check_sees_sideways_imports_views_and_the_application():
    assert forbidden_imports("engage.feedback.services",
                             "from engage.events.models import Event\n")
    assert forbidden_imports("engage.lifecycle.views",
                             "from engage.accounts.admin_views import require\n")
    assert forbidden_imports("engage.payments.tasks", "from engage import worker\n")
    assert forbidden_imports("engage.dashboard.metrics",
                             "from engage.equality.services import snapshot_counts\n") == []
    assert forbidden_imports("engage.worker", "from engage.payments import payouts\n") == []
