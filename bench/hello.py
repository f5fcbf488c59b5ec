"""The yardstick of bench/api.py: a bare Flask hello-world, served by the same gunicorn as the catalogue."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """The smallest answer Flask can give."""
    return "Hello, World!"
