"""Operations: /healthz and /readyz for load balancers, a request id on every request, JSON log lines,
and the refusal to serve a database whose schema is not at the migrations' head."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    has_request_context,
    jsonify,
    request,
)
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from catalogue import migrations, timing
from catalogue.db import current_database, database_of
from catalogue.errors import problem
from catalogue.events import catalogue_version
from catalogue.migrations import SchemaNotCurrent

log = logging.getLogger(__name__)
access_log = logging.getLogger("catalogue.request")

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only if it cannot forge log lines or headers: short, and of safe characters.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Probes and the schema's own report pass the schema gate: they say what is wrong instead.
_UNGATED = frozenset({"ops.healthz", "ops.readyz", "static"})

bp = Blueprint("ops", __name__)


@dataclass(frozen=True)
class Check:
    """One readiness check: whether it passed, and what an operator should know."""

    ready: bool
    detail: str


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive and answering (nothing else is checked: a load balancer restarts on failure)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready to serve: the database reachable, its schema at head, the search index caught up; else 503."""
    checks = readiness()
    body = {name: asdict(check) for name, check in checks.items()}
    if all(check.ready for check in checks.values()):
        return jsonify(status="ready", checks=body)
    failing = "; ".join(f"{name}: {check.detail}" for name, check in checks.items() if not check.ready)
    return problem(503, "Not ready", failing, "not-ready", checks=body)


def readiness() -> dict[str, Check]:
    """Check the database (a trivial query), its schema revision, and the index against the events table."""
    database = current_database()
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            revision = migrations.current(connection)
            at_head = revision == migrations.head()
            newest = catalogue_version(connection) if at_head else 0
    except SQLAlchemyError as exc:
        log.warning("readiness: the database is unreachable: %s", exc)
        reason = type(getattr(exc, "orig", None) or exc).__name__
        skipped = Check(False, "not checked: the database is unreachable")
        return {"database": Check(False, f"unreachable ({reason})"), "schema": skipped, "index": skipped}
    checks = {"database": Check(True, "reachable")}
    if not at_head:
        checks["schema"] = Check(
            False, f"at revision {revision or 'none'}, the code needs {migrations.head()}: run `catalogue migrate`"
        )
        checks["index"] = Check(False, "not checked: the schema is not at head")
        return checks
    checks["schema"] = Check(True, f"at revision {revision}")
    checks["index"] = _index_check(newest)
    return checks


def _index_check(newest: int) -> Check:
    search_index = current_app.extensions["catalogue.search"].index
    applied = None
    try:
        search_index.check_readable()  # a damaged index is rebuilt here; one that stays unreadable is not ready
        applied = search_index.last_applied()
        if applied != newest:
            # What the next search here would do anyway. Without it a host that only serves probes and
            # pages would stay unready after every write through another host, and never be sent the
            # search that catches it up.
            search_index.catch_up()
            applied = search_index.last_applied()
    except Exception as exc:  # noqa: BLE001 - whatever stops the index from catching up makes the host unready
        log.warning("readiness: the search index cannot catch up: %s: %s", type(exc).__name__, exc)
        where = f"applied event {applied} of {newest}" if applied is not None else f"the events table is at {newest}"
        return Check(False, f"behind ({where}) and cannot catch up: {type(exc).__name__}: {exc}")
    if applied < newest:
        return Check(False, f"behind: applied event {applied} of {newest}")
    return Check(True, f"caught up at event {applied}")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and for a request's lines its
    method and path (the access line adds status and duration_ms); exceptions as one string."""

    REQUEST_FIELDS = ("status", "duration_ms", "request_id", "method", "path")

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None,
        }
        if has_request_context():
            entry.update(request_id=g.get("request_id"), method=request.method, path=request.path)
        for field in self.REQUEST_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A logging.config.dictConfig that writes every logger (gunicorn's too) as JSON lines to stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": handler},
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {
            # gunicorn's own messages, through the same handler (its access log is off: ours has the id).
            "gunicorn.error": {"level": level, "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": "WARNING", "handlers": ["json"], "propagate": False},
            # Alembic says which dialect it found each time the schema is checked: noise after the first.
            "alembic": {"level": "WARNING"},
        },
    }


def request_id(given: str) -> str:
    """The id of a request: the one its sender gave (X-Request-ID) if it is safe to log, else a new one."""
    return given if _SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def log_access(method: str, path: str, status: int, started: float, request_id: str) -> None:
    """The access line of a request that began at started (time.perf_counter()); it names its own request,
    so answers given outside Flask's request context (catalogue.conditional.AnswerCache) log the same line."""
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    access_log.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={"status": status, "duration_ms": duration_ms, "request_id": request_id, "method": method, "path": path},
    )


def _start_request() -> None:
    g.request_id = request_id(request.headers.get(REQUEST_ID_HEADER, ""))
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    if "request_id" not in g:  # a hook before ours answered first
        _start_request()
    response.headers[REQUEST_ID_HEADER] = g.request_id
    server_timing = timing.header((time.perf_counter() - g.request_started) * 1000)
    if server_timing is not None:
        response.headers["Server-Timing"] = server_timing
    log_access(request.method, request.path, response.status_code, g.request_started, g.request_id)
    return response


def _schema_gate() -> Response | None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.extensions.get("catalogue.schema_checked") or request.endpoint in _UNGATED:
        return None
    database = database_of(app)
    try:
        database.check_schema()
    except SchemaNotCurrent as exc:
        log.error("refusing requests: %s", exc)
        return problem(503, "Database not migrated", str(exc), "schema-not-current")
    except SQLAlchemyError:
        return None  # unreachable: this request fails on its own, /readyz says why, the next one checks again
    app.extensions["catalogue.schema_checked"] = True
    return None


def init_app(app: Flask) -> None:
    """Add the probes, the request id and access log line, and the schema gate to app."""
    app.register_blueprint(bp)
    # First of all before-request hooks, so every later hook's log lines carry the id.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.before_request(_schema_gate)
    app.after_request(_finish_request)
