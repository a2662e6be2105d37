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

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=client_key, default_limits=[])
babel = Babel()


@limiter.request_filter
def _reads_are_not_limited() -> bool:
    """Every limit in Engage is on a POST (signing in, forms, typed codes), so a GET skips the
    limiter's bookkeeping on each request. A limit on a GET would need this removed."""
    return request.method in ("GET", "HEAD")
