"""Static files under content-hashed names, compressed once when the app starts.

Every file under engage/static (Engage's own CSS and JavaScript, and the NHS.UK frontend copied
into static/vendor/nhsuk by `make assets` or the image build) gets a name with a hash of its
content, `css/engage.3f9a1b2c4d.css`, served with a one-year `immutable` cache lifetime: a
changed file gets a new name, so browsers never keep a stale copy. Templates ask for files with
`static_url('css/engage.css')`.

Text files (CSS, JavaScript, SVG, JSON) are kept gzip- and brotli-compressed in memory, and
each request gets the smallest encoding its Accept-Encoding allows. References between files
(`url(/assets/images/...)` in the NHS.UK CSS, the module import in nhsuk-init.mjs) are rewritten
to the hashed names, and @font-face rules that load fonts from another site are dropped: the
NHS.UK CSS names Frutiger on assets.nhs.uk, which the Content-Security-Policy (font-src 'self')
would refuse; the font is licensed to the NHS and not shipped in the npm package, so pages use
the fallback (Arial) of the same font stack.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from werkzeug.wrappers import Request, Response

from engage.core.security import READ_METHODS

try:  # optional: brotli is smaller than gzip for CSS and JavaScript
    import brotli
except ImportError:  # pragma: no cover - brotli is a dependency; this keeps it optional
    brotli = None

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
VENDOR_PREFIX = "vendor/nhsuk/"
LONG_LIVED = "public, max-age=31536000, immutable"
UNHASHED = "public, max-age=300"
COMPRESSIBLE = {"text/css", "text/javascript", "application/javascript", "image/svg+xml",
                "application/json", "application/manifest+json", "text/plain"}
TEXT_SUFFIXES = {".css", ".js", ".mjs"}
# Absolute references inside CSS and JavaScript: /assets/... is the NHS.UK frontend's own
# prefix (its CSS is built for it), /static/... is Flask's.
_REFERENCE = re.compile(r"/(assets|static)/([A-Za-z0-9_./-]+\.[A-Za-z0-9]+)")
_REMOTE_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*url\(\s*[\"']?https?://[^}]*\}")
mimetypes.add_type("text/javascript", ".mjs")


@dataclass(frozen=True)
class Asset:
    logical: str
    hashed: str
    body: bytes
    mimetype: str
    etag: str
    gzipped: bytes | None = None
    brotlied: bytes | None = None

    def encoded(self, accept_encoding: str) -> tuple[bytes, str | None]:
        """The smallest body the client accepts, and its Content-Encoding."""
        accepted = {part.split(";")[0].strip() for part in accept_encoding.lower().split(",")}
        if self.brotlied is not None and "br" in accepted:
            return self.brotlied, "br"
        if self.gzipped is not None and "gzip" in accepted:
            return self.gzipped, "gzip"
        return self.body, None


class Manifest:
    """Logical name -> Asset, and hashed name -> Asset."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._stamp: tuple = ()
        self.by_logical: dict[str, Asset] = {}
        self.by_hashed: dict[str, Asset] = {}
        self.build()

    def _files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file() and not p.name.startswith("."))

    def _current_stamp(self) -> tuple:
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in self._files())

    def build(self) -> None:
        files = {p.relative_to(self.root).as_posix(): p for p in self._files()}
        raw = {name: path.read_bytes() for name, path in files.items()}
        by_logical: dict[str, Asset] = {}
        pending = dict(raw)
        # Files without references first, then those whose references are all hashed; a
        # reference to a file that does not exist is left as it is.
        while pending:
            progressed = False
            for name, body in list(pending.items()):
                if Path(name).suffix in TEXT_SUFFIXES:
                    wanted = [ref for ref in self._references(body) if ref in pending
                              and ref != name]
                    if wanted:
                        continue
                    body = self._rewrite(body, by_logical)
                by_logical[name] = self._asset(name, body)
                del pending[name]
                progressed = True
            if not progressed:  # a reference cycle: hash the rest as they are
                for name, body in pending.items():
                    by_logical[name] = self._asset(name, body)
                break
        self.by_logical = by_logical
        self.by_hashed = {asset.hashed: asset for asset in by_logical.values()}
        self._stamp = self._current_stamp()

    def refresh_if_changed(self) -> None:
        """For development: pick up edited files without a restart."""
        with self._lock:
            if self._current_stamp() != self._stamp:
                self.build()

    @staticmethod
    def _logical_of(prefix: str, path: str) -> str:
        return VENDOR_PREFIX + path if prefix == "assets" else path

    def _references(self, body: bytes) -> set[str]:
        text = body.decode("utf-8", errors="replace")
        return {self._logical_of(prefix, path) for prefix, path in _REFERENCE.findall(text)}

    def _rewrite(self, body: bytes, known: dict[str, Asset]) -> bytes:
        text = body.decode("utf-8")
        text = _REMOTE_FONT_FACE.sub("", text)

        def hashed(match: re.Match) -> str:
            asset = known.get(self._logical_of(match.group(1), match.group(2)))
            return f"/static/{asset.hashed}" if asset else match.group(0)

        return _REFERENCE.sub(hashed, text).encode("utf-8")

    @staticmethod
    def _asset(name: str, body: bytes) -> Asset:
        digest = hashlib.sha256(body).hexdigest()
        stem, dot, suffix = name.rpartition(".")
        hashed = f"{stem}.{digest[:12]}.{suffix}" if dot else f"{name}.{digest[:12]}"
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        gzipped = brotlied = None
        if mimetype in COMPRESSIBLE and len(body) > 512:
            gzipped = gzip.compress(body, compresslevel=9, mtime=0)
            if brotli is not None:
                brotlied = brotli.compress(body, quality=9)  # 11 is 10x slower for 8%
        return Asset(name, hashed, body, mimetype, digest[:32], gzipped, brotlied)

    def url(self, logical: str) -> str:
        asset = self.by_logical.get(logical)
        if asset is None:
            raise KeyError(f"No static file called {logical!r} (is `make assets` done?)")
        return f"/static/{asset.hashed}"

    def find(self, name: str) -> tuple[Asset, bool] | None:
        """The asset for a hashed or a plain name, and whether the name was the hashed one."""
        if name in self.by_hashed:
            return self.by_hashed[name], True
        if name in self.by_logical:
            return self.by_logical[name], False
        return None


_SHARED: dict[Path, Manifest] = {}
_SHARED_LOCK = threading.Lock()


def shared_manifest(root: Path = STATIC_DIR) -> Manifest:
    """One manifest per process (every app built in it shares the work of hashing and
    compressing, which takes a tenth of a second)."""
    with _SHARED_LOCK:
        if root not in _SHARED:
            _SHARED[root] = Manifest(root)
        return _SHARED[root]


def manifest() -> Manifest:
    found: Manifest = current_app.extensions["engage_assets"]
    if current_app.debug:
        found.refresh_if_changed()
    return found


def static_url(logical: str) -> str:
    """The long-lived URL of a static file, for templates: static_url('css/engage.css')."""
    return manifest().url(logical)


def respond(found: Manifest, name: str, request: Request) -> Response | None:
    located = found.find(name)
    if located is None:
        return None
    asset, hashed = located
    body, encoding = asset.encoded(request.headers.get("Accept-Encoding", ""))
    response = Response(body, mimetype=asset.mimetype)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = LONG_LIVED if hashed else UNHASHED
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.set_etag(f"{asset.etag}-{encoding or 'identity'}")
    return response.make_conditional(request)


class StaticFiles:
    """WSGI middleware answering /static/... and /assets/... before Flask: no session, no
    cookie, no database, nothing about the visitor (as fast as a file server)."""

    def __init__(self, wsgi_app, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/static/"):
            name = path.removeprefix("/static/")
        elif path.startswith("/assets/"):
            name = VENDOR_PREFIX + path.removeprefix("/assets/")
        else:
            return self.wsgi_app(environ, start_response)
        found: Manifest = self.app.extensions["engage_assets"]
        if self.app.debug:
            found.refresh_if_changed()
        request = Request(environ)
        response = None
        if request.method in READ_METHODS:
            response = respond(found, name, request)
        if response is None:
            response = Response("Not found", status=404, mimetype="text/plain")
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response(environ, start_response)


def init_app(app: Flask) -> None:
    app.extensions["engage_assets"] = shared_manifest()
    app.wsgi_app = StaticFiles(app.wsgi_app, app)
    # The route only names the URLs (url_for('static', ...)); the middleware answers them.
    app.add_url_rule("/static/<path:filename>", endpoint="static", build_only=True)
    app.add_template_global(static_url)
