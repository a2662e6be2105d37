"""Scale benchmark for the public 'you said, we did' log.

Builds a large data set (by default 1,000,000 feedback items and 10,000 published entries, with
30 linked pieces of feedback per entry) with bulk inserts, then reports the server-side time
(in-process, no network) of the log's first page and of a deep page, as HTML and JSON, and
the number of SQL queries each request makes (counted with a SQLAlchemy event listener).

    .venv/bin/python bench/feedback_log.py                    # the full size (a few minutes)
    .venv/bin/python bench/feedback_log.py --items 50000      # a quick run
    .venv/bin/python bench/feedback_log.py --database-url postgresql+psycopg://...  # PostgreSQL

The SQLite file goes in a temporary folder and is deleted afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engage import create_app
from engage.changes.models import ChangeEntry, ChangeEntryEvent, Publication
from engage.core.crypto import encrypt
from engage.extensions import db

CHUNK = 20_000
STATUSES = ["considering", "planned", "in_progress", "done", "not_possible"]
ORGANISATIONS = [f"Organisation {n}" for n in range(1, 21)]
TOPICS = ["Counselling and therapy", "Police and reporting", "Health services", None]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="feedback items")
    parser.add_argument("--entries", type=int, default=10_000, help="published entries")
    parser.add_argument("--links-per-entry", type=int, default=30)
    parser.add_argument("--deep", type=int, default=None,
                        help="how many entries down the deep page starts (default: 90%%)")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    return parser.parse_args()


def build(args: argparse.Namespace, rng: random.Random) -> None:
    db.drop_all()
    db.create_all()
    started = time.perf_counter()
    body = encrypt("Benchmark feedback text: the evening drop-in closes too early.")
    today = date(2026, 11, 25)
    ids: list[int] = []
    seen: set[int] = set()
    insert_item = text(
        "INSERT INTO feedback_items (id, received_on, body, topic, may_quote, status, "
        "safeguarding_flagged) VALUES (:id, :received_on, :body, :topic, :may_quote, :status, "
        ":flagged)")
    for start in range(0, args.items, CHUNK):
        rows = []
        for _ in range(min(CHUNK, args.items - start)):
            feedback_id = rng.randrange(1, 2**31)
            while feedback_id in seen:
                feedback_id = rng.randrange(1, 2**31)
            seen.add(feedback_id)
            ids.append(feedback_id)
            received = today - timedelta(days=rng.randrange(1100))
            rows.append({"id": feedback_id, "received_on": received, "body": body,
                         "topic": rng.choice(TOPICS),
                         "may_quote": rng.random() < 0.3,
                         "status": rng.choice(["new", "acknowledged", "closed"]),
                         "flagged": False})
        db.session.execute(insert_item, rows)
    db.session.commit()
    print(f"  {args.items:,} feedback items in {time.perf_counter() - started:.1f}s")

    started = time.perf_counter()
    themes = [{"id": n, "name": f"Theme {n}"} for n in range(1, 31)]
    db.session.execute(text("INSERT INTO feedback_themes (id, name) VALUES (:id, :name)"), themes)
    first = datetime(2023, 1, 1, tzinfo=UTC)
    entries, events = [], []
    for n in range(1, args.entries + 1):
        status = rng.choice(STATUSES)
        published = first + timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
        entries.append({
            "id": n, "said": f"People told us about problem number {n}.",
            "done": f"We changed something about problem number {n}.",
            "organisation": rng.choice(ORGANISATIONS), "theme_id": rng.randrange(1, 31),
            "status": status,
            "not_possible_reason": "Outside our powers." if status == "not_possible" else None,
            "completed_on": published.date() if status == "done" else None,
            "publication": Publication.PUBLISHED.value, "created_at": published,
            "published_at": published})
        events.append({"entry_id": n, "occurred_at": published, "kind": "published",
                       "status": status})
    db.session.execute(ChangeEntry.__table__.insert(), entries)
    db.session.execute(ChangeEntryEvent.__table__.insert(), events)
    insert_links = text("INSERT INTO change_entry_links (entry_id, kind, feedback_id) "
                        "VALUES (:entry_id, :kind, :feedback_id) ON CONFLICT DO NOTHING")
    links = []
    for n in range(1, args.entries + 1):
        for feedback_id in rng.sample(ids, min(args.links_per_entry, len(ids))):
            links.append({"entry_id": n, "kind": "feedback", "feedback_id": feedback_id})
        if len(links) >= CHUNK or n == args.entries:
            db.session.execute(insert_links, links)
            links = []
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    print(f"  {args.entries:,} entries and their links in {time.perf_counter() - started:.1f}s")


def measure(client, url: str, repeat: int) -> tuple[float, int, int]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    times = []
    for attempt in range(repeat + 1):
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        event.remove(db.engine, "before_cursor_execute", count)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        if attempt:  # the first request warms templates and caches
            times.append(elapsed)
    return statistics.median(times) * 1000, len(statements), len(response.get_data())


def main() -> None:
    args = parse_args()
    rng = random.Random(20261125)
    folder = tempfile.mkdtemp(prefix="engage-bench-")
    url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False)
    with app.app_context():
        print(f"Building: {args.items:,} feedback items, {args.entries:,} entries "
              f"({db.engine.dialect.name})")
        build(args, rng)
        deep_index = args.deep if args.deep is not None else int(args.entries * 0.9)
        deep_entry = db.session.execute(
            select(ChangeEntry.published_at, ChangeEntry.id)
            .where(ChangeEntry.publication == Publication.PUBLISHED)
            .order_by(ChangeEntry.published_at.desc(), ChangeEntry.id.desc())
            .offset(max(deep_index - 1, 0)).limit(1)).one()
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        cursor = f"{(deep_entry[0] - epoch) // timedelta(microseconds=1)}-{deep_entry[1]}"
        db.session.remove()
        client = app.test_client()
        pages = [
            ("HTML first page", "/you-said-we-did"),
            (f"HTML deep page (after entry {deep_index:,})", f"/you-said-we-did?after={cursor}"),
            ("JSON first page", "/you-said-we-did.json"),
            (f"JSON deep page (after entry {deep_index:,})",
             f"/you-said-we-did.json?after={cursor}"),
            ("HTML filtered: status done + organisation",
             "/you-said-we-did?status=done&organisation=Organisation+7"),
            ("HTML search 'number 4242'", "/you-said-we-did?q=number+4242"),
        ]
        print(f"\n{'request':<48}{'median ms':>10}{'queries':>9}{'bytes':>9}")
        for label, path in pages:
            ms, queries, size = measure(client, path, args.repeat)
            print(f"{label:<48}{ms:>10.1f}{queries:>9}{size:>9}")
        db.session.remove()
        db.engine.dispose()
    if not args.keep and not args.database_url:
        for leftover in Path(folder).iterdir():
            leftover.unlink()
        Path(folder).rmdir()
    elif not args.database_url:
        print(f"\nDatabase kept at {folder}/bench.sqlite3")


if __name__ == "__main__":
    main()
