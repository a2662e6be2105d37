"""axe-core in the page: `assert_accessible(page, name)` fails on serious or critical problems.

axe comes from npm (`node_modules/axe-core`, installed by `make assets`). It is evaluated
through DevTools rather than added as a <script> tag: `page.add_script_tag(path=...)` inserts
an inline script, which the site's Content-Security-Policy (`script-src 'self'`) rightly
refuses, and turning the policy off (`bypass_csp`) would test pages that visitors never get.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import Page

AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA (WCAG 2.2 added no new level A rules to axe),
# plus axe's best practices, which cover landmarks and heading order.
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING_IMPACTS = {"serious", "critical"}

_RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return {
    rulesPassed: results.passes.length,
    violations: results.violations.map(v => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      targets: v.nodes.map(n => n.target.join(" ")),
      summaries: v.nodes.map(n => n.failureSummary || ""),
    })),
  };
}"""


@cache
def _axe_source() -> str:
    if not AXE_SOURCE.exists():
        pytest.fail(
            f"axe-core is missing ({AXE_SOURCE}). Install the front-end packages with "
            "`make assets` (npm ci).",
            pytrace=False,
        )
    return AXE_SOURCE.read_text(encoding="utf-8")


def axe_violations(page: Page) -> dict:
    """Run axe on the page as it is now; returns the rules passed and every violation."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    return page.evaluate(_RUN_AXE, RULE_TAGS)


def format_violation(violation: dict) -> str:
    lines = [f"- {violation['id']} ({violation['impact']}): {violation['help']}",
             f"  {violation['helpUrl']}"]
    for target, summary in zip(violation["targets"], violation["summaries"], strict=True):
        lines.append(f"    at {target}")
        lines.extend(f"      {line}" for line in summary.splitlines() if line.strip())
    return "\n".join(lines)


def assert_accessible(page: Page, name: str) -> None:
    """Fail, listing each problem and where it is, if axe finds a serious or critical one."""
    results = axe_violations(page)
    assert results["rulesPassed"] > 0, f"{name}: axe checked nothing on {page.url}"
    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]
    if blocking:
        details = "\n".join(format_violation(v) for v in blocking)
        pytest.fail(
            f"{name} ({page.url}) has {len(blocking)} serious or critical accessibility "
            f"problem(s):\n{details}",
            pytrace=False,
        )
