"""Eight clients submitting and searching at once through gunicorn: no 5xx, and nothing accepted is lost."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest
from flask import Flask

from tests.reliability.conftest import Server, Tally, assert_nothing_lost, run_clients

pytestmark = [pytest.mark.reliability, pytest.mark.enable_socket, pytest.mark.timeout(240)]

# Long enough for hundreds of concurrent writes and index syncs; CATALOGUE_LOAD_SECONDS lengthens a soak run.
LOAD_SECONDS = float(os.environ.get("CATALOGUE_LOAD_SECONDS", "20"))


def test_eight_clients_submitting_and_searching_lose_nothing(
    make_server: Callable[..., Server], catalogue_app: Flask
) -> None:
    server = make_server()
    token = server.create_submitter()
    tally, stop = Tally(), threading.Event()
    threads = run_clients(server, token, "load", tally, stop, clients=8)
    try:
        time.sleep(LOAD_SECONDS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a client is still waiting for an answer"
    print(
        f"\n{LOAD_SECONDS:.0f} s, 8 clients: {len(tally.accepted)} submissions accepted, {tally.searches} searches, "
        f"statuses {dict(sorted(tally.statuses.items()))}"
    )

    assert not tally.server_errors, tally.server_error_report(server)
    assert tally.connection_errors == 0, f"{tally.connection_errors} requests failed to connect:\n{server.log_tail()}"
    # Enough work was done for the figures to mean something (a stalled server would accept a handful).
    assert len(tally.accepted) >= 8, f"only {len(tally.accepted)} submissions accepted: {tally.statuses}"
    assert tally.searches >= 8, tally.statuses
    assert set(tally.statuses) <= {200, 201}, tally.statuses
    assert_nothing_lost(server, catalogue_app, token, tally)
