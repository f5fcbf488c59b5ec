"""The hostile-input corpus (tests/corpus/bad/cases.yaml) against every entry point.

Each bad case gets its 4xx problem+json with the expected pointers, within a time and memory
bound, stores nothing, and leaves the app answering. Valid descriptors full of hostile text are
stored and shown on every page without live markup.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from catalogue.auth import accounts, actors
from catalogue.db import db
from catalogue.events import Event
from catalogue.services import descriptors, workflow
from catalogue.services.models import Service, ServiceVersion
from tests.conftest import app_on_empty_database
from tests.security.markup import live_markup

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "bad"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text("utf-8"))
SECONDS = 5.0  # per request
RSS_GROWTH = 64 * 1024 * 1024  # per case, bytes
# What POST /api/v1/services answers at each stage (cases.yaml explains the stages).
STAGES = {"syntax": 400, "invalid": 422, "too-large": 413, "unsupported": 415, "accepted": 201}


def _case_id(case: dict[str, Any]) -> str:
    return str(case.get("file") or case["generate"])


class _Filler(io.RawIOBase):
    """A request body of n bytes produced on demand, so a 100 MB upload costs no memory to send."""

    def __init__(self, size: int, byte: bytes) -> None:
        self.left = size
        self.byte = byte

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = self.byte * n
        self.left -= n
        return n


def _filler(size: int, byte: bytes = b"#") -> io.BufferedReader:
    return io.BufferedReader(_Filler(size, byte))


def _body(case: dict[str, Any], limit: int) -> tuple[Any, int]:
    """The body (bytes or a stream) and its length."""
    if "file" in case:
        data = (CORPUS / case["file"]).read_bytes()
        return data, len(data)
    good = (CORPUS.parent.parent / "data" / "good.yaml").read_bytes()
    kind = case["generate"]
    if kind == "10 MB":
        return _filler(10 * 1024 * 1024), 10 * 1024 * 1024
    if kind == "100 MB":
        return _filler(100 * 1024 * 1024, b" "), 100 * 1024 * 1024
    if kind == "just over the descriptor limit":
        data = good + b"#" * (limit + 1 - len(good))
        return data, len(data)
    if kind == "description of 1.9 MB":
        data = good.replace(b"  purpose:", b"  description: " + b"d" * 1_900_000 + b"\n  purpose:")
        return data, len(data)
    raise AssertionError(f"no generator for {kind!r}")


@pytest.fixture(scope="module")
def corpus_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with app_on_empty_database(tmp_path_factory.mktemp("corpus")) as app:
        yield app


@pytest.fixture(scope="module")
def token(corpus_app: Flask) -> str:
    with corpus_app.app_context(), db.transaction() as session:
        _user, token = accounts.create_user(session, "submitter@istat.example", "ISTAT", "submitter")
    return token


def _counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context(), db.transaction() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0 for model in (Service, ServiceVersion, Event)
        )  # type: ignore[return-value]


def _post(client: FlaskClient, url: str, case: dict[str, Any], limit: int, headers: dict[str, str]) -> Any:
    body, size = _body(case, limit)
    started = time.perf_counter()
    if isinstance(body, bytes):
        response = client.post(url, data=body, content_type=case["type"], headers=headers)
    else:
        response = client.post(
            url,
            content_type=case["type"],
            headers=headers,
            environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": str(size)},
        )
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS, f"{url} took {elapsed:.1f} s"
    return response


def _check_problems(case: dict[str, Any], errors: list[dict[str, Any]], detail: str = "") -> None:
    pointers = {error["pointer"] for error in errors}
    for pointer in case.get("pointers") or []:
        assert pointer in pointers, f"expected an error at {pointer[:80]!r}, got {sorted(p[:80] for p in pointers)}"
    fragment = case.get("message")
    if fragment:
        wanted = set(case.get("pointers") or []) or pointers
        messages = [e["message"] for e in errors if e["pointer"] in wanted] + [detail]
        assert any(fragment in message for message in messages), f"no message with {fragment!r}: {messages}"
    for error in errors:  # messages stay readable: they never echo a huge value back
        assert len(error["message"]) < 2000, error["message"][:200]


def _check_answer(response: Any, case: dict[str, Any], endpoint: str) -> None:
    stage = case["stage"]
    expected = case["status"][endpoint]
    assert response.status_code == expected, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_json(force=True)
    if expected >= 400:
        assert response.mimetype == "application/problem+json"
        assert body["status"] == expected and body["title"] and body["type"]
        if stage != "unsupported":
            _check_problems(case, body.get("errors", []), body.get("detail", ""))
    elif endpoint == "validate":
        assert body["valid"] is (stage == "accepted"), body["errors"][:3]
        if stage == "invalid":
            _check_problems(case, body["errors"])


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_case(corpus_app: Flask, token: str, case: dict[str, Any]) -> None:
    client = corpus_app.test_client()
    limit = corpus_app.config["CATALOGUE"].max_descriptor_bytes
    process = psutil.Process()
    before = _counts(corpus_app)
    rss = process.memory_info().rss
    validated = _post(client, "/api/v1/validate", case, limit, {})
    _check_answer(validated, case, "validate")
    submitted = _post(client, "/api/v1/services", case, limit, {"Authorization": f"Bearer {token}"})
    _check_answer(submitted, case, "services")
    growth = process.memory_info().rss - rss
    assert growth < RSS_GROWTH, f"RSS grew by {growth / 2**20:.0f} MiB"
    after = _counts(corpus_app)
    if case["stage"] == "accepted":
        assert after[0] == before[0] + 1 and after[1] == before[1] + 1 and after[2] > before[2]
    else:
        assert after == before, "a refused request stored something"
    assert client.get("/api/v1/services?per_page=1").status_code == 200  # still answering


def test_corpus_covers_the_issue() -> None:
    files = [case for case in CASES if "file" in case]
    assert len(CASES) >= 60
    assert all((CORPUS / case["file"]).is_file() for case in files)
    listed = {case["file"] for case in files}
    on_disk = {path.name for path in CORPUS.iterdir() if path.name != "cases.yaml"}
    assert listed == on_disk, on_disk ^ listed
    assert {case["stage"] for case in CASES} == set(STAGES)
    for case in CASES:  # the manifest's statuses agree with its stages
        assert case["status"]["services"] == STAGES[case["stage"]], _case_id(case)
        assert case["status"]["validate"] == (
            200 if case["stage"] in ("invalid", "accepted") else STAGES[case["stage"]]
        )
    assert all(case.get("why") for case in CASES)


# --- the command line -------------------------------------------------------------------------


def _cli(files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CATALOGUE_INSTANCE_PATH": str(cwd / "instance")}
    return subprocess.run(
        [sys.executable, "-m", "catalogue.cli", "validate", "--format", "json", *map(str, files)],
        check=False,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


# Exit 2 is kept for files that cannot be opened; a file that opens but is no descriptor is invalid (1).
@pytest.mark.parametrize("stage", ["syntax", "invalid", "accepted"])
def test_the_command_line_refuses_cleanly(tmp_path: Path, stage: str) -> None:
    cases = [case for case in CASES if case["stage"] == stage and "file" in case]
    (exit_code,) = {case["status"]["cli"] for case in cases}
    files = []
    for case in cases:  # the command picks JSON or YAML by extension
        path = tmp_path / case["file"]
        path.write_bytes((CORPUS / case["file"]).read_bytes())
        files.append(path)
    result = _cli(files, tmp_path)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == exit_code, result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert len(reports) == len(cases)
    for case, report in zip(cases, reports, strict=True):
        assert report["valid"] is (stage == "accepted"), case["file"]
        if stage != "accepted":
            _check_problems(case, report["errors"])


def test_the_command_line_refuses_a_10_mb_file(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.write(b"#" * (10 * 1024 * 1024))
    result = _cli([big], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "the limit is" in json.loads(result.stdout)["errors"][0]["message"]


# --- pages show hostile text as text ----------------------------------------------------------

# Tags the hostile descriptors carry: none may reach a page as a tag.
HOSTILE_TAGS = ("iframe", "object", "embed", "base", "svg", "img", "math")
ACCEPTED = [case for case in CASES if case["stage"] == "accepted"]


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, list[tuple[str, str]]]]:
    """An app where the accepted hostile descriptors are approved, so every reader sees them."""
    with app_on_empty_database(tmp_path_factory.mktemp("shown")) as app:
        stored = []
        with app.app_context():
            for case in ACCEPTED:
                descriptor = descriptors.parse((CORPUS / case["file"]).read_bytes(), "yaml")
                with db.transaction() as session:
                    version, _created = workflow.submit_version(session, actors.SYSTEM, descriptor, "yaml", "approved")
                    stored.append((version.service.slug, version.version))
        yield app, stored


def _pages(slug: str, version: str) -> list[str]:
    return [
        "/",
        "/search?q=markup",
        "/search?q=alert",
        "/search?q=linkage",
        "/search?q=%3Cscript%3E",
        f"/services/{slug}",
        f"/services/{slug}/versions/{version}",
        f"/review/{slug}/{version}",
        "/document/gsim/Unit%20Data%20Set",
    ]


def test_hostile_text_is_shown_as_text(shown: tuple[Flask, list[tuple[str, str]]]) -> None:
    app, stored = shown
    client = app.test_client()
    assert len(stored) == len(ACCEPTED)
    for slug, version in stored:
        for url in _pages(slug, version):
            response = client.get(url)
            if url.startswith("/review/") and response.status_code in (302, 401, 403):
                continue  # reviewers only; shown to them by the same template filters
            assert response.status_code == 200, (url, response.status_code)
            assert response.mimetype == "text/html"
            found = live_markup(response.get_data(as_text=True), HOSTILE_TAGS)
            assert not found, f"{url} has live markup: {found}"
        page = client.get(f"/services/{slug}").get_data(as_text=True)
        if slug == "markup-everywhere":
            assert "&lt;script&gt;alert(" in page  # the text is shown, escaped, not dropped
        if slug == "template-injection":
            assert "{{ 7*7 }}" in page  # shown as written, never evaluated
        if slug == "rtl-override":
            assert "\u202e" in page  # kept as given: the reader's browser isolates it


def test_hostile_services_are_in_every_export(shown: tuple[Flask, list[tuple[str, str]]]) -> None:
    """Every accepted hostile descriptor, approved, is in every export format: none breaks a document for
    everyone (iri-unsafe-addresses.yaml once broke the Turtle export)."""
    app, stored = shown
    client = app.test_client()
    exports = [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/export/")]
    assert len(exports) >= 5
    for url in [*exports, "/feeds/approved.atom"]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        text = response.get_data(as_text=True)
        assert all(slug in text for slug, _version in stored), url
    for slug, _version in stored:
        assert client.get(f"/services/{slug}/catalog-info.yaml").status_code == 200


def test_hostile_text_stays_text_in_the_api(shown: tuple[Flask, list[tuple[str, str]]]) -> None:
    app, stored = shown
    client = app.test_client()
    for slug, version in stored:
        response = client.get(f"/api/v1/services/{slug}/versions/{version}")
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"  # never sniffed as HTML
