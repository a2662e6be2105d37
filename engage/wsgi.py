"""Entry point for `flask --app engage.wsgi` and gunicorn (`gunicorn engage.wsgi:app`)."""

from engage import create_app
from engage.config import selected_config

app = create_app(selected_config())
