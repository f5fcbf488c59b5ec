"""/healthz and /readyz, the request id, and the JSON log lines."""

from __future__ import annotations

import io
import json
import logging
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from catalogue import create_app
from catalogue.config import Config
from catalogue.db import db
from catalogue.events import Event
from catalogue.ops import JsonFormatter
from tests.conftest import close_app, database_url
from tests.search.test_consistency import _finish, _worker


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every log line of the catalogue's loggers, as the JSON formatter writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("catalogue")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _newest_event(app: Flask) -> int:
    with app.app_context(), db.transaction() as session:
        return session.scalar(select(func.max(Event.id))) or 0


def test_healthz_answers_a_tiny_json(client: FlaskClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json == {"status": "ok"}


def test_readyz_is_ready_on_a_working_app(client: FlaskClient, make_user, good_text: str) -> None:  # type: ignore[no-untyped-def]
    token = make_user()
    assert (
        client.post("/api/v1/services", data=good_text, headers={"Authorization": f"Bearer {token}"}).status_code == 201
    )
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "ready"
    assert {name: check["ready"] for name, check in answer.json["checks"].items()} == {
        "database": True,
        "schema": True,
        "index": True,
    }


def test_readyz_catches_up_after_another_host_wrote(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    """A host that only answers probes must not stay unready after a write through another host."""
    assert client.get("/readyz").status_code == 200
    search_index = app.extensions["catalogue.search"].index
    before = search_index.last_applied()
    _finish(_worker("submit", database_url(tmp_path), str(tmp_path / "other-host-index"), "wombat", "1"))
    newest = _newest_event(app)
    assert search_index.last_applied() == before < newest  # behind: the write went through the other host
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.json
    assert answer.json["checks"]["index"]["detail"] == f"caught up at event {newest}"
    assert search_index.last_applied() == newest


def test_readyz_is_503_when_the_index_is_behind_and_cannot_catch_up(
    app: Flask, client: FlaskClient, tmp_path: Path, json_log: io.StringIO
) -> None:
    assert client.get("/readyz").status_code == 200
    index_dir = app.config["CATALOGUE"].index_dir
    _finish(_worker("submit", database_url(tmp_path), str(tmp_path / "other-host-index"), "wombat", "1"))
    # The index folder is gone and a file stands in its way: the index can neither be read nor rebuilt.
    shutil.rmtree(index_dir)
    index_dir.write_text("not a folder")
    answer = client.get("/readyz", headers={"X-Request-ID": "probe-17"})
    assert answer.status_code == 503 and answer.mimetype == "application/problem+json"
    checks = answer.json["checks"]
    assert checks["database"]["ready"] and checks["schema"]["ready"] and not checks["index"]["ready"]
    assert checks["index"]["detail"].startswith(
        f"behind (the events table is at {_newest_event(app)}) and cannot catch up"
    )
    assert answer.json["detail"].startswith("index: behind")
    # The warning logged on the way carries the request's id, like the request's own line.
    lines = [(line["logger"], line["level"]) for line in _lines(json_log) if line["request_id"] == "probe-17"]
    assert ("catalogue.ops", "WARNING") in lines and lines[-1] == ("catalogue.request", "INFO")
    assert client.get("/healthz").status_code == 200  # alive all the same


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # free once closed: nothing listens there


@pytest.mark.enable_socket
def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://catalogue@127.0.0.1:{_closed_port()}/catalogue"
    app = create_app(Config(instance_path=tmp_path, database_url=url, index_dir=tmp_path / "index"))
    client = app.test_client()
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503 and answer.mimetype == "application/problem+json"
        assert answer.json["checks"]["database"] == {"ready": False, "detail": "unreachable (OperationalError)"}
        assert not answer.json["checks"]["index"]["ready"]
        assert answer.json["detail"].startswith("database: unreachable")
        assert client.get("/healthz").status_code == 200
    finally:
        close_app(app)


def test_the_request_id_is_kept_when_safe_and_made_otherwise(client: FlaskClient, json_log: io.StringIO) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-4f2a.9:7_x"})
    assert kept.headers["X-Request-ID"] == "lb-4f2a.9:7_x"
    for unsafe in ("a b", "x" * 65, "id\u00e9", '"}{"level": "ERROR'):
        made = client.get("/healthz", headers={"X-Request-ID": unsafe})
        assert made.headers["X-Request-ID"] != unsafe and len(made.headers["X-Request-ID"]) == 32
    first, second = client.get("/healthz").headers["X-Request-ID"], client.get("/healthz").headers["X-Request-ID"]
    assert first != second
    # Errors carry it too.
    assert (
        client.get("/api/v1/services/no-such-service", headers={"X-Request-ID": "lost-1"}).headers["X-Request-ID"]
        == "lost-1"
    )

    lines = _lines(json_log)
    access = [line for line in lines if line["logger"] == "catalogue.request"]
    assert len(access) == len(lines) == 8  # one JSON object per request, nothing else
    assert access[0]["request_id"] == "lb-4f2a.9:7_x"
    assert access[-1]["request_id"] == "lost-1"
    assert {line["request_id"] for line in access[1:5]}.isdisjoint({"a b", "x" * 65})
    for line in access:
        assert set(line) == {
            "time",
            "level",
            "logger",
            "message",
            "request_id",
            "method",
            "path",
            "status",
            "duration_ms",
        }
        assert line["method"] == "GET" and isinstance(line["duration_ms"], float) and line["time"].endswith("+00:00")
    assert (access[-1]["path"], access[-1]["status"], access[-1]["message"]) == (
        "/api/v1/services/no-such-service",
        404,
        "GET /api/v1/services/no-such-service 404",
    )


def test_a_log_line_outside_a_request_has_no_request_id() -> None:
    record = logging.LogRecord("catalogue.search", logging.ERROR, __file__, 1, "index %s failed", ("gen-1",), None)
    try:
        raise OSError("disk full")
    except OSError:
        import sys

        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert (line["message"], line["level"], line["request_id"]) == ("index gen-1 failed", "ERROR", None)
    assert "OSError: disk full" in line["exception"] and "\n" not in JsonFormatter().format(record)
