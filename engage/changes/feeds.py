"""Open data for the public log: JSON, Atom and CSV. Only published entries, no personal data.

Each entry is its public version: a new version replaces the words, `version` goes up and
`updated` says when. An entry withdrawn from public view leaves the entries; the Atom feed
says so with a tombstone (RFC 6721 deleted-entry, with the public reason) and the first page
of the JSON feed lists it under `withdrawn`. The JSON fields are documented on the public log
page (#open-data); tests check every entry has exactly JSON_ENTRY_FIELDS.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from xml.etree import ElementTree as ET  # nosec B405 (we only build XML, never parse it)

from flask import current_app, url_for

from engage.changes.links import public_count
from engage.changes.models import ChangeEntry
from engage.core.clock import iso

JSON_FIELD_DOCS = (
    ("id", "The entry's number."),
    ("url", "Its public page."),
    ("you_said", "A summary of what people said."),
    ("we_did", "What was done, or will be done."),
    ("organisation", "The organisation or service that made the change."),
    ("theme", "The theme, or null."),
    ("status", "considering, planned, in_progress, done or not_possible."),
    ("status_label", "The status in words."),
    ("not_possible_reason", "Why not, when the status is not_possible; otherwise null."),
    ("target_date", "ISO date, or null."),
    ("completed_date", "ISO date, or null."),
    ("published", "When it was published (ISO date-time, UTC)."),
    ("updated", "When it last changed (ISO date-time, UTC)."),
    ("version", "Which version of the entry this is: 1 as first published, then one more "
                "each time a second person approves a new version."),
    ("feedback_count", "Pieces of feedback linked: 0, or 5 or more; null when 1 to 4, so "
                       "that no one can be singled out."),
    ("response_count", "Consultation responses (written answers) linked: 0, or 5 or more; "
                       "null when 1 to 4."),
    ("consultation_count", "Consultations linked (whole consultations), exactly."),
    ("history", "A list of {date, kind (published, status or edited), status}."),
)
WITHDRAWN_FIELD_DOCS = (
    ("id", "The entry's number."),
    ("url", "Its page, which now says only that it was withdrawn, when and why."),
    ("withdrawn", "When it was withdrawn from public view (ISO date-time, UTC)."),
    ("reason", "Why, as published."),
)
JSON_ENTRY_FIELDS = tuple(name for name, _ in JSON_FIELD_DOCS)
CSV_COLUMNS = ("id", "url", "you_said", "we_did", "organisation", "theme", "status",
               "not_possible_reason", "target_date", "completed_date", "published", "updated",
               "version", "feedback_count", "response_count", "consultation_count")
ATOM_NS = "http://www.w3.org/2005/Atom"
TOMBSTONES_NS = "http://purl.org/atompub/tombstones/1.0"


def entry_record(entry: ChangeEntry, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "url": url_for("changes.public_entry", entry_id=entry.id, _external=True),
        "you_said": entry.said,
        "we_did": entry.done,
        "organisation": entry.organisation,
        "theme": entry.theme.name if entry.theme else None,
        "status": str(entry.status),
        "status_label": entry.status_label,
        "not_possible_reason": entry.not_possible_reason,
        "target_date": iso(entry.target_on),
        "completed_date": iso(entry.completed_on),
        "published": iso(entry.published_at),
        "updated": iso(entry.updated_at or entry.published_at),
        "version": entry.public_version or 1,
        "feedback_count": public_count(counts.get("feedback", 0)),
        "response_count": public_count(counts.get("consultation_answer", 0)),
        "consultation_count": counts.get("consultation", 0),
        "history": [{"date": iso(e.occurred_at), "kind": e.kind, "status": e.status}
                    for e in entry.events],
    }


def withdrawn_record(entry: ChangeEntry) -> dict[str, Any]:
    return {"id": entry.id,
            "url": url_for("changes.public_entry", entry_id=entry.id, _external=True),
            "withdrawn": iso(entry.withdrawn_at), "reason": entry.withdrawn_reason}


def atom_feed(entries: list[ChangeEntry], counts: dict[int, dict[str, int]],
              withdrawn: list[ChangeEntry] = ()) -> bytes:
    ET.register_namespace("", ATOM_NS)
    ET.register_namespace("at", TOMBSTONES_NS)

    def el(parent, tag: str, text: str | None = None, **attrs: str):
        node = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            node.text = text
        return node

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    site = current_app.config["SITE_NAME"]
    self_url = url_for("changes.atom", _external=True)
    el(feed, "title", f"You said, we did - {site}")
    el(feed, "subtitle", "Changes made because of what people with lived experience told us.")
    el(feed, "id", url_for("changes.public_log", _external=True))
    el(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    el(feed, "link", rel="alternate", href=url_for("changes.public_log", _external=True),
       type="text/html")
    author = el(feed, "author")
    el(author, "name", current_app.config["ORGANISATION_NAME"])
    newest = max([*(e.updated_at or e.published_at for e in entries),
                  *(e.withdrawn_at for e in withdrawn)], default=None)
    el(feed, "updated", iso(newest) or "1970-01-01T00:00:00+00:00")
    for entry in entries:
        node = el(feed, "entry")
        link = url_for("changes.public_entry", entry_id=entry.id, _external=True)
        el(node, "title", entry.title)
        el(node, "id", link)
        el(node, "link", rel="alternate", href=link, type="text/html")
        el(node, "published", iso(entry.published_at))
        el(node, "updated", iso(entry.updated_at or entry.published_at))
        el(node, "category", term=str(entry.status), label=entry.status_label)
        summary = (f"You said: {entry.said}\n\nWe did: {entry.done}\n\n"
                   f"By: {entry.organisation}. Status: {entry.status_label}.")
        if entry.not_possible_reason:
            summary += f" Why not: {entry.not_possible_reason}"
        el(node, "summary", summary, type="text")
    for entry in withdrawn:
        tombstone = ET.SubElement(feed, f"{{{TOMBSTONES_NS}}}deleted-entry", {
            "ref": url_for("changes.public_entry", entry_id=entry.id, _external=True),
            "when": iso(entry.withdrawn_at)})
        comment = ET.SubElement(tombstone, f"{{{TOMBSTONES_NS}}}comment")
        comment.text = f"Withdrawn from public view: {entry.withdrawn_reason}"
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def csv_rows(records: Iterable[dict[str, Any]]) -> Iterator[list[Any]]:
    """Rows for engage.core.csv (which makes formula-like cells safe for spreadsheets)."""
    for record in records:
        yield [record[column] for column in CSV_COLUMNS]
