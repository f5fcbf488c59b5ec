"""Production hosts for the tests: `catalogue serve --production` started, probed and stopped as a supervisor would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-production-secret-" + "k" * 40


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def production_env(url: str, folder: Path, **extra: str) -> dict[str, str]:
    """The environment of one production host: its own instance folder and index, the shared database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CATALOGUE_")}
    env.update(
        CATALOGUE_DATABASE_URL=url,
        CATALOGUE_INSTANCE_PATH=str(folder),
        CATALOGUE_SECRET_KEY=SECRET,
        CATALOGUE_INDEX_DIR=str(folder / "index"),
        **extra,
    )
    if url.startswith("sqlite"):
        env["CATALOGUE_ALLOW_SQLITE"] = "1"
    return env


def start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`catalogue serve --production` on 127.0.0.1:port, its output in log."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "catalogue.cli", "serve", "--production", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_healthy(server: subprocess.Popen[bytes], port: int, log: Path, seconds: float = 90) -> float:
    """Seconds until /healthz answers 200 (fails with the server's output if it never does)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no answer on port {port}:\n{log.read_text()}")


def stop(server: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as a supervisor stops it; the exit code."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
    try:
        return server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        raise
