"""How fast Engage's pages are, next to a bare Flask app served the same way.

    make bench-pages                                   # or: .venv/bin/python bench/pages.py
    .venv/bin/python bench/pages.py --backends sqlite --duration 3 --only log

For each database (SQLite, then PostgreSQL) it starts Engage with the production configuration
(bench/bench_config.py) under gunicorn (2 sync workers), and a bare Flask "hello" app
(bench/hello_app.py) with the same gunicorn settings. It loads each page of the table below
with wrk (20 connections) for a few seconds, round after round (3 rounds), with the bare app
loaded before each page and after it, so a busy machine slows both sides alike: each page is
compared with the mean of the two bare runs around it. A signed-in page is loaded with the
cookie the signed-in browser holds just before its run (Engage renews the cookie once a minute,
and a browser sends the new one). It prints each page's requests per second as a ratio to bare
Flask and its 95th percentile latency, against the targets, as "pass" or "short".

The data is built by this script and kept between runs in instance/bench/ (SQLite files) or in
PostgreSQL databases named after --postgres-url's database plus "_bench_...", keyed by
DATA_VERSION and the migration head: 1,000,000 feedback items and 10,000 published "you said, we
did" entries (30 pieces of feedback linked to each) on top of the demo data, the demo data alone
(the dashboard with demo data) and bench/dashboard.py's data set (the dashboard at scale, whose
figure is the server time with one connection). Change DATA_VERSION when the data should be
built again; --rebuild forces it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

DATA_VERSION = "1"
CACHE_DIR = ROOT / "instance" / "bench"
BENCH_SECRET_KEY = "bench-only-secret-key-not-for-any-real-site"  # noqa: S105
BENCH_FIELD_KEY = base64.urlsafe_b64encode(b"bench-only-field-encryption-key!").decode()
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - bench data only
FEEDBACK_ITEMS = 1_000_000
SIZES = {"items": FEEDBACK_ITEMS}
LOG_ENTRIES = 10_000
LINKS_PER_ENTRY = 30
DASHBOARD_MEMBERS = 20_000
BIN = Path(sys.executable).parent
DEFAULT_POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:55432/engage_bench")


@dataclass(frozen=True)
class Page:
    label: str
    dataset: str  # "log", "demo" or "dashboard"
    path: str
    who: str | None  # a demo username, or None when signed out
    expect: str  # text the page must contain, so a redirect or error page is never measured
    ratio: dict[str, float] = field(default_factory=dict)  # target per backend ("*" for any)
    p95_ms: dict[str, float] = field(default_factory=dict)
    server_ms: float | None = None  # measured with one connection instead of 20

    def target(self, targets: dict[str, float], backend: str) -> float | None:
        return targets.get(backend, targets.get("*"))


PAGES = [
    Page("/you-said-we-did (1M feedback, 10k entries)", "log", "/you-said-we-did", None,
         "You said, we did", {"sqlite": 0.35, "postgresql": 0.30},
         {"sqlite": 25, "postgresql": 30}),
    Page("/you-said-we-did.json (same data)", "log", "/you-said-we-did.json", None,
         '"entries"', {"*": 0.35}, {"*": 25}),
    Page("/ signed out", "log", "/", None, "Sign in", {"*": 0.5}),
    Page("/ signed in as a member", "log", "/", "demo-member", "Sign out", {"*": 0.25},
         {"*": 40}),
    Page("/account, member", "log", "/account", "demo-member", "Sign out", {"*": 0.25},
         {"*": 40}),
    Page("/feedback (form)", "log", "/feedback", None, "form_token", {"*": 0.25}, {"*": 40}),
    Page("/events, member", "log", "/events/", "demo-member", "Sign out", {"*": 0.2},
         {"*": 50}),
    Page("a consultation page, member", "log", "{consultation}", "demo-member", "Sign out",
         {"*": 0.2}, {"*": 50}),
    Page("dashboard, programme lead, demo data", "demo", "/dashboard", "demo-lead",
         "Participation", {"*": 0.1}, {"*": 100}),
    Page("dashboard at bench/dashboard.py scale", "dashboard", "/dashboard", "lead",
         "Participation", server_ms=150),
]

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(95), latency:percentile(50)))
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per page per round")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--only", default=None, help="only pages whose label contains this")
    parser.add_argument("--rebuild", action="store_true", help="build the data again")
    parser.add_argument("--items", type=int, default=FEEDBACK_ITEMS,
                        help="feedback items in the log data (a smaller number for a quick try)")
    args = parser.parse_args()
    SIZES["items"] = args.items
    return args


# --- data ---------------------------------------------------------------------------------


def data_key(dataset: str) -> str:
    heads = sorted(p.name for p in (ROOT / "engage" / "migrations" / "versions").glob("*.py"))
    sizes = SIZES["items"] if dataset == "log" else ""
    digest = hashlib.sha256(f"{DATA_VERSION}|{dataset}|{sizes}|{'|'.join(heads)}".encode())
    return digest.hexdigest()[:10]


def app_overrides(url: str) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": BENCH_SECRET_KEY,
            "FIELD_ENCRYPTION_KEY": BENCH_FIELD_KEY, "RATELIMIT_ENABLED": False}


def build(dataset: str, url: str) -> None:
    from bench_config import BenchProductionConfig
    from flask_migrate import upgrade

    from engage import create_app
    from engage.extensions import db

    app = create_app(BenchProductionConfig, **app_overrides(url))
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        if dataset in ("log", "demo"):
            from engage.demo import seed_demo

            seed_demo()
            db.session.commit()
            _staff_codes_known()
        if dataset == "log":
            build_log(random.Random(20261125))
        if dataset == "dashboard":
            build_dashboard()
        db.session.commit()
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(
                "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE")
        print(f"  built {dataset} data in {time.perf_counter() - started:.0f}s", flush=True)
        db.engine.dispose()


def _staff_codes_known() -> None:
    """Every demo member of staff gets the same two-factor secret, so the bench can sign in."""
    from sqlalchemy import select

    from engage.accounts.models import User
    from engage.extensions import db

    for user in db.session.scalars(select(User).where(User.totp_secret.is_not(None))):
        user.totp_secret = STAFF_TOTP_SECRET
    db.session.commit()


def _bulk(table: str, columns: list[str], rows: Iterator[tuple]) -> None:
    """COPY on PostgreSQL, executemany in chunks on SQLite."""
    from sqlalchemy import text

    from engage.extensions import db

    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    statement = text(f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - fixed names
                     f"VALUES ({', '.join(':' + c for c in columns)})")
    chunk: list[dict] = []
    for row in rows:
        chunk.append(dict(zip(columns, row, strict=True)))
        if len(chunk) == 20_000:
            connection.execute(statement, chunk)
            chunk = []
    if chunk:
        connection.execute(statement, chunk)


def build_log(rng: random.Random) -> None:
    """1M anonymous feedback items and 10k published entries, 30 linked items each."""
    from sqlalchemy import func, select, text

    from engage.changes.models import ChangeEntry
    from engage.core.crypto import encrypt
    from engage.extensions import db
    from engage.feedback.models import FeedbackTheme

    started = time.perf_counter()
    body = encrypt("Benchmark feedback text: the evening drop-in closes too early.")
    today = date(2026, 11, 25)
    ids = rng.sample(range(1, 2**31 - 1), SIZES["items"])
    topics = ["Counselling and therapy", "Police and reporting", "Health services", None]
    _bulk("feedback_items", ["id", "received_on", "body", "topic", "may_quote", "status",
                             "safeguarding_flagged"],
          ((fid, today - timedelta(days=rng.randrange(1100)), body, rng.choice(topics),
            rng.random() < 0.3, rng.choice(["new", "acknowledged", "closed"]), False)
           for fid in ids))
    print(f"  {len(ids):,} feedback items in {time.perf_counter() - started:.0f}s",
          flush=True)
    db.session.add_all([FeedbackTheme(name=f"Bench theme {n}") for n in range(1, 31)])
    db.session.flush()
    themes = list(db.session.scalars(select(FeedbackTheme.id)
                                     .where(FeedbackTheme.name.like("Bench theme %"))))
    first_id = (db.session.scalar(select(func.max(ChangeEntry.id))) or 0) + 1
    organisations = [f"Organisation {n}" for n in range(1, 21)]
    statuses = ["considering", "planned", "in_progress", "done", "not_possible"]
    start = datetime(2023, 1, 1, tzinfo=UTC)
    entries, events = [], []
    for entry_id in range(first_id, first_id + LOG_ENTRIES):
        status = rng.choice(statuses)
        published = start + timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
        entries.append((
            entry_id, f"People told us about problem number {entry_id}.",
            f"We changed something about problem number {entry_id}.",
            rng.choice(organisations), rng.choice(themes), status,
            "Outside our powers." if status == "not_possible" else None,
            published.date() if status == "done" else None, "published", published,
            published))
        events.append((entry_id, published, "published", status))
    _bulk("change_entries", ["id", "said", "done", "organisation", "theme_id", "status",
                             "not_possible_reason", "completed_on", "publication", "created_at",
                             "published_at"], iter(entries))
    _bulk("change_entry_events", ["entry_id", "occurred_at", "kind", "status"], iter(events))
    _bulk("change_entry_links", ["entry_id", "kind", "feedback_id"],
          ((entry_id, "feedback", fid)
           for entry_id in range(first_id, first_id + LOG_ENTRIES)
           for fid in rng.sample(ids, LINKS_PER_ENTRY)))
    if db.session.connection().dialect.name == "postgresql":
        for table in ("change_entries", "change_entry_events", "change_entry_links",
                      "feedback_themes"):
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"))
    _after_bulk_load()
    db.session.commit()
    print(f"  {LOG_ENTRIES:,} entries and their links in {time.perf_counter() - started:.0f}s",
          flush=True)


def _after_bulk_load() -> None:
    """Rows written behind the app's back: bring the public log's filter lists and page
    version up to date, as the app does when entries change."""
    try:
        from engage.changes import public_cache
    except ImportError:  # older code without them
        return
    public_cache.public_log_changed()
    public_cache.rebuild_public_filters()


def build_dashboard() -> None:
    from engage.accounts.models import User
    from engage.accounts.passwords import hash_password
    from engage.demo import DEMO_PASSWORD
    from engage.equality.tasks import tally_snapshots
    from engage.extensions import db

    spec = importlib.util.spec_from_file_location("bench_dashboard", ROOT / "bench" /
                                                  "dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lead = module.build(DASHBOARD_MEMBERS, random.Random(7))
    lead = db.session.get(User, lead.id)
    lead.password_hash = hash_password(DEMO_PASSWORD)
    lead.totp_secret = STAFF_TOTP_SECRET
    db.session.commit()
    tally_snapshots("bench")
    db.session.commit()


# --- databases: cached builds and a fresh copy per run ------------------------------------


class SQLiteStore:
    name = "sqlite"

    def __init__(self, rebuild: bool) -> None:
        self.rebuild = rebuild
        CACHE_DIR.mkdir(parents=True, exist_ok=True)

    def settle(self) -> None:
        """The copies just made are written out before the pages are measured, not by the
        kernel while they are."""
        os.sync()

    def prepare(self, dataset: str) -> str:
        cached = CACHE_DIR / f"{dataset}-{data_key(dataset)}.sqlite3"
        if self.rebuild or not cached.exists():
            for old in CACHE_DIR.glob(f"{dataset}-*.sqlite3"):
                old.unlink()
            partial = cached.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            print(f"Building the {dataset} data (SQLite)", flush=True)
            build(dataset, f"sqlite:///{partial}")
            partial.rename(cached)
        run = CACHE_DIR / f"run-{dataset}.sqlite3"
        shutil.copyfile(cached, run)
        return f"sqlite:///{run}"


class PostgresStore:
    name = "postgresql"

    def __init__(self, url: str, rebuild: bool) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.rebuild = rebuild
        self.admin = create_engine(self.url.set(database="postgres"),
                                   isolation_level="AUTOCOMMIT")

    def _exists(self, name: str) -> bool:
        from sqlalchemy import text

        with self.admin.connect() as connection:
            return bool(connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).scalar())

    def _sql(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(statement)

    def prepare(self, dataset: str) -> str:
        base = f"{self.url.database}_bench_{dataset}"
        cached = f"{base}_{data_key(dataset)}"
        if self.rebuild or not self._exists(cached):
            from sqlalchemy import text

            with self.admin.connect() as connection:
                old = connection.execute(text(
                    "SELECT datname FROM pg_database WHERE datname LIKE :like"),
                    {"like": f"{base}_%"}).scalars().all()
            for name in old:
                self._sql(f'DROP DATABASE "{name}"')
            partial = f"{base}_partial"
            self._sql(f'DROP DATABASE IF EXISTS "{partial}"')
            self._sql(f'CREATE DATABASE "{partial}"')
            print(f"Building the {dataset} data (PostgreSQL)", flush=True)
            build(dataset, self.url.set(database=partial).render_as_string(hide_password=False))
            self._sql(f'ALTER DATABASE "{partial}" RENAME TO "{cached}"')
        run = f"{base}run"
        self._sql(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
        # PostgreSQL 15 copies a template through the write-ahead log by default: for the log's
        # data set that is gigabytes of WAL, checkpointed while the pages are being measured.
        # Copying the files writes no WAL (and checkpoints before and after).
        strategy = " STRATEGY FILE_COPY" if self._version() >= 150000 else ""
        self._sql(f'CREATE DATABASE "{run}" TEMPLATE "{cached}"{strategy}')
        return self.url.set(database=run).render_as_string(hide_password=False)

    def _version(self) -> int:
        with self.admin.connect() as connection:
            return int(connection.exec_driver_sql("SHOW server_version_num").scalar())

    def settle(self) -> None:
        """Everything the copies wrote is on disk before the pages are measured, not written
        out by the database or the kernel while they are."""
        self._sql("CHECKPOINT")
        os.sync()


# --- servers and load ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving `app`. What it writes (Engage's request log: a line a request) goes to
    a file, as a log collector would take it in production, not to the terminal the bench runs
    in: printing it there would cost the machine more than the pages do. The files of the last
    run are in instance/bench/*.log."""

    def __init__(self, app: str, env: dict[str, str], ready_path: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = CACHE_DIR / f"{app.split(':')[0]}-{self.port}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [str(BIN / "gunicorn"), "--workers", "2", "--worker-class", "sync", "--bind",
             f"127.0.0.1:{self.port}", "--log-level", "warning", app],
            cwd=ROOT, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(self.base + ready_path, timeout=10).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or slow on a busy machine
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise SystemExit(f"{app} did not start: see {self.log_path}")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def engage_server(url: str, instance: Path) -> Server:
    return Server("bench_wsgi:app", {
        "PYTHONPATH": str(ROOT / "bench"), "DATABASE_URL": url, "SECRET_KEY": BENCH_SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": BENCH_FIELD_KEY, "SESSION_COOKIE_SECURE": "0",
        "ENGAGE_INSTANCE_PATH": str(instance), "MAIL_BACKEND": "log",
        "LOGIN_LIMIT_PER_CLIENT": "1000 per minute", "LOGIN_LIMIT_PER_ACCOUNT": "1000 per minute",
    }, "/healthz")


def hello_server() -> Server:
    return Server("hello_app:app", {"PYTHONPATH": str(ROOT / "bench")}, "/")


def sign_in(base: str, username: str) -> requests.Session:
    """Signs in through the real forms (and two-factor for staff); returns the browser (its
    cookies)."""
    import pyotp

    from engage.demo import DEMO_PASSWORD

    browser = requests.Session()

    def token(path: str) -> str:
        page = browser.get(base + path, timeout=30)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)

    response = browser.post(base + "/sign-in", data={
        "csrf_token": token("/sign-in"), "username": username, "password": DEMO_PASSWORD},
        timeout=30)
    if "/sign-in/two-factor" in response.url:
        response = browser.post(base + "/sign-in/two-factor", data={
            "csrf_token": token("/sign-in/two-factor"),
            "code": pyotp.TOTP(STAFF_TOTP_SECRET).now()}, timeout=30)
    if "Sign out" not in response.text:
        raise SystemExit(f"Could not sign in as {username}")
    return browser


def visit(browser: requests.Session, url: str) -> tuple[requests.Response, str]:
    """The page as the signed-in browser opens it, and the Cookie header it sends next.

    wrk sends one Cookie header for the whole run. A browser takes the new cookie a page
    gives it: Engage renews the session cookie at most once a minute, with the time the
    person was last seen (engage/hooks.py). Replayed for minutes, the cookie from signing in
    would have every request renew it again, which no browser does, so each signed-in page's
    load starts from the cookie the browser holds just then."""
    response = browser.get(url, timeout=60, allow_redirects=False)
    return response, "; ".join(f"{c.name}={c.value}" for c in browser.cookies)


@dataclass
class Load:
    rps: float
    p95_ms: float
    p50_ms: float
    errors: int  # answers other than 2xx/3xx: the run is worthless
    timeouts: int  # connections that waited over wrk's 2 s (a very busy machine)


def wrk(url: str, connections: int, seconds: int, cookie: str | None, script: Path) -> Load:
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d",
               f"{seconds}s", "-s", str(script), url]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    numbers = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.M)
    requests_done, micros, bad_status, timeouts, p95, p50 = (int(n) for n in numbers.groups())
    return Load(requests_done / (micros / 1e6), p95 / 1000, p50 / 1000, bad_status, timeouts)


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("Installing wrk (Debian package) for the page benchmark", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=False)  # noqa: S603
    if not shutil.which("wrk"):
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)  # noqa: S603
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True)  # noqa: S603


# --- the run -------------------------------------------------------------------------------


def consultation_path(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        consultation_id = connection.execute(text(
            "SELECT c.id FROM consultations c WHERE c.state IN ('open', 'published') AND ("
            "c.panel_id IS NULL OR c.panel_id IN (SELECT m.panel_id FROM panel_memberships m "
            "JOIN users u ON u.id = m.user_id WHERE u.username = 'demo-member' "
            "AND m.state = 'active')) ORDER BY c.state = 'open' DESC, c.id LIMIT 1")).scalar()
    engine.dispose()
    return f"/consultations/{consultation_id}"


def run_backend(store, pages: list[Page], args: argparse.Namespace, script: Path) -> list:
    datasets = sorted({page.dataset for page in pages})
    urls = {dataset: store.prepare(dataset) for dataset in datasets}
    store.settle()
    instance = Path(tempfile.mkdtemp(prefix="engage-bench-instance-"))
    servers = {dataset: engage_server(urls[dataset], instance) for dataset in datasets}
    hello = hello_server()
    try:
        browsers: dict[tuple[str, str], requests.Session] = {}
        targets = []
        for page in pages:
            base = servers[page.dataset].base
            path = page.path.format(consultation=consultation_path(urls["log"])
                                    if "{consultation}" in page.path else "")
            browser = None
            if page.who:
                key = (page.dataset, page.who)
                if key not in browsers:
                    browsers[key] = sign_in(base, page.who)
                browser = browsers[key]
            check, cookie = visit(browser or requests.Session(), base + path)
            if check.status_code != 200 or page.expect not in check.text:
                raise SystemExit(f"{page.label}: {base + path} answered {check.status_code} "
                                 f"without {page.expect!r}")
            connections = 1 if page.server_ms else args.connections
            wrk(base + path, connections, 1, cookie if browser else None, script)  # warm-up
            targets.append((page, base + path, browser, connections))
        results: dict[str, list[tuple[Load, float]]] = {page.label: [] for page in pages}
        for round_number in range(1, args.rounds + 1):
            # Bare Flask is loaded before every page and once more after the last: each page
            # is compared with the mean of the bare runs on either side of it, so a machine
            # that speeds up or slows down during a round moves both sides of each ratio.
            before = wrk(hello.base + "/", args.connections, args.duration, None, script)
            bares = [before.rps]
            for page, url, browser, connections in targets:
                cookie = visit(browser, url)[1] if browser else None
                load = wrk(url, connections, args.duration, cookie, script)
                if load.errors:
                    raise SystemExit(f"{page.label}: {load.errors} requests answered with an "
                                     f"error")
                if load.timeouts:
                    print(f"  {page.label}: {load.timeouts} requests timed out", flush=True)
                after = wrk(hello.base + "/", args.connections, args.duration, None, script)
                bares.append(after.rps)
                results[page.label].append((load, (before.rps + after.rps) / 2))
                before = after
            print(f"  round {round_number}: bare Flask {min(bares):,.0f} to {max(bares):,.0f} "
                  f"requests/s (load average {os.getloadavg()[0]:.2f})", flush=True)
        return [(page, results[page.label]) for page in pages]
    finally:
        hello.stop()
        for server in servers.values():
            server.stop()
        shutil.rmtree(instance, ignore_errors=True)


def verdict(value: float, target: float | None, higher_is_better: bool) -> str:
    if target is None:
        return ""
    ok = value >= target if higher_is_better else value < target
    return "pass" if ok else "short"


def report(backend: str, rows: list) -> None:
    print(f"\n{backend}: {'page':<46}{'req/s':>8}{'ratio':>7}{'target':>8}{'':>7}"
          f"{'p95 ms':>8}{'target':>8}{'':>7}")
    for page, runs in rows:
        rps = statistics.median(load.rps for load, _ in runs)
        ratio = statistics.median(load.rps / bare for load, bare in runs)
        p95 = statistics.median(load.p95_ms for load, _ in runs)
        if page.server_ms:
            server = statistics.median(load.p50_ms for load, _ in runs)
            print(f"{'':{len(backend) + 2}}{page.label:<46}{rps:>8.1f}{'':>22}"
                  f"{'server':>8}{server:>7.0f} ms < {page.server_ms:.0f} ms "
                  f"{verdict(server, page.server_ms, False)}")
            continue
        ratio_target = page.target(page.ratio, backend)
        p95_target = page.target(page.p95_ms, backend)
        print(f"{'':{len(backend) + 2}}{page.label:<46}{rps:>8.0f}{ratio:>7.3f}"
              f"{'>= ' + format(ratio_target, '.2f') if ratio_target else '':>8}"
              f"{verdict(ratio, ratio_target, True):>7}{p95:>8.1f}"
              f"{'< ' + format(p95_target, '.0f') if p95_target else '':>8}"
              f"{verdict(p95, p95_target, False):>7}")


def main() -> None:
    args = parse_args()
    ensure_wrk()
    for old in CACHE_DIR.glob("*.log"):  # the servers' logs of the last run
        old.unlink()
    pages = [p for p in PAGES if not args.only or args.only in p.label]
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; wrk "
          f"{args.connections} connections, {args.rounds} rounds of {args.duration}s per page",
          flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(WRK_SCRIPT)
    script = Path(handle.name)
    try:
        for backend in args.backends.split(","):
            store = (SQLiteStore(args.rebuild) if backend == "sqlite"
                     else PostgresStore(args.postgres_url, args.rebuild))
            print(f"\n== {backend}", flush=True)
            report(backend, run_backend(store, pages, args, script))
    finally:
        script.unlink()


if __name__ == "__main__":
    main()
