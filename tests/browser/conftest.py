"""Browser-test harness: the real Engage app on a live server, driven by Debian's Chromium.

Fixtures and helpers other tests use by name: `live_server` (.url, .app), `browser`, `page`,
`page_without_js`, `sign_in_as` (here) and `assert_accessible` (tests/browser/axe.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import inspect
from werkzeug.serving import make_server

from engage.accounts.models import User
from engage.extensions import db
from tests.conftest import POSTGRES_URL, _truncate_all, make_app
from tests.factories import PASSWORD, totp_now

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
NHSUK_CSS = REPO_ROOT / "engage" / "static" / "vendor" / "nhsuk" / "nhsuk-frontend.min.css"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Every host but the live server fails to resolve, so no test can reach the internet,
    # even by following one of the helpline links by mistake.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture
def live_server(tmp_path, _postgres_schema) -> Iterator[LiveServer]:
    """The real app on 127.0.0.1 in a background thread, with an empty database.

    SQLite is a file (the server thread and the test share it through separate connections);
    with TEST_DATABASE_URL set it is PostgreSQL, emptied before and after the test.
    """
    app = make_app(POSTGRES_URL or f"sqlite:///{tmp_path / 'engage.sqlite3'}")
    with app.app_context():
        if POSTGRES_URL:
            _truncate_all()
        else:
            db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # A neutral page on the live server itself: exits never leave this machine.
    app.config.update(PUBLIC_BASE_URL=url, EXIT_URL=f"{url}/support")
    # A short poll interval lets each test's server stop in milliseconds rather than half a second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=url, app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            if POSTGRES_URL:
                _truncate_all()
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}. The browser tests need Debian's "
            "Chromium: run `make chromium` (or `make test`, which installs it), or "
            "`sudo apt-get install chromium`.",
            pytrace=False,
        )
    if not NHSUK_CSS.exists():
        pytest.fail(
            f"NHS.UK frontend assets are missing ({NHSUK_CSS.relative_to(REPO_ROOT)}); "
            "pages would be unstyled and the accessibility checks meaningless. Run "
            "`make assets`.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def new_page(browser: Browser, **context_options) -> Iterator[Page]:
    """A page in a fresh context (no cookies shared with any other test).

    The site's Content-Security-Policy stays on (no bypass_csp): axe is injected through
    DevTools evaluation, which CSP does not govern (see axe.py), so the pages are tested
    exactly as visitors get them, and any inline script or style would be refused here too.
    """
    context = browser.new_context(locale="en-GB", **context_options)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from new_page(browser)


@pytest.fixture
def page_without_js(browser: Browser) -> Iterator[Page]:
    yield from new_page(browser, java_script_enabled=False)


def sign_in_as(page: Page, live_server: LiveServer, user: User, password: str = PASSWORD) -> None:
    """Sign in through the real sign-in page, and the two-factor page for staff who have it.

    `user` may be detached from any session (created in an app context that has ended): it is
    looked up again by its primary key, so tests can pass the object their factory returned.
    """
    user_id = inspect(user).identity[0]
    with live_server.app.app_context():
        person = db.session.get(User, user_id)
        username = person.username
        secret_user = person if person.has_two_factor else None
        page.goto(f"{live_server.url}/sign-in")
        page.get_by_label("Username", exact=True).fill(username)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        if secret_user is not None:
            expect(page).to_have_url(f"{live_server.url}/sign-in/two-factor")
            page.get_by_label("Code", exact=True).fill(totp_now(secret_user))
            page.get_by_role("button", name="Continue").click()
            page.wait_for_load_state()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
