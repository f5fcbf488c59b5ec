"""A real catalogue behind gunicorn on a free loopback port, and clients that keep score of what it accepted.

The server runs the app factory under production's gunicorn settings (`gunicorn -c python:catalogue.gunicorn_conf`,
as `catalogue serve --production` does) with two workers, on the test database (a SQLite file in WAL mode, or
PostgreSQL when CATALOGUE_DATABASE_URL is set) and its own index folder, as an operator would start it; the
test process reads the same database directly to count rows.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import requests
import yaml
from flask import Flask
from sqlalchemy import select

from catalogue.db import db
from catalogue.services.models import Service
from tests.conftest import DATA, app_on_empty_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REQUEST_TIMEOUT = 30.0  # seconds; a request slower than this is a hang, and fails the test
START_TIMEOUT = 60.0  # seconds for gunicorn to answer its first request (slow on a busy machine)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def descriptor_text(slug: str, name: str) -> str:
    """tests/data/good.yaml under another id and name."""
    content = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    content["id"] = slug
    content["definition"]["name"] = name
    return yaml.safe_dump(content)


class Server:
    """gunicorn serving the catalogue from a folder; started, killed and restarted by the tests."""

    def __init__(self, folder: Path, database_url: str, workers: int = 2) -> None:
        self.folder = folder
        self.database_url = database_url
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / "gunicorn.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "CATALOGUE_INSTANCE_PATH": str(folder / "instance"),
            "CATALOGUE_DATABASE_URL": database_url,
            "CATALOGUE_INDEX_DIR": str(folder / "index"),
            "CATALOGUE_SECRET_KEY": secrets.token_urlsafe(32),
            "CATALOGUE_INSECURE_COOKIES": "1",
            "CATALOGUE_WORKERS": str(workers),
            "CATALOGUE_LOG_LEVEL": "WARNING",
        }

    def start(self) -> None:
        """Start gunicorn and wait until it answers."""
        command = [
            str(BIN / "gunicorn"),
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--graceful-timeout",
            "5",
        ]
        if importlib.util.find_spec("catalogue.gunicorn_conf"):
            command += ["-c", "python:catalogue.gunicorn_conf"]  # production's settings, as `serve --production` runs
        else:
            # gunicorn 25+ shares one control socket per user between servers unless told not to.
            command += ["--no-control-socket", "catalogue:create_app()"]
        with open(self.log, "ab") as log:
            # A session of its own, so the whole server (master and workers) can be killed at once.
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until the server answers /healthz (or / before the probes existed) with a 200."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status = requests.get(self.base + "/healthz", timeout=5).status_code
                if status == 200 or (status == 404 and requests.get(self.base + "/", timeout=REQUEST_TIMEOUT).ok):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The pids of the worker processes now running."""
        assert self.process is not None
        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def kill_all(self) -> None:
        """SIGKILL the master and every worker at once, as a power cut or the OOM killer would."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), killing whatever is left after a few seconds."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        self.kill_all()

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a `catalogue` command on this server's database and index."""
        return subprocess.run(
            [str(BIN / "catalogue"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def create_submitter(self, email: str = "load@istat.example", org: str = "ISTAT") -> str:
        """A submitter's API token, made with `catalogue create-user` as an operator would."""
        return self.cli("create-user", "--email", email, "--org", org).stdout.strip().splitlines()[-1]

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for assertion messages."""
        try:
            return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Tally:
    """What the clients saw, shared by their threads."""

    accepted: set[str] = field(default_factory=set)
    statuses: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    connection_errors: int = 0
    searches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, url: str, response: requests.Response) -> None:
        """Count a response; a 5xx is kept with its body for the failure message."""
        with self.lock:
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                self.server_errors.append(f"{method} {url} → {response.status_code}: {response.text[:300]}")

    def server_error_report(self, server: Server) -> str:
        """The first server errors and the end of the server's log (where their tracebacks are)."""
        return f"{len(self.server_errors)} server errors, first: {self.server_errors[:3]}\n{server.log_tail()}"


def run_clients(
    server: Server,
    token: str,
    prefix: str,
    tally: Tally,
    stop: threading.Event,
    clients: int = 8,
    search_every: int = 2,
) -> list[threading.Thread]:
    """Start clients threads, each submitting new services and searching until stop is set.

    A request that fails to connect (the server being killed) is counted and retried later; only a 201
    counts as accepted.
    """

    def client(number: int) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        sent = 0
        while not stop.is_set():
            slug = f"{prefix}-{number}-{sent}"
            try:
                response = http.post(
                    server.base + "/api/v1/services",
                    data=descriptor_text(slug, f"Loadprobe {slug}"),
                    headers={"Content-Type": "application/yaml"},
                    timeout=REQUEST_TIMEOUT,
                )
                tally.record("POST", slug, response)
                if response.status_code == 201:
                    with tally.lock:
                        tally.accepted.add(slug)
                if sent % search_every == 0:
                    found = http.get(server.base + "/api/v1/search", params={"q": "loadprobe"}, timeout=REQUEST_TIMEOUT)
                    tally.record("GET", "/api/v1/search?q=loadprobe", found)
                    with tally.lock:
                        tally.searches += 1
            except requests.RequestException:
                with tally.lock:
                    tally.connection_errors += 1
                time.sleep(0.1)
            sent += 1

    threads = [threading.Thread(target=client, args=(n,), daemon=True, name=f"client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def searched_ids(server: Server, token: str) -> set[str]:
    """Every service id the search API lists to the token's holder (all pages of an empty query)."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    ids: set[str] = set()
    page, pages, total = 1, 1, 0
    while page <= pages:
        response = http.get(
            server.base + "/api/v1/search", params={"page": page, "per_page": 100}, timeout=REQUEST_TIMEOUT
        )
        assert response.status_code == 200, response.text
        body = response.json()
        pages, total = body["pages"], body["total"]
        ids.update(hit["id"] for hit in body["hits"])
        page += 1
    assert len(ids) == total, f"the search lists {len(ids)} distinct services but says it found {total}"
    return ids


def database_slugs(app: Flask) -> set[str]:
    """Every service id in the database, read directly."""
    with app.app_context(), db.transaction() as session:
        return set(session.scalars(select(Service.slug)))


def assert_nothing_lost(server: Server, app: Flask, token: str, tally: Tally) -> None:
    """Every accepted service is readable through the API, stored, and found by search; the search
    lists exactly what the database holds."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    unreadable = [
        slug
        for slug in sorted(tally.accepted)
        if http.get(f"{server.base}/api/v1/services/{slug}", timeout=REQUEST_TIMEOUT).status_code != 200
    ]
    assert not unreadable, f"{len(unreadable)} accepted services cannot be read: {unreadable[:5]}"
    stored = database_slugs(app)
    assert tally.accepted <= stored, f"accepted but not stored: {sorted(tally.accepted - stored)[:5]}"
    found = searched_ids(server, token)
    assert found == stored, (
        f"the index and the database differ: only in the database {sorted(stored - found)[:5]}, "
        f"only in the index {sorted(found - stored)[:5]}"
    )


@pytest.fixture
def catalogue_app(tmp_path: Path) -> Iterator[Flask]:
    """The test database, empty, with its tables; the test reads it directly through this app."""
    (tmp_path / "reader").mkdir()
    with app_on_empty_database(tmp_path / "reader", index_dir=tmp_path / "reader-index") as app:
        yield app


@pytest.fixture
def make_server(tmp_path: Path, catalogue_app: Flask) -> Iterator[Callable[..., Server]]:
    """Start gunicorn servers on the test database; every one is stopped when the test ends."""
    from tests.conftest import database_url

    servers: list[Server] = []

    def make(url: str | None = None, workers: int = 2) -> Server:
        folder = tmp_path / f"server-{len(servers)}"
        folder.mkdir()
        server = Server(folder, url or database_url(tmp_path / "reader"), workers)
        servers.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()
