"""Slow clients cannot freeze the production server: connections that trickle their headers hold one
thread each, while every other request keeps answering (issue 16, item 4)."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.ops.hosts import free_port, production_env, start, stop, wait_healthy

SLOW_CLIENTS = 6  # three times the workers: with sync workers two were enough to block everything
TRICKLE_SECONDS = 2.0  # one header line per client this often
HOLD_SECONDS = 12.0
ANSWER_BOUND = 3.0  # seconds an ordinary request may take meanwhile, on a loaded test machine


def _trickle(port: int, stop_at: float, opened: list[socket.socket]) -> None:
    """Open a connection and send a header line every TRICKLE_SECONDS, never finishing the request."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    opened.append(sock)
    sock.sendall(b"GET /api/v1/services HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    n = 0
    while time.monotonic() < stop_at:
        time.sleep(TRICKLE_SECONDS)
        n += 1
        try:
            sock.sendall(f"X-Slow-{n}: still coming\r\n".encode())
        except OSError:
            return  # the server gave up on this client: allowed, and only better


@pytest.mark.enable_socket
def test_ordinary_requests_answer_while_slow_clients_trickle_headers(empty_url: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    server = start(production_env(empty_url, tmp_path / "host", CATALOGUE_WORKERS="2"), port, log)
    opened: list[socket.socket] = []
    try:
        wait_healthy(server, port, log)
        stop_at = time.monotonic() + HOLD_SECONDS
        slow = [
            threading.Thread(target=_trickle, args=(port, stop_at, opened), daemon=True) for _ in range(SLOW_CLIENTS)
        ]
        for thread in slow:
            thread.start()
        time.sleep(1.0)  # every slow client has connected and sent its first lines
        assert len(opened) == SLOW_CLIENTS
        timings = []
        while time.monotonic() < stop_at - 1.0:
            for path in ("/healthz", "/api/v1/services?per_page=1", "/readyz"):
                started = time.monotonic()
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=ANSWER_BOUND) as answer:
                    assert answer.status == 200
                timings.append(time.monotonic() - started)
            time.sleep(0.2)
        print(f"{len(timings)} ordinary requests beside {SLOW_CLIENTS} slow clients: slowest {max(timings):.2f} s")
        assert len(timings) >= 15 and max(timings) < ANSWER_BOUND
        for thread in slow:
            thread.join(timeout=HOLD_SECONDS)
    finally:
        for sock in opened:
            sock.close()
        assert stop(server) == 0
