"""The secret key comes from the environment; development keeps one in the instance folder;
production refuses to start without it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from catalogue import create_app
from catalogue.config import Config, MissingSecret


def _config(folder: Path, **settings: str) -> Config:
    return Config(
        instance_path=folder / "instance",
        database_url=f"sqlite:///{folder / 'db.sqlite3'}",
        index_dir=folder / "index",
        **settings,  # type: ignore[arg-type]
    )


def test_the_environment_gives_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CATALOGUE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CATALOGUE_SECRET_KEY", "from-the-environment-" + "x" * 32)
    monkeypatch.setenv("CATALOGUE_ENV", "production")
    monkeypatch.setenv("CATALOGUE_ALLOW_SQLITE", "1")  # this test is about the key, not the database
    config = Config.from_env()
    assert config.secret_key.startswith("from-the-environment-")
    app = create_app(config)
    assert app.config["SECRET_KEY"] == config.secret_key
    assert not (tmp_path / "instance" / "secret_key").exists()  # nothing written when the key is given


def test_development_keeps_one_key_across_restarts(tmp_path: Path) -> None:
    first = create_app(_config(tmp_path)).config["SECRET_KEY"]
    second = create_app(_config(tmp_path)).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    path = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = create_app(_config(tmp_path / "elsewhere")).config["SECRET_KEY"]
    assert other != first  # generated, not a constant


def test_production_refuses_to_start_without_a_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CATALOGUE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("CATALOGUE_SECRET_KEY", raising=False)
    monkeypatch.setenv("CATALOGUE_ENV", "production")
    with pytest.raises(MissingSecret, match="CATALOGUE_SECRET_KEY must be set in production"):
        create_app()
    assert not (tmp_path / "instance" / "secret_key").exists()  # no key quietly generated either


def test_production_ignores_a_key_left_in_the_instance_folder(tmp_path: Path) -> None:
    create_app(_config(tmp_path))  # development leaves a key file behind
    with pytest.raises(MissingSecret):
        create_app(_config(tmp_path, environment="production"))
