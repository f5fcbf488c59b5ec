"""`catalogue serve --production`: gunicorn with the package's configuration, JSON logs, and the refusals."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from catalogue import migrations
from catalogue.cli import main
from tests.ops.hosts import (
    ROOT,
    SECRET,
    free_port,
    production_env,
    start,
    stop,
    wait_healthy,
)


@pytest.mark.enable_socket
def test_serve_production_runs_gunicorn_with_its_workers_and_json_logs(empty_url: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    server = start(production_env(empty_url, tmp_path / "host", CATALOGUE_WORKERS="2"), port, log)
    try:
        wait_healthy(server, port, log)
        # exec, not a child: the process we started is gunicorn's master, with the workers asked for.
        assert "gunicorn" in " ".join(psutil.Process(server.pid).cmdline())
        assert len(psutil.Process(server.pid).children()) == 2
        request = urllib.request.Request(f"http://127.0.0.1:{port}/readyz", headers={"X-Request-ID": "deploy-check-1"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200 and json.load(response)["status"] == "ready"
            assert response.headers["X-Request-ID"] == "deploy-check-1"
            assert response.headers["Strict-Transport-Security"]  # production mode reached the workers
    finally:
        assert stop(server) == 0
    output = log.read_text().splitlines()
    assert output[0] == f"Database at revision {migrations.head()} (was empty)"  # the first start migrated
    logged = [json.loads(line) for line in output if line.startswith("{")]
    assert len(logged) == len(output) - 2  # besides the two lines before gunicorn starts, only JSON
    access = [
        line for line in logged if line["request_id"] == "deploy-check-1" and line["logger"] == "catalogue.request"
    ]
    assert [(line["path"], line["status"]) for line in access] == [("/readyz", 200)]
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in logged)


def test_production_refuses_to_start_without_a_secret_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CATALOGUE_ENV", "development")  # restored afterwards: serve --production sets it
    monkeypatch.setenv("CATALOGUE_DATABASE_URL", "postgresql+psycopg://catalogue@db.invalid/catalogue")
    monkeypatch.setenv("CATALOGUE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("CATALOGUE_SECRET_KEY", raising=False)
    result = CliRunner().invoke(main, ["serve", "--production"])
    assert result.exit_code == 1
    assert "CATALOGUE_SECRET_KEY must be set in production" in result.output
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_sqlite_unless_allowed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CATALOGUE_ENV", "development")
    monkeypatch.setenv("CATALOGUE_DATABASE_URL", f"sqlite:///{tmp_path / 'one-host.sqlite3'}")
    monkeypatch.setenv("CATALOGUE_SECRET_KEY", SECRET)
    monkeypatch.delenv("CATALOGUE_ALLOW_SQLITE", raising=False)
    result = CliRunner().invoke(main, ["serve", "--production"])
    assert result.exit_code == 1
    assert "CATALOGUE_DATABASE_URL must point at PostgreSQL in production" in result.output
    assert "CATALOGUE_ALLOW_SQLITE=1" in result.output
    assert not (tmp_path / "one-host.sqlite3").exists()  # refused before anything was made


def test_gunicorn_alone_refuses_an_unmigrated_database(empty_url: str, tmp_path: Path) -> None:
    """Who runs gunicorn with our configuration but skips `catalogue migrate` is told to run it."""
    env = production_env(empty_url, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "python:catalogue.gunicorn_conf", "--bind", "127.0.0.1:0"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "never migrated" in done.stderr and "run `catalogue migrate`" in done.stderr
