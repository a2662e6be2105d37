"""Entry point for `flask --app wsgi` and gunicorn (`gunicorn wsgi:app`)."""

import os

from engage import create_app

app = create_app(os.environ.get("ENGAGE_CONFIG", "development"))
