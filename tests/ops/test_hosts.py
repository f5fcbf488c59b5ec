"""Several hosts on one PostgreSQL: what is written through one is found by search through the other,
in the first request, though each keeps its own index."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import DATA
from tests.ops.hosts import ROOT, free_port, production_env, start, stop, wait_healthy


def _call(port: int, method: str, path: str, token: str, body: str | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=body.encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.load(response)


def _descriptor(slug: str, name: str) -> str:
    content = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    content["id"], content["definition"]["name"] = slug, name
    return yaml.safe_dump(content)


def _search(port: int, token: str, q: str) -> list[str]:
    status, body = _call(port, "GET", f"/api/v1/search?q={q}", token)
    assert status == 200
    return [hit["id"] for hit in body["hits"]]


@pytest.mark.enable_socket
def test_two_hosts_on_one_postgresql_find_each_others_writes(empty_url: str, tmp_path: Path) -> None:
    if empty_url.startswith("sqlite"):
        pytest.skip("several hosts share one PostgreSQL database: set CATALOGUE_DATABASE_URL to one to run this")
    hosts = {}
    for name in ("a", "b"):
        port, log = free_port(), tmp_path / f"{name}.log"
        env = production_env(empty_url, tmp_path / name, CATALOGUE_WORKERS="1")
        hosts[name] = (port, log, env, start(env, port, log))  # both at once: they migrate one after the other
    try:
        for port, log, _env, server in hosts.values():
            wait_healthy(server, port, log)
        migrated = [log.read_text().splitlines()[0] for _port, log, _env, _server in hosts.values()]
        assert sorted(line.endswith("(was empty)") for line in migrated) == [False, True], migrated

        port_a, _log, env_a, _server = hosts["a"]
        port_b = hosts["b"][0]
        created = subprocess.run(
            [sys.executable, "-m", "catalogue.cli", "create-user", "--email", "hosts@istat.example", "--org", "ISTAT"],
            check=False,
            cwd=ROOT,
            env=env_a,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip().splitlines()[-1]
        # Both indexes are built and caught up before the writes.
        assert _search(port_a, token, "numbat") == [] and _search(port_b, token, "numbat") == []

        status, _body = _call(
            port_a, "POST", "/api/v1/services", token, _descriptor("numbat-linkage", "Numbat record linkage")
        )
        assert status == 201
        assert _search(port_b, token, "numbat") == ["numbat-linkage"]  # the first request through b finds it

        status, _body = _call(
            port_b, "POST", "/api/v1/services", token, _descriptor("quoll-editing", "Quoll data editing")
        )
        assert status == 201
        assert _search(port_a, token, "quoll") == ["quoll-editing"]
        assert (tmp_path / "a" / "index" / "CURRENT").is_file() and (tmp_path / "b" / "index" / "CURRENT").is_file()
    finally:
        codes = [stop(server) for _port, _log, _env, server in hosts.values()]
    assert codes == [0, 0]
