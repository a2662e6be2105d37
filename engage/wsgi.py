"""Entry point for `flask --app engage.wsgi` and gunicorn (`gunicorn engage.wsgi:app`)."""

import os

from engage import create_app

app = create_app(os.environ.get("ENGAGE_CONFIG", "development"))
