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


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CATALOGUE_INSTANCE_PATH": str(cwd / "instance"), **(env or {})}
    return subprocess.run(
        [*CATALOGUE, *args],
        check=False,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        input=input,
    )


def test_validate_valid_file_exits_0(tmp_path):
    result = run("validate", str(DATA / "good.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid, 0 warnings" in result.stdout


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
        made = run(
            "create-organisation", "--code", "insee", "--name", "INSEE", "--country", "FR", cwd=tmp_path, env=env
        )
        assert made.returncode == 0 and "INSEE" in made.stdout, made.stderr
        assert run("create-organisation", "--code", "INSEE", "--name", "x", cwd=tmp_path, env=env).returncode == 1
        short = run(
            "create-user",
            "--email",
            "r@insee.example",
            "--org",
            "INSEE",
            "--role",
            "reviewer",
            "--password",
            cwd=tmp_path,
            env=env,
            input="short\nshort\n",
        )
        assert short.returncode == 1 and "at least 12 characters" in short.stderr
        created = run(
            "create-user",
            "--email",
            "r@insee.example",
            "--org",
            "INSEE",
            "--role",
            "reviewer",
            "--password",
            cwd=tmp_path,
            env=env,
            input="first long password\nfirst long password\n",
        )
        assert created.returncode == 0, created.stderr
        changed = run(
            "set-password",
            "--email",
            "r@insee.example",
            cwd=tmp_path,
            env=env,
            input="second long password\nsecond long password\n",
        )
        assert changed.returncode == 0, changed.stderr
        assert (
            run(
                "set-password",
                "--email",
                "nobody@insee.example",
                cwd=tmp_path,
                env=env,
                input="second long password\nsecond long password\n",
            ).returncode
            == 1
        )
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


# The command line is ours: its version, its commands, and which catalogue each command touches.


def run_on_the_default(*args: str, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run as a user who set nothing: the catalogue is the default one, ./instance under cwd."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CATALOGUE_")}
    return subprocess.run(
        [*CATALOGUE, *args],
        check=False,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        input=input,
    )


def test_version_is_the_catalogue_s_own(tmp_path):
    from importlib.metadata import version

    result = run_on_the_default("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"catalogue {version('cspa-catalogue')}"
    assert "Flask" not in result.stdout and "Python" not in result.stdout


def test_help_lists_only_our_commands(tmp_path):
    from catalogue.cli import main

    result = run_on_the_default("--help", cwd=tmp_path)
    assert result.returncode == 0
    listed = result.stdout.split("Commands:")[1].split()
    ours = {
        "init",
        "migrate",
        "seed",
        "serve",
        "reindex",
        "validate",
        "assess",
        "upgrade",
        "create-user",
        "set-password",
        "create-organisation",
        "invite",
        "notify",
        "export",
        "scaffold",
        "import",
    }
    assert set(main.commands) == ours
    assert ours <= set(listed)
    for flask_own in ("routes", "shell", "run", "--app", "--env-file"):
        assert flask_own not in result.stdout
    assert not (tmp_path / "instance").exists()  # asking for help builds no app and writes nothing


def test_the_database_line_masks_a_password():
    from catalogue.cli import _masked, _where
    from catalogue.config import Config

    config = Config(
        instance_path=Path("instance"),
        index_dir=Path("/srv/index"),
        database_url="postgresql+psycopg://catalogue:s3cret-pass@db.example:5432/catalogue",
    )
    line = _where(config)
    assert "s3cret-pass" not in line and "s3cret-pass" not in _masked(config.database_url)
    assert (
        line
        == "Catalogue database: postgresql+psycopg://catalogue:***@db.example:5432/catalogue; search index: /srv/index"
    )


# Each command that reads or writes the catalogue, with the arguments it needs.
DATA_COMMANDS = {
    "seed": [],
    "reindex": [],
    "export": [],
    "import": ["."],
    "create-organisation": ["--code", "INSEE", "--name", "INSEE"],
    "create-user": ["--email", "someone@istat.example", "--org", "ISTAT"],
    "set-password": ["--email", "someone@istat.example"],
}


@pytest.mark.parametrize("command", DATA_COMMANDS)
def test_a_data_command_refuses_to_make_a_new_catalogue_by_accident(tmp_path, command):
    result = run_on_the_default(command, *DATA_COMMANDS[command], cwd=tmp_path, input="a long enough pass\n" * 2)
    assert result.returncode == 1, result.stdout + result.stderr
    missing = tmp_path / "instance" / "catalogue.sqlite3"
    assert f"Error: there is no catalogue at {missing}" in result.stderr
    assert "CATALOGUE_INSTANCE_PATH" in result.stderr and "--init" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "instance").exists()  # nothing made: not the database, not the secret key


def test_init_option_makes_the_catalogue_and_says_where(tmp_path):
    made = run_on_the_default("create-organisation", "--init", "--code", "insee", "--name", "INSEE", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    database = tmp_path / "instance" / "catalogue.sqlite3"
    assert f"Creating a new catalogue at {database}" in made.stderr
    assert f"Catalogue database: sqlite:///{database}; search index: {tmp_path / 'instance' / 'index'}" in made.stderr
    assert made.stdout == "Created organisation INSEE.\n"
    # Now there is one: the next command uses it without --init, and says which one it uses.
    exported = run_on_the_default("export", "--format", "json", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr.splitlines() == [
        f"Catalogue database: sqlite:///{database}; search index: {tmp_path / 'instance' / 'index'}"
    ]
    assert json.loads(exported.stdout)["services"] == []


def test_init_command_makes_the_default_catalogue(tmp_path):
    result = run_on_the_default("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    database = tmp_path / "instance" / "catalogue.sqlite3"
    assert database.is_file()
    assert result.stderr.splitlines() == [
        f"Creating a new catalogue at {database}",
        f"Catalogue database: sqlite:///{database}; search index: {database.parent / 'index'}",
    ]
    assert result.stdout.startswith("Database ready, at revision")


def test_an_explicit_instance_path_is_consent_to_make_one(tmp_path):
    instance = tmp_path / "elsewhere"
    result = run(
        "create-organisation",
        "--code",
        "insee",
        "--name",
        "INSEE",
        cwd=tmp_path,
        env={"CATALOGUE_INSTANCE_PATH": str(instance), "CATALOGUE_DATABASE_URL": f"sqlite:///{instance / 'c.sqlite3'}"},
    )
    assert result.returncode == 0, result.stderr
    assert f"Creating a new catalogue at {instance / 'c.sqlite3'}" in result.stderr


def test_migrate_says_which_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    result = run("migrate", cwd=tmp_path, env={"CATALOGUE_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"Creating a new catalogue at {tmp_path / 'migrated.sqlite3'}",
        f"Catalogue database: {url}",
    ]


def test_serve_on_the_default_makes_the_catalogue_and_says_so(tmp_path):
    """The README's first command, with nothing set: it must not ask for --init."""
    import time

    environment = {k: v for k, v in os.environ.items() if not k.startswith("CATALOGUE_")}
    log = tmp_path / "serve.log"
    with (
        log.open("w") as out,
        subprocess.Popen(
            [*CATALOGUE, "serve", "--port", "0"], cwd=tmp_path, env=environment, stdout=out, stderr=subprocess.STDOUT
        ) as server,
    ):
        try:
            deadline = time.monotonic() + 120
            while (
                "Serving the catalogue" not in log.read_text() and server.poll() is None and time.monotonic() < deadline
            ):
                time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=20)
    printed = log.read_text()
    database = tmp_path / "instance" / "catalogue.sqlite3"
    assert f"Creating a new catalogue at {database}\n" in printed, printed
    assert f"Catalogue database: sqlite:///{database}; search index: {database.parent / 'index'}\n" in printed
    assert "seed services loaded" in printed and "Serving the catalogue" in printed
