"""HTML pages of the catalogue (a first list; the full web UI comes later)."""

from __future__ import annotations

from flask import Blueprint, render_template

from catalogue.db import session
from catalogue.services import registry

bp = Blueprint("services", __name__)


@bp.get("/")
def home() -> str:
    """The list of approved services."""
    services, total = registry.list_services(session(), registry.ANONYMOUS, per_page=100)
    return render_template("services/home.html", services=services, total=total)
