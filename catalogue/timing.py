"""Where a request's time went, for the Server-Timing header (W3C Server Timing): named parts of the work,
each timed where it happens (validation, the database transaction, queueing mails), summed per request.

Outside a request nothing is kept, so commands and background threads time nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import g, has_request_context

_KEY = "server_timing"


@contextmanager
def timed(name: str) -> Iterator[None]:
    """Add the time the block takes to the request's part called name."""
    if not has_request_context():
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        parts: dict[str, float] = g.setdefault(_KEY, {})
        parts[name] = parts.get(name, 0.0) + (time.perf_counter() - started) * 1000


def parts() -> dict[str, float]:
    """The request's timed parts so far, in milliseconds, in the order they were first timed."""
    if not has_request_context():
        return {}
    return dict(g.get(_KEY, {}))


def header(total_ms: float) -> str | None:
    """The Server-Timing header of the request: its parts and its total, or None when nothing was timed."""
    found = parts()
    if not found:
        return None
    return ", ".join(f"{name};dur={ms:.1f}" for name, ms in [*found.items(), ("total", total_ms)])
