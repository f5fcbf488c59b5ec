"""Security headers and the Content-Security-Policy, set in one place on every response; and the
guard that turns away text no database can store before any view reads it.

The policy has no 'unsafe-inline': pages carry no inline <script>, no on* attributes and no
style="" attributes, and load scripts and styles only from static/. A view that needs something
else changes the policy here, where a reviewer sees it, not in its own response.
"""

from __future__ import annotations

import json

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import BadRequest, NotFound

from catalogue import db
from catalogue.services import json_pointer

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# Features no page of the catalogue uses, switched off for every frame of it.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "interest-cohort",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

# Two years, the preload list's minimum; subdomains included, since none of ours speaks plain HTTP.
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"


def _secure_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        # A view may tighten a header for itself (the document pages set their own caching, say);
        # setdefault keeps what it chose.
        response.headers.setdefault(name, value)
    # Behind a TLS-terminating proxy request.is_secure is false, so production sends HSTS always.
    if request.is_secure or current_app.config["CATALOGUE"].environment == "production":
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


class UnstorableText(BadRequest):
    """A request carried text no database can store (a NUL or a lone surrogate); 400 with its place."""

    def __init__(self, place: str, pointer: str, reason: str, source: str) -> None:
        super().__init__(f"The {place} contains {reason}.")
        # errors.py turns this into problem+json errors, as it does for argument errors.
        self.data = {
            "errors": [{"pointer": pointer, "line": None, "message": f"the text contains {reason}", "source": source}]
        }


def _refuse_unstorable_text() -> None:
    """Answer 404 or 400 before any view runs when the URL, a form field or a JSON body holds a NUL or a
    lone surrogate: one guard at the edge instead of a check in every view and query.

    A path with a NUL names nothing (404, as SQLite answered all along); a query parameter, form field
    or JSON string with one is a bad request (400). Descriptor bodies sent as YAML or as a file are
    checked by the descriptor parser, which also gives the line.
    """
    if db.unstorable(request.path):
        raise NotFound()
    for key, value in request.args.items(multi=True):
        for text in (key, value):
            reason = db.unstorable(text)
            if reason:
                raise UnstorableText(f"query parameter {key[:40]!r}", f"/{key[:40]}", reason, "query")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            for text in (key, value):
                reason = db.unstorable(text)
                if reason:
                    raise UnstorableText(f"form field {key[:40]!r}", f"/{key[:40]}", reason, "form")
    elif request.is_json:
        try:
            # cached, so the view (or the descriptor parser) reads the same bytes again
            body = json.loads(request.get_data(cache=True))
        except (ValueError, RecursionError):
            return  # unreadable JSON is the view's to refuse, with its own message
        for pointer, text, _is_key in json_pointer.texts(body):
            reason = db.unstorable(text)
            if reason:
                raise UnstorableText("JSON body", pointer, reason, "body")


def init_app(app: Flask) -> None:
    """Add the security headers to every response of app, errors and static files included, and refuse
    requests carrying text the database cannot store."""
    app.before_request(_refuse_unstorable_text)
    app.after_request(_secure_headers)
