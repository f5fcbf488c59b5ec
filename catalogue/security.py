"""Security headers and the Content-Security-Policy, set in one place on every response.

The policy has no 'unsafe-inline': pages carry no inline <script>, no on* attributes and no
style="" attributes, and load scripts and styles only from static/. A view that needs something
else changes the policy here, where a reviewer sees it, not in its own response.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# Features no page of the catalogue uses, switched off for every frame of it.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone",
        "payment", "usb", "interest-cohort",
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


def init_app(app: Flask) -> None:
    """Add the security headers to every response of app, errors and static files included."""
    app.after_request(_secure_headers)
