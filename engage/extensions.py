"""Flask extensions, created unbound and bound to an app in create_app."""

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from engage.core.ratelimit import client_key
from engage.db import Base


class FingerprintFreeLoginManager(LoginManager):
    """Flask-Login, without its fingerprint of the person's connection.

    For its "session protection", Flask-Login writes a hash of the client's IP address and
    browser into every session cookie at sign-in ("_id"), and works it out again on every
    request, even with the protection turned off, as it is in Engage: a signed-out or copied
    cookie is ended by the server-side session instead (accounts.services.end_session).
    Engage keeps client addresses out of its logs, and has no use for a trace of them in the
    cookie either, so the fingerprint is empty. Flask-Login has no setting for this; the
    generator it calls is an attribute it sets in its own constructor."""

    def __init__(self) -> None:
        super().__init__()
        self.session_protection = None  # a copied cookie is ended server-side instead
        self._session_identifier_generator = str  # str() is "": no address, no browser


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = FingerprintFreeLoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=client_key, default_limits=[])
babel = Babel()


@limiter.request_filter
def _reads_are_not_limited() -> bool:
    """Every limit in Engage is on a POST (signing in, forms, typed codes), so a GET skips the
    limiter's bookkeeping on each request. A limit on a GET would need this removed."""
    return request.method in ("GET", "HEAD")
