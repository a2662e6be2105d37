"""Formatted text typed by staff: a small, safe subset of HTML.

People may type plain paragraphs (blank lines between them, "- " for bullet points) or simple
HTML. Either way the result is cleaned with nh3 on the way in, and only the cleaned HTML is ever
shown.
"""

from __future__ import annotations

import re

import nh3

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "h2", "h3", "a", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
_BLOCK_TAG = re.compile(r"<\s*(p|ul|ol|h2|h3|blockquote)\b", re.IGNORECASE)


def _plain_to_html(text: str) -> str:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    parts = []
    for block in blocks:
        lines = [line.strip() for line in block.splitlines()]
        if all(line.startswith(("- ", "* ")) for line in lines):
            items = "".join(f"<li>{line[2:].strip()}</li>" for line in lines)
            parts.append(f"<ul>{items}</ul>")
        else:
            parts.append("<p>" + "<br>".join(lines) + "</p>")
    return "".join(parts)


def sanitise(text: str | None) -> str:
    """Safe HTML for formatted text, whether it was typed as plain text or simple HTML."""
    if not text or not text.strip():
        return ""
    # Block-level HTML is kept as typed; otherwise paragraphs and bullets are made from the
    # lines. Either way nh3 decides what survives (inline tags like <strong> are allowed).
    source = text if _BLOCK_TAG.search(text) else _plain_to_html(text)
    return nh3.clean(
        source,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
