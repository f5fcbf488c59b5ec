"""Domain errors mapped once: problem+json (RFC 9457) for the API, a short page elsewhere."""

from __future__ import annotations

import http
import logging
import re
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_smorest import Api
from marshmallow import Schema, fields
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import BadRequest, HTTPException, UnsupportedMediaType, default_exceptions
from werkzeug.exceptions import NotFound as PageNotFound
from werkzeug.wrappers import Response as BaseResponse

from catalogue.db import current_database
from catalogue.exceptions import DescriptorError, RegistryError, Unauthenticated
from catalogue.services.schemas import ProblemItem

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

PROBLEMS_PATH = "problems/"
"""Where the catalogue serves a page on each problem type: <base URL>/problems/<name>."""


@dataclass(frozen=True)
class ProblemType:
    """One kind of problem the API answers with: its name (the last segment of its type URI), and what a
    person reading /problems/<name> needs to know."""

    name: str
    title: str
    status: int
    description: str


_OWN_PROBLEMS = (
    ProblemType(
        "descriptor-too-large",
        "The descriptor is too large",
        413,
        "The descriptor is longer than this catalogue reads (CATALOGUE_MAX_DESCRIPTOR_BYTES, 2 MiB unless its "
        "operator chose otherwise). Split large interface documents out, or ask the operator.",
    ),
    ProblemType(
        "unreadable-descriptor",
        "The descriptor could not be read",
        400,
        "The text is not JSON or YAML the catalogue can read safely: a syntax error, a document nested too deep, "
        "or a YAML feature it refuses (tags, anchors that expand too far). The errors list says where.",
    ),
    ProblemType(
        "database-unavailable",
        "Database unavailable",
        503,
        "The catalogue cannot reach its database right now. Nothing was changed; try again after the number "
        "of seconds in the Retry-After header.",
    ),
)


_EXPLANATIONS = {
    "validation-failed": "The descriptor breaks the CSPA descriptor schema or a rule no schema can say (a GSBPM "
    "code that does not exist, an operation missing from the interface, an unknown licence). The errors list "
    "names each problem with a JSON pointer and the line of the text you sent.",
    "conflict": "The request contradicts what is stored: the id belongs to another organisation's approved "
    "service, the same version was stored with other content, the version is not higher than the latest, or "
    "a version of this service already awaits review.",
    "not-found": "Nothing at that address, or nothing you may see there: drafts and versions under review are "
    "visible only to their organisation and to reviewers.",
    "unauthenticated": "This needs an API token: send Authorization: Bearer <token>. A token that is unknown, "
    "expired or revoked is refused here too, even on a request that would work without one.",
    "permission-denied": "Your token or account may not do this: its role or its scopes do not allow it, or the "
    "service belongs to another organisation. The refusal is kept on the audit trail.",
    "invalid-request": "The request is well-formed but incomplete or contradictory, for example a review that "
    "requests changes without a comment.",
}
"""What a person reading a problem type's page needs beyond its one-line class docstring."""


def _kind(name: str) -> str:
    """A class or status name as the last segment of a type URI: ValidationFailed and "Not Found" become
    validation-failed and not-found."""
    return re.sub(r"[^a-z0-9]+", "-", re.sub(r"(?<=[a-z])(?=[A-Z])", "-", name).lower()).strip("-")


def _registry_errors() -> list[type[RegistryError]]:
    found, todo = [], list(RegistryError.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def problem_types() -> dict[str, ProblemType]:
    """Every problem type the API can answer with, by name: the registry's refusals (each subclass of
    RegistryError), the descriptor and database problems above, and each HTTP error werkzeug raises."""
    found: dict[str, ProblemType] = {}
    for code, exception in sorted(default_exceptions.items()):
        error = exception()  # name and description are read on an instance
        name = _kind(error.name)
        found[name] = ProblemType(name, error.name, code, error.description or error.name)
    for cls in _registry_errors():
        name = _kind(cls.__name__)
        doc = " ".join((cls.__doc__ or cls.title).split("\n\n")[0].split())
        found[name] = ProblemType(name, cls.title, cls.status, _EXPLANATIONS.get(name, doc))
    for own in _OWN_PROBLEMS:
        found[own.name] = own
    return dict(sorted(found.items()))


def problem_type_uri(kind: str) -> str:
    """The type URI of a problem: its page on this catalogue, under CATALOGUE_BASE_URL when that is set (so
    it never changes with the host a client used), else under the request's host."""
    config = current_app.config.get("CATALOGUE")
    base = (getattr(config, "base_url", "") or request.url_root).rstrip("/") + "/"
    return base + PROBLEMS_PATH + kind


def problem(status: int, title: str, detail: str, kind: str, **extra: Any) -> Response:
    """A problem+json response."""
    body = {"type": problem_type_uri(kind), "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MEDIA_TYPE
    return response


def _registry_error(error: RegistryError) -> Response | tuple[str, int] | BaseResponse:
    # Refusals outside a write (a page only admins may read) end here, never in a unit of work.
    current_database().keep_refusal(error)
    if not request.path.startswith("/api/") and request.accept_mimetypes.accept_html:
        if isinstance(error, Unauthenticated):
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        return render_template(
            "error.html", title=error.title, detail=error.detail, problems=error.problems, status=error.status
        ), error.status
    extra: dict[str, Any] = {}
    if error.problems:
        extra["errors"] = [p.to_dict() for p in error.problems]
    for key, value in error.extra.items():
        extra[key] = [p.to_dict() if hasattr(p, "to_dict") else p for p in value] if isinstance(value, list) else value
    response = problem(error.status, error.title, error.detail, _kind(type(error).__name__), **extra)
    if isinstance(error, Unauthenticated):
        response.headers["WWW-Authenticate"] = 'Bearer realm="cspa-catalogue"'
    return response


def _descriptor_error(error: DescriptorError) -> Response:
    if error.status == 413:
        return problem(
            413,
            "The descriptor is too large",
            error.problem.message,
            "descriptor-too-large",
            errors=[error.problem.to_dict()],
        )
    return problem(
        400,
        "The descriptor could not be read",
        error.problem.message,
        "unreadable-descriptor",
        errors=[error.problem.to_dict()],
    )


# Seconds a client is asked to wait before trying again while the database cannot be reached.
DATABASE_RETRY_AFTER = 5


def _database_unavailable(error: Exception) -> Response | tuple[str, int, dict[str, str]]:
    # Only a lost or refused connection (or an exhausted pool) is the database being away: a failing
    # statement is a bug, and stays a 500 so it is noticed.
    if isinstance(error, DBAPIError) and not (
        isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated
    ):
        raise error
    log.warning("database unavailable: %s: %s", type(error).__name__, str(error).splitlines()[0] if str(error) else "")
    title, detail = "Database unavailable", "The catalogue cannot reach its database right now; try again shortly."
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER)}
    if not request.path.startswith("/api/") and request.accept_mimetypes.accept_html:
        try:
            return render_template("error.html", title=title, detail=detail, problems=None, status=503), 503, headers
        except SQLAlchemyError:  # the page's frame reads the signed-in user from the same database
            return f"{title}. {detail}", 503, {**headers, "Content-Type": "text/plain; charset=utf-8"}
    response = problem(503, title, detail, "database-unavailable")
    response.headers.update(headers)
    return response


def _http_error(error: HTTPException) -> Response | HTTPException:
    if not request.path.startswith("/api/"):
        return error
    extra: dict[str, Any] = {}
    data = getattr(error, "data", None)
    messages = data.get("messages") if isinstance(data, dict) else None
    if isinstance(data, dict) and isinstance(data.get("errors"), list):  # already pointer-shaped (security.py)
        extra["errors"] = data["errors"]
    elif isinstance(messages, dict):
        extra["errors"] = [
            {"pointer": f"/{name}", "line": None, "message": " ".join(map(str, texts)), "source": location}
            for location, fields in messages.items()
            if isinstance(fields, dict)
            for name, texts in fields.items()
        ]
    code = error.code or 500
    response = problem(code, error.name, error.description or error.name, _kind(error.name), **extra)
    # The exception's own headers (Allow on a 405, as RFC 9110 asks; WWW-Authenticate, Retry-After) stay on
    # the problem+json answer that replaces its page.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _require_declared_body() -> None:
    """Refuse, before the view, an API request without the JSON body its OpenAPI operation marks as required.

    webargs reads a missing body as {}, so an operation whose fields all have defaults (POST /api/v1/tokens)
    would succeed on nothing; the published contract says the body is required, so the edge holds to it
    for every operation declared with flask-smorest's @blp.arguments (in the default json location).
    """
    view = current_app.view_functions.get(request.endpoint or "")
    parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    if not any(p.get("in") == "json" and p.get("required") for p in parameters if isinstance(p, dict)):
        return
    if not request.get_data(cache=True):
        raise BadRequest("This operation needs a JSON request body (an empty object {} takes every default).")
    if not request.is_json:
        raise UnsupportedMediaType(f"The request body must be application/json, not {request.mimetype or 'untyped'}.")


class ProblemSchema(Schema):
    """An RFC 9457 problem: what went wrong, and where."""

    type = fields.String(
        metadata={"description": "The problem type: a page of this catalogue (/problems/<name>) on what it means"}
    )
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Nested(ProblemItem))
    warnings = fields.List(fields.Nested(ProblemItem))
    allowed = fields.List(fields.String(), metadata={"description": "What may be done instead"})


class CatalogueApi(Api):
    """flask-smorest's Api, documenting every error as the problem+json the handlers below send."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        # flask-smorest documents errors as application/json; ours are application/problem+json.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not 100 <= status < 200 and status not in (204, 304):
                response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": ProblemSchema}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            "DEFAULT_ERROR",
            {"description": "Default error response", "content": {PROBLEM_MEDIA_TYPE: {"schema": ProblemSchema}}},
            lazy=True,
        )


problems = Blueprint("problems", __name__)


@problems.get("/problems/")
def problem_index() -> str:
    """Every problem type, for people who follow a type URI up one level."""
    return render_template("problems/index.html", problem_types=problem_types().values())


@problems.get("/problems/<name>")
def problem_page(name: str) -> str:
    """The page of one problem type: what it means and what to do about it."""
    found = problem_types().get(name)
    if found is None:
        raise PageNotFound(f"There is no problem type named {name!r}; /problems/ lists them all.")
    return render_template("problems/page.html", problem_type=found, uri=problem_type_uri(name))


def init_app(app: Flask) -> None:
    """Register the handlers and the problem type pages."""
    app.register_blueprint(problems)
    app.before_request(_require_declared_body)
    app.register_error_handler(RegistryError, _registry_error)
    app.register_error_handler(DescriptorError, _descriptor_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.register_error_handler(PoolTimeout, _database_unavailable)
