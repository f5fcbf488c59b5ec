"""The `catalogue` command, run as a user runs it (a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, drop_tables

CATALOGUE = [sys.executable, "-m", "catalogue.cli"]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CATALOGUE_INSTANCE_PATH": str(cwd / "instance"), **(env or {})}
    return subprocess.run([*CATALOGUE, *args], check=False, cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=120, input=input)


def test_validate_valid_file_exits_0(tmp_path):
    result = run("validate", str(DATA / "good.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid, 0 warning(s)" in result.stdout


def test_validate_reports_every_error_with_file_line_and_pointer(tmp_path, good_text):
    bad = tmp_path / "bad.yaml"
    bad.write_text(good_text.replace('gsbpm: ["5.1"]', 'gsbpm: ["5.1", "4.8"]').replace("EUPL-1.2", "EUPL"))
    result = run("validate", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{bad}:7: error: /definition/gsbpm/1: '4.8' is not a GSBPM 5.1 sub-process [reference]" in result.stdout
    assert f"{bad}:34: error: /implementation/licence:" in result.stdout
    assert "Traceback" not in result.stderr


def test_validate_json_format_one_and_several(tmp_path, good_text):
    bad = tmp_path / "bad.json"
    bad.write_text('{"cspa": "2.0"}')
    one = json.loads(run("validate", "--format", "json", str(bad), cwd=tmp_path).stdout)
    assert one["valid"] is False and "file" not in one
    assert {e["pointer"] for e in one["errors"]} == {""}
    several = run("validate", "--format", "json", str(DATA / "good.yaml"), str(bad), cwd=tmp_path)
    body = json.loads(several.stdout)
    assert several.returncode == 1
    assert [(r["file"], r["valid"]) for r in body] == [(str(DATA / "good.yaml"), True), (str(bad), False)]


def test_validate_unreadable_exits_2_without_traceback(tmp_path):
    result = run("validate", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot read the file" in result.stdout
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(b"a: [1, 2\n\xff")
    result = run("validate", str(garbage), cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "UTF-8" in result.stdout


def test_create_user_then_export(tmp_path):
    env = {}
    if os.environ.get("CATALOGUE_DATABASE_URL"):
        env["CATALOGUE_DATABASE_URL"] = os.environ["CATALOGUE_DATABASE_URL"]
    else:
        env["CATALOGUE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    created = run("create-user", "--email", "cli@istat.example", "--org", "istat", cwd=tmp_path, env=env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("cspa_") and len(token) > 40
    again = run("create-user", "--email", "cli@istat.example", "--org", "istat", cwd=tmp_path, env=env)
    assert again.returncode == 1 and "exists already" in again.stderr
    exported = run("export", cwd=tmp_path, env=env)
    assert json.loads(exported.stdout) == {"services": []}
    if os.environ.get("CATALOGUE_DATABASE_URL"):
        drop_tables(env["CATALOGUE_DATABASE_URL"])


def test_admin_commands_make_an_account_that_can_sign_in(tmp_path):
    url = os.environ.get("CATALOGUE_DATABASE_URL") or f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {"CATALOGUE_DATABASE_URL": url}
    try:
        made = run("create-organisation", "--code", "insee", "--name", "INSEE", "--country", "FR", cwd=tmp_path, env=env)
        assert made.returncode == 0 and "INSEE" in made.stdout, made.stderr
        assert run("create-organisation", "--code", "INSEE", "--name", "x", cwd=tmp_path, env=env).returncode == 1
        short = run("create-user", "--email", "r@insee.example", "--org", "INSEE", "--role", "reviewer", "--password",
                    cwd=tmp_path, env=env, input="short\nshort\n")
        assert short.returncode == 1 and "at least 12 characters" in short.stderr
        created = run("create-user", "--email", "r@insee.example", "--org", "INSEE", "--role", "reviewer", "--password",
                      cwd=tmp_path, env=env, input="first long password\nfirst long password\n")
        assert created.returncode == 0, created.stderr
        changed = run("set-password", "--email", "r@insee.example", cwd=tmp_path, env=env,
                      input="second long password\nsecond long password\n")
        assert changed.returncode == 0, changed.stderr
        assert run("set-password", "--email", "nobody@insee.example", cwd=tmp_path, env=env,
                   input="second long password\nsecond long password\n").returncode == 1
        from catalogue import create_app, exceptions
        from catalogue.auth import accounts
        from catalogue.config import Config
        from catalogue.db import database_of, db

        app = create_app(Config(instance_path=tmp_path / "instance", database_url=url, index_dir=tmp_path / "index"))
        with app.app_context(), db.transaction() as session:
            user = accounts.authenticate_password(session, "r@insee.example", "second long password")
            assert (user.role, user.organisation.code, user.organisation.country) == ("reviewer", "INSEE", "FR")
            with pytest.raises(exceptions.Unauthenticated):
                accounts.authenticate_password(session, "r@insee.example", "first long password")
        database_of(app).engine.dispose()
    finally:
        if os.environ.get("CATALOGUE_DATABASE_URL"):
            drop_tables(url)
