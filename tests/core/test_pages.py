"""The page shell: headers, safety routes, support, health and error pages."""

from __future__ import annotations

from flask import make_response
from sqlalchemy.exc import OperationalError

PAGES = ["/", "/support", "/leaving-quickly", "/sign-in", "/register"]


def test_public_pages_render_with_exit_controls_and_support(client):
    for url in PAGES:
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert 'href="/leave"' in html and "Exit this page" in html, url
        assert "data-exit-link" in html.split("<body>")[1][:400], "exit link must come first"
        assert "Rape Crisis 24/7 Support Line" in html, url
        assert 'id="maincontent"' in html and "Skip to main content" in html


def test_security_headers_on_pages_and_errors(client):
    for url in ["/", "/does-not-exist"]:
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"


def test_a_header_a_page_set_itself_is_replaced_once_and_its_own_policy_kept(app, client):
    widened = "default-src 'self'; form-action 'self' https://connect.stripe.com"

    @app.get("/test-own-headers")
    def own_headers():
        response = make_response("set by the page")
        response.headers["Cache-Control"] = "public, max-age=60"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Content-Security-Policy"] = widened
        return response

    headers = client.get("/test-own-headers").headers
    assert headers.getlist("Cache-Control") == ["no-store"]
    assert headers.getlist("X-Frame-Options") == ["DENY"]
    assert headers.getlist("Content-Security-Policy") == [widened]
    assert headers.getlist("Referrer-Policy") == ["same-origin"]


def test_templates_have_no_inline_script_or_style(client):
    for url in PAGES:
        html = client.get(url).get_data(as_text=True)
        assert "style=" not in html, url
        for chunk in html.split("<script")[1:]:
            assert chunk.lstrip().startswith(("src=", 'type="module" src=')), url


def test_leave_clears_session_and_goes_to_neutral_site(app, client):
    with client.session_transaction() as session:
        session["something"] = "private"
    response = client.get("/leave")
    assert response.status_code == 302
    assert response.headers["Location"] == app.config["EXIT_URL"]
    with client.session_transaction() as session:
        assert "something" not in session


def test_exit_url_is_configurable(app, client):
    app.config["EXIT_URL"] = "https://example.org/recipes"
    assert client.get("/leave").headers["Location"] == "https://example.org/recipes"


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"app": "ok", "database": "ok"}


def test_healthz_answers_503_when_database_unreachable(app, client, monkeypatch):
    from engage.extensions import db

    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("down"))

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_not_found_page_is_kind_and_in_the_shell(client):
    response = client.get("/nothing-here")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Page not found" in html and "Exit this page" in html


def test_server_error_page_is_kind_and_keeps_headers(app):
    @app.get("/_boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/_boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "It was not anything you did" in html
    assert "boom" not in html
    assert "Content-Security-Policy" in response.headers


def test_too_large_upload_gets_413_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 100
    response = client.post("/sign-in", data={"username": "x" * 500})
    assert response.status_code == 413
    assert "That file is too large" in response.get_data(as_text=True)


def test_csrf_missing_token_is_refused_with_kind_message(client):
    response = client.post("/sign-in", data={"username": "a", "password": "b"})
    assert response.status_code == 400
    assert "nothing was saved" in response.get_data(as_text=True)


def test_formatted_text_is_cleaned_again_when_shown(app):
    render = app.jinja_env.filters["formatted_html"]
    shown = str(render('<p>Hello</p><script>alert(1)</script><img src=x onerror="alert(2)">'))
    assert "<p>Hello</p>" in shown
    assert "<script" not in shown and "onerror" not in shown


def test_readyz_reports_each_dependency_the_worker_lease_and_the_outbox(client, db):
    from datetime import timedelta

    from engage.core import clock, leases
    from engage.core.notify import queue_email

    body = client.get("/readyz").get_json()
    assert body["checks"]["database"] == "ok" and body["checks"]["storage"] == "ok"
    assert body["worker"] == {"lease_age_seconds": None, "leading": False}
    assert body["outbox"] == {"backlog": 0, "oldest_seconds": None}
    moment = clock.now()
    with clock.frozen(moment):
        leases.acquire("worker", "host:1:abc", 60)
        queue_email("someone@example.org", "Hello", "A message.")
        db.session.commit()
    with clock.frozen(moment + timedelta(seconds=90)):
        response = client.get("/readyz")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    body = response.get_json()
    assert body["ready"] is True
    assert body["worker"] == {"lease_age_seconds": 90.0, "leading": False}
    assert body["outbox"]["backlog"] == 1 and body["outbox"]["oldest_seconds"] == 90


def test_readyz_is_503_when_file_storage_cannot_be_used(app, client, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the uploads folder should be")
    app.config["UPLOADS_DIR"] = str(blocked)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["storage"] == "unavailable"
