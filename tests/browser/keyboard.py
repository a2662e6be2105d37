"""Moving through a page as a keyboard user does: Tab until a control is focused, then act."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

_FOCUSED_TEXT = """() => {
  const el = document.activeElement;
  const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
  return (label || el.innerText || el.value || el.getAttribute("aria-label") || "").trim();
}"""


def focused_text(page: Page) -> str:
    return " ".join(page.evaluate(_FOCUSED_TEXT).split())


def tab_to(page: Page, text: str, limit: int = 120) -> None:
    """Press Tab until the focused control's text (or its label) starts with `text`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_text(page).startswith(text):
            return
    pytest.fail(f"Tab never reached {text!r} on {page.url}")


def activate(page: Page, text: str) -> None:
    """Tab to a link or button and press Enter, then wait for the page it leads to."""
    tab_to(page, text)
    with page.expect_navigation():
        page.keyboard.press("Enter")
