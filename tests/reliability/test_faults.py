"""Faults under load: a worker or the whole server killed mid-write, the database briefly away.

Whatever the catalogue answered 201 must survive, and the search index must end up listing exactly what
the database holds, without anyone repairing it by hand.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy.engine import make_url

from tests.conftest import database_url
from tests.reliability.conftest import (
    BIN,
    REQUEST_TIMEOUT,
    ROOT,
    Server,
    Tally,
    assert_nothing_lost,
    descriptor_text,
    free_port,
    run_clients,
)

pytestmark = [pytest.mark.reliability, pytest.mark.enable_socket, pytest.mark.timeout(240)]

ON_POSTGRESQL = not database_url(Path(".")).startswith("sqlite")


def _stop_clients(stop: threading.Event, threads: list[threading.Thread]) -> None:
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a client is still waiting for an answer"


def _wait_for_workers(server: Server, count: int, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = server.worker_pids()
        if len(pids) == count:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"gunicorn has {server.worker_pids()} workers, not {count}:\n{server.log_tail()}")


def test_a_worker_killed_mid_submission_loses_nothing(make_server: Callable[..., Server], catalogue_app: Flask) -> None:
    server = make_server()
    token = server.create_submitter()
    tally, stop = Tally(), threading.Event()
    threads = run_clients(server, token, "kill", tally, stop, clients=8)
    killed: list[int] = []
    try:
        for _ in range(2):
            time.sleep(3)
            victim = _wait_for_workers(server, 2)[0]
            os.kill(victim, signal.SIGKILL)  # whatever it was doing: a commit, an index write, a search
            killed.append(victim)
        time.sleep(3)
    finally:
        _stop_clients(stop, threads)
    survivors = _wait_for_workers(server, 2)
    assert not set(killed) & set(survivors), "gunicorn did not replace the killed workers"
    print(
        f"\nworkers {killed} killed: {len(tally.accepted)} accepted, {tally.connection_errors} requests cut off, "
        f"statuses {dict(sorted(tally.statuses.items()))}"
    )
    assert not tally.server_errors, tally.server_error_report(server)
    assert len(tally.accepted) >= 8, tally.statuses
    assert_nothing_lost(server, catalogue_app, token, tally)


def test_the_server_killed_during_a_reindex_loses_nothing(
    make_server: Callable[..., Server], catalogue_app: Flask
) -> None:
    server = make_server()
    token = server.create_submitter()
    tally, stop = Tally(), threading.Event()
    threads = run_clients(server, token, "crash", tally, stop, clients=8)
    index_dir = server.folder / "index"
    reindex: subprocess.Popen[bytes] | None = None
    try:
        time.sleep(4)
        before = set(index_dir.glob("gen-*"))
        reindex = subprocess.Popen(
            [str(BIN / "catalogue"), "reindex"],
            cwd=ROOT,
            env=server.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not set(index_dir.glob("gen-*")) - before and reindex.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        # The new generation's folder exists: the rebuild is under way. Pull the plug on everything.
        reindex.send_signal(signal.SIGKILL)
        server.kill_all()
        reindex.wait(timeout=30)
        building = set(index_dir.glob("gen-*")) - before
        current = (index_dir / "CURRENT").read_text("utf-8").strip()
        assert building and all(folder.name != current for folder in building), (
            "the reindex was not caught in the middle of building (it finished or never started)"
        )
        accepted_before_crash = len(tally.accepted)
        time.sleep(1)
        server.start()
        time.sleep(3)
    finally:
        if reindex is not None and reindex.poll() is None:
            reindex.kill()
        _stop_clients(stop, threads)
    print(
        f"\nkilled during a reindex: {accepted_before_crash} accepted before, {len(tally.accepted)} in all, "
        f"{tally.connection_errors} requests refused while down, statuses {dict(sorted(tally.statuses.items()))}"
    )
    assert not tally.server_errors, tally.server_error_report(server)
    assert len(tally.accepted) > accepted_before_crash, "nothing was accepted after the restart"
    # The index heals by itself (each search catches up from the events table) ...
    assert_nothing_lost(server, catalogue_app, token, tally)
    # ... and a reindex run to the end afterwards, despite the half-built generation left behind, agrees.
    server.cli("reindex")
    assert_nothing_lost(server, catalogue_app, token, tally)


class TcpProxy:
    """Forwards a loopback port to the database; stop() cuts every connection and refuses new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Listen again (on the same port) and forward every new connection."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Close the port and every forwarded connection, as a database crash or a network cut would."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    url = make_url(database_url(Path(".")))
    forwarder = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    forwarder.start()
    try:
        yield forwarder
    finally:
        forwarder.stop()


def _submit(http: requests.Session, server: Server, slug: str) -> requests.Response:
    return http.post(
        server.base + "/api/v1/services",
        data=descriptor_text(slug, f"Outage {slug}"),
        headers={"Content-Type": "application/yaml"},
        timeout=REQUEST_TIMEOUT,
    )


@pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="a network path to the database exists only with PostgreSQL "
    "(set CATALOGUE_DATABASE_URL); SQLite's lock is covered by the test below",
)
def test_the_database_briefly_unreachable_gives_503_then_recovers_without_restart(
    make_server: Callable[..., Server], catalogue_app: Flask, proxy: TcpProxy
) -> None:
    url = make_url(database_url(Path("."))).set(host="127.0.0.1", port=proxy.port)
    server = make_server(url.render_as_string(hide_password=False))
    token = server.create_submitter()
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    tally = Tally()
    assert _submit(http, server, "before-outage").status_code == 201
    tally.accepted.add("before-outage")

    proxy.stop()
    outage = {
        "read": lambda: http.get(server.base + "/api/v1/services/before-outage", timeout=REQUEST_TIMEOUT),
        "list": lambda: http.get(server.base + "/api/v1/services", timeout=REQUEST_TIMEOUT),
        "submit": lambda: _submit(http, server, "during-outage"),
        "search": lambda: http.get(server.base + "/api/v1/search", params={"q": "outage"}, timeout=REQUEST_TIMEOUT),
    }
    for _round in range(2):  # every worker has met the outage by the second round
        for name, call in outage.items():
            started = time.monotonic()
            response = call()
            assert time.monotonic() - started < 15, f"{name} took too long to give up"
            assert response.status_code == 503, (name, response.status_code, response.text[:300])
            assert response.headers["Content-Type"].startswith("application/problem+json"), name
            assert response.json()["status"] == 503 and response.headers["Retry-After"], name
    page = requests.get(
        server.base + "/services/before-outage", headers={"Accept": "text/html"}, timeout=REQUEST_TIMEOUT
    )
    assert page.status_code == 503, page.text[:300]

    proxy.start()
    deadline = time.monotonic() + 30
    while (status := outage["list"]().status_code) != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == 200, "the catalogue did not recover once the database was back"
    for slug in ("after-outage-1", "after-outage-2"):
        assert _submit(http, server, slug).status_code == 201
        tally.accepted.add(slug)
    assert_nothing_lost(server, catalogue_app, token, tally)
    assert "during-outage" not in {hit["id"] for hit in outage["search"]().json()["hits"]}


@pytest.mark.skipif(ON_POSTGRESQL, reason="the SQLite write lock; PostgreSQL's outage is the test above")
def test_a_briefly_locked_sqlite_database_delays_writes_without_failing_them(
    make_server: Callable[..., Server], catalogue_app: Flask
) -> None:
    # SQLite has no connection to cut, and making the file unreadable means nothing to a process that has it
    # open (or to root); what does happen is another process holding the write lock (a backup, a CLI import).
    server = make_server()
    token = server.create_submitter()
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    tally = Tally()
    path = make_url(server.database_url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None, timeout=30)
    answers: dict[str, requests.Response] = {}
    writer = threading.Thread(target=lambda: answers.setdefault("submit", _submit(http, server, "while-locked")))
    try:
        holder.execute("BEGIN IMMEDIATE")  # the write lock, as `catalogue import` or a backup holds it
        writer.start()
        time.sleep(3)
        assert writer.is_alive(), f"the write did not wait for the lock: {answers['submit'].status_code}"
        # Readers are not blocked (WAL): a page and an API read answer meanwhile.
        assert http.get(server.base + "/api/v1/services", timeout=REQUEST_TIMEOUT).status_code == 200
    finally:
        holder.rollback()
        holder.close()
    writer.join(timeout=60)
    assert answers["submit"].status_code == 201, answers["submit"].text[:300]
    tally.accepted.add("while-locked")
    assert_nothing_lost(server, catalogue_app, token, tally)
