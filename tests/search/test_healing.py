"""A damaged search index heals without a restart (issue 16, item 12): after its files are overwritten on a
running host, the next search or readiness probe notices, the index is rebuilt from the database, and
/readyz says not ready for as long as it cannot be searched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from catalogue.auth import actors
from catalogue.db import db
from catalogue.search import follower_of, readers
from catalogue.services import descriptors, workflow
from tests.conftest import DATA, app_on_empty_database

GOOD = (DATA / "good.yaml").read_text("utf-8")


@pytest.fixture
def indexed(tmp_path: Path) -> Iterator[Flask]:
    with app_on_empty_database(tmp_path) as app:
        with app.app_context():
            for n in range(3):
                text = GOOD.replace("id: demo-linkage", f"id: healing-{n}")
                with db.transaction() as session:
                    workflow.submit_version(session, actors.SYSTEM, descriptors.parse(text), "yaml", "approved")
        assert follower_of(app).idle()  # the index written whole before a test damages it
        yield app


def _generation(app: Flask) -> Path:
    index_dir = app.config["CATALOGUE"].index_dir
    return Path(index_dir) / (Path(index_dir) / "CURRENT").read_text("utf-8").strip()


def _overwrite(folder: Path) -> None:
    """Overwrite every file of the index in place, as a careless copy or a failing disk would."""
    for path in folder.iterdir():
        if path.is_file() and path.stat().st_size:
            with path.open("r+b") as handle:
                handle.write(os.urandom(path.stat().st_size))


@pytest.mark.parametrize("small_in_memory", [False, True], ids=["read-from-files", "small-segments-in-memory"])
def test_searches_heal_after_the_index_files_are_overwritten(
    indexed: Flask, monkeypatch: pytest.MonkeyPatch, small_in_memory: bool
) -> None:
    if not small_in_memory:  # as segments too big to be kept in memory are read: from their files
        monkeypatch.setattr(readers, "READ_WHOLE", 0)
        indexed.extensions["catalogue.search"].index.close()  # opened again, from the files
    client = indexed.test_client()
    assert client.get("/api/v1/search?q=linkage").json["total"] == 3
    damaged = _generation(indexed)
    _overwrite(damaged)
    # Different words each time: an answer cached before the damage proves nothing.
    for n, words in enumerate(("record linkage", "linkage", "probabilistic", "linkage demo")):
        answer = client.get(f"/api/v1/search?q={words}")
        assert answer.status_code == 200, (n, answer.get_data(as_text=True)[:300])
    assert client.get("/api/v1/search?q=linkage&per_page=7").json["total"] == 3
    assert client.get("/search?q=units").status_code == 200
    if small_in_memory:
        # The segments read into memory when they were opened answered, rightly, as before the damage; the
        # readiness probe reads the files as they are now, and notices.
        assert _generation(indexed) == damaged
        assert client.get("/readyz").status_code == 200
    assert _generation(indexed) != damaged  # rebuilt from the database, not patched
    assert client.get("/api/v1/search?q=linkage&per_page=6").json["total"] == 3


def test_readiness_notices_a_damaged_index_and_heals_it(indexed: Flask) -> None:
    client = indexed.test_client()
    assert client.get("/readyz").status_code == 200
    damaged = _generation(indexed)
    _overwrite(damaged)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert _generation(indexed) != damaged
    assert client.get("/api/v1/search?q=linkage&per_page=8").json["total"] == 3


def test_readiness_says_not_ready_while_the_index_cannot_be_rebuilt(indexed: Flask) -> None:
    client = indexed.test_client()
    assert client.get("/readyz").status_code == 200
    _overwrite(_generation(indexed))
    # The rebuild's last step writes a pointer file named after the process: a folder in its place stops it.
    obstacle = Path(indexed.config["CATALOGUE"].index_dir) / f".CURRENT.{os.getpid()}"
    obstacle.mkdir()
    try:
        for _ in range(2):
            unready = client.get("/readyz")
            assert unready.status_code == 503, unready.json
            assert unready.json["checks"]["index"]["ready"] is False
    finally:
        obstacle.rmdir()
    assert client.get("/readyz").status_code == 200
    assert client.get("/api/v1/search?q=linkage&per_page=9").json["total"] == 3
