"""The ceiling for bench/pages.py: a bare Flask app, served by gunicorn exactly as Engage is."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
