"""Flask extensions, created unbound and bound to an app in create_app."""

from collections.abc import Callable
from functools import partial, wraps

from flask import Flask, current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from engage.core.ratelimit import client_key
from engage.core.security import READ_METHODS
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


class ReadsFirstCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF check, asking the method first: before every request it looked up
    the view and its exemptions, and only then whether the method needs a token at all
    (a GET never does). Same answer, less work on every page."""

    def protect(self, apply_exemptions: bool = False) -> None:
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        super().protect(apply_exemptions=apply_exemptions)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = FingerprintFreeLoginManager()
csrf = ReadsFirstCSRFProtect()


class WritesOnlyLimiter(Limiter):
    """Flask-Limiter, asked only about requests that can change something.

    Every limit in Engage is on a POST (signing in, forms, typed codes). Flask-Limiter works
    out each request's limits in a hook before every request, reads included, and after it
    looks for limit headers to add and clears its state for the request: about 3% of a
    signed-in page's time even with a request filter saying "not this one". Here a GET or
    HEAD leaves those hooks at once. A limit on a GET would need this removed. The hooks are
    the ones Flask-Limiter registers itself; were they renamed, every request would go
    through them again, as before: slower, never less safe."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        for hooks in (app.after_request_funcs.get(None, []),
                      app.teardown_request_funcs.get(None, [])):
            hooks[:] = [_for_writes_only(hook) if self._is_own_hook(hook) else hook
                        for hook in hooks]

    def _is_own_hook(self, hook) -> bool:
        if isinstance(hook, partial):  # after the request: partial(__inject_headers, self)
            return (hook.func is getattr(Limiter, "_Limiter__inject_headers", None)
                    and hook.args == (self,))
        return hook == getattr(self, "_Limiter__release_context", None)  # the teardown

    def _check_request_limit(self, callable_name: str | None = None,
                             in_middleware: bool = True) -> None:
        if request.method in READ_METHODS:
            return None
        return super()._check_request_limit(callable_name, in_middleware)


def _for_writes_only(hook: Callable) -> Callable:
    @wraps(hook)
    def for_writes(value=None):
        if request.method in READ_METHODS:
            return value  # the response, unchanged (or the teardown's error, ignored)
        return hook(value)
    return for_writes


limiter = WritesOnlyLimiter(key_func=client_key, default_limits=[])
babel = Babel()
