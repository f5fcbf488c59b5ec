"""Domain errors mapped once: problem+json (RFC 9457) for the API, a short page elsewhere."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from catalogue.services.registry import RegistryError, Unauthenticated
from catalogue.services.report import DescriptorError

PROBLEM_TYPE = "https://cspa-catalogue.example/problems/"


def problem(status: int, title: str, detail: str, kind: str, **extra: Any) -> Response:
    """A problem+json response."""
    body = {"type": PROBLEM_TYPE + kind, "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _registry_error(error: RegistryError) -> Response:
    extra: dict[str, Any] = {}
    if error.problems:
        extra["errors"] = [p.to_dict() for p in error.problems]
    for key, value in error.extra.items():
        extra[key] = [p.to_dict() for p in value] if isinstance(value, list) else value
    response = problem(error.status, error.title, error.detail, type(error).__name__.lower(), **extra)
    if isinstance(error, Unauthenticated):
        response.headers["WWW-Authenticate"] = 'Bearer realm="cspa-catalogue"'
    return response


def _descriptor_error(error: DescriptorError) -> Response:
    return problem(
        400, "The descriptor could not be read", error.problem.message, "unreadable-descriptor",
        errors=[error.problem.to_dict()],
    )


def _http_error(error: HTTPException) -> Response | HTTPException:
    if not request.path.startswith("/api/"):
        return error
    extra: dict[str, Any] = {}
    messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
    if isinstance(messages, dict):
        extra["errors"] = [
            {"pointer": f"/{name}", "line": None, "message": " ".join(map(str, texts)), "source": location}
            for location, fields in messages.items() if isinstance(fields, dict)
            for name, texts in fields.items()
        ]
    code = error.code or 500
    return problem(code, error.name, error.description or error.name, error.name.lower().replace(" ", "-"), **extra)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(RegistryError, _registry_error)
    app.register_error_handler(DescriptorError, _descriptor_error)
    app.register_error_handler(HTTPException, _http_error)
