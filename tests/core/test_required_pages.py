"""The accessibility statement, the privacy notice and the cookies page: reachable from every
page's footer, true to the settings and to what the system holds."""

from __future__ import annotations

import html

import pytest

from engage.core.permissions import Role
from engage.core.personal_data import declared
from tests.conftest import FormClient
from tests.factories import make_staff, sign_in
from tests.html_checks import duplicate_ids

FOOTER_LINKS = ('href="/accessibility"', 'href="/privacy"', 'href="/cookies"')


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("path", ["/", "/feedback", "/you-said-we-did", "/sign-in",
                                  "/no-such-page", "/accessibility"])
def test_every_footer_links_to_the_three_required_pages(client, path):
    page = client.get(path).get_data(as_text=True)
    footer = page[page.index('<footer'):]
    for link in FOOTER_LINKS:
        assert link in footer, f"{path} footer lacks {link}"


def test_staff_pages_have_the_footer_links_too(app, client, db):
    staff = make_staff(Role.PROGRAMME_LEAD)
    db.session.commit()
    sign_in(FormClient(client), staff)
    page = client.get("/staff/changes").get_data(as_text=True)
    assert all(link in page[page.index("<footer"):] for link in FOOTER_LINKS)


def test_accessibility_statement_follows_the_model_and_uses_the_settings(app, client):
    app.config.update(ORGANISATION_NAME="Northshire Survivors Network",
                      ORGANISATION_EMAIL="access@northshire.example",
                      ORGANISATION_PHONE="0100 000 0000",
                      ACCESSIBILITY_LAST_TESTED_ON="2026-11-30")
    page = _text(client.get("/accessibility"))
    for section in ("How accessible this website is", "Feedback and contact information",
                    "Reporting accessibility problems with this website",
                    "Enforcement procedure",
                    "Technical information about this website's accessibility",
                    "Non-accessible content", "Preparation of this accessibility statement"):
        assert f">{section}</h2>" in page, section
    assert "This website is run by Northshire Survivors Network." in page
    assert 'href="mailto:access@northshire.example"' in page and "0100 000 0000" in page
    assert "Equality Advisory and Support Service" in page
    assert "2.2.1 (Timing adjustable)" in page
    assert "This website was last tested on 30 November 2026." in page
    assert "axe-core" in page and "using only a keyboard" in page


def test_without_contact_settings_people_are_offered_the_feedback_form(app, client):
    app.config.update(ORGANISATION_EMAIL="", ORGANISATION_PHONE="", ORGANISATION_ADDRESS="")
    page = _text(client.get("/accessibility"))
    assert "mailto:" not in page
    assert 'href="/feedback">Give feedback</a>' in page


def test_privacy_notice_lists_every_declared_kind_of_personal_data(app, client):
    app.config.update(ORGANISATION_NAME="Northshire Survivors Network",
                      DATA_PROTECTION_EMAIL="dpo@northshire.example")
    page = _text(client.get("/privacy"))
    assert declared(), "the domains declare their personal data"
    for kind in declared().values():
        section = page[page.index(f'id="kind-{kind.table}"'):]
        assert html.unescape(kind.label) in section[:400], kind.table
        for text in (kind.why, kind.who_can_see, kind.kept_for):
            assert text in section, (kind.table, text)
    assert "Northshire Survivors Network runs this website" in page
    assert 'href="mailto:dpo@northshire.example"' in page
    assert "Information Commissioner" in page
    assert duplicate_ids(client.get("/privacy").get_data(as_text=True)) == []


def test_privacy_notice_shows_the_retention_period_an_admin_chose(app, client, db):
    from engage.lifecycle import retention

    rule = next(iter(retention.rules().values()))
    admin = make_staff(Role.ADMIN)
    retention.set_period(admin, rule.key, 31)
    db.session.commit()
    assert f"31 months {rule.counted_from}" in _text(client.get("/privacy"))


def test_cookies_page_names_only_the_session_cookie(app, client):
    page = _text(client.get("/cookies"))
    assert f"<code>{app.config['SESSION_COOKIE_NAME']}</code>" in page
    assert page.count("<code>") == 1
    assert "no analytics" in page
    assert "2 hours" in page and "30 minutes" in page


def test_required_pages_set_no_cookie_for_a_visitor(client):
    for path in ("/accessibility", "/privacy", "/cookies"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, path


def test_the_id_check_finds_a_repeated_id():
    page = ('<label for="reason">A</label><textarea id="reason"></textarea>'
            '<label for="reason">B</label><textarea id="reason"></textarea><p id="x"></p>')
    assert duplicate_ids(page) == ["reason"]
