"""Static files: hashed names with long cache lifetimes, compressed, no font from another site."""

from __future__ import annotations

import gzip
import re

import brotli

from engage.core.assets import STATIC_DIR, Manifest

STYLESHEETS = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
SCRIPTS = re.compile(r'<script (?:type="module" )?src="([^"]+)"')


def _page_assets(client) -> list[str]:
    html = client.get("/").get_data(as_text=True)
    return STYLESHEETS.findall(html) + SCRIPTS.findall(html)


def test_pages_link_static_files_under_hashed_names_cached_for_a_year(client):
    urls = _page_assets(client)
    assert len(urls) == 4  # NHS.UK CSS, Engage CSS, engage.js, nhsuk-init.mjs
    for url in urls:
        assert re.search(r"\.[0-9a-f]{12}\.(css|js|mjs)$", url), url
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Set-Cookie" not in response.headers


def test_a_changed_file_gets_a_new_name(tmp_path):
    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "site.css"
    sheet.write_text("body { color: black; }")
    first = Manifest(tmp_path).url("css/site.css")
    sheet.write_text("body { color: navy; }")
    manifest = Manifest(tmp_path)
    second = manifest.url("css/site.css")
    assert first != second
    assert manifest.find(first.removeprefix("/static/")) is None


def test_static_files_are_sent_compressed_when_the_browser_accepts_it(client):
    css_url = next(u for u in _page_assets(client) if "nhsuk-frontend" in u)
    plain = client.get(css_url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    zipped = client.get(css_url, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.data) == plain.data
    assert len(zipped.data) < len(plain.data) / 5
    smallest = client.get(css_url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert smallest.headers["Content-Encoding"] == "br"
    assert brotli.decompress(smallest.data) == plain.data
    assert len(smallest.data) < len(zipped.data)


def test_an_unchanged_file_is_not_sent_again(client):
    url = _page_assets(client)[1]
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    again = client.get(url, headers={"Accept-Encoding": "gzip",
                                     "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_no_font_or_image_is_asked_for_from_another_site(client):
    """The CSP allows fonts from this site only: the NHS.UK CSS's Frutiger faces on
    assets.nhs.uk are dropped (the fallback font in the same stack is used), and its image
    references point to hashed files that exist."""
    css_url = next(u for u in _page_assets(client) if "nhsuk-frontend" in u)
    css = client.get(css_url).get_data(as_text=True)
    assert "https://" not in css and "@font-face" not in css
    assert "Frutiger" in (STATIC_DIR / "vendor/nhsuk/nhsuk-frontend.min.css").read_text()
    images = re.findall(r"url\(([^)]+)\)", css)
    assert images
    for image in images:
        assert image.startswith("/static/vendor/nhsuk/images/")
        assert client.get(image).status_code == 200


def test_the_frontend_module_imports_the_hashed_script(client):
    module_url = next(u for u in _page_assets(client) if u.endswith(".mjs"))
    module = client.get(module_url).get_data(as_text=True)
    imported = re.search(r'from "([^"]+)"', module).group(1)
    assert re.fullmatch(r"/static/vendor/nhsuk/nhsuk-frontend\.min\.[0-9a-f]{12}\.js", imported)
    script = client.get(imported)
    assert script.status_code == 200 and script.mimetype == "text/javascript"


def test_plain_names_still_work_with_a_short_lifetime(client):
    response = client.get("/assets/images/favicon.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert client.get("/static/css/engage.css").status_code == 200
    assert client.get("/static/css/missing.css").status_code == 404
