"""The index never drifts from the database: other processes' writes, lost or corrupt indexes, parallel writers."""

from __future__ import annotations

import gc
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from whoosh import fields, index
from whoosh.query import Term

from catalogue.auth import actors
from catalogue.cli import main
from catalogue.db import database_of
from catalogue.events import Event
from catalogue.search import follower_of, searching
from catalogue.search.postings import postings
from catalogue.search.query import SearchRequest
from catalogue.services import descriptors, permissions, workflow
from catalogue.services.models import Service
from tests.conftest import database_url, running_app
from tests.search.worker import descriptor_text

ROOT = Path(__file__).resolve().parents[2]


def _worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.search.worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def _finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err
    return out


def _submit(slug: str, name: str) -> None:
    descriptor = descriptors.parse(descriptor_text(slug, name).encode(), "yaml", descriptors.Limits())
    with database_of(running_app()).transaction() as session:
        workflow.submit_version(session, actors.SYSTEM, descriptor, "yaml", status="approved")
    # The write's own sync runs after the commit on the index follower's thread: wait for it to land.
    assert follower_of(running_app()).idle()


def _ids(app: Flask, q: str) -> list[str]:
    with app.app_context():
        result = searching().search(SearchRequest.build(q=q, per_page=100), permissions.visibility(actors.ANONYMOUS))
    return [hit.id for hit in result.hits]


def _db_count() -> int:
    with database_of(running_app()).transaction() as session:
        return session.scalar(select(func.count()).select_from(Service)) or 0


def test_a_write_here_is_found_by_another_instance_with_its_own_index(app: Flask, tmp_path: Path) -> None:
    url = database_url(tmp_path)
    other_index = tmp_path / "other-host-index"
    # The other instance builds its index before our write ...
    assert json.loads(_finish(_worker("search", url, str(other_index), "quokka"))) == []
    with app.app_context():
        _submit("quokka-tool", "Quokka estimation tool")
    # ... and still finds the service: it catches up from the events before answering.
    assert json.loads(_finish(_worker("search", url, str(other_index), "quokka"))) == ["quokka-tool"]
    # And a write by the other instance is found here.
    _finish(_worker("submit", url, str(other_index), "wombat", "1"))
    assert _ids(app, "wombat") == ["wombat-0"]


def test_a_deleted_index_is_rebuilt_on_the_next_query(app: Flask) -> None:
    with app.app_context():
        _submit("quokka-tool", "Quokka estimation tool")
    assert _ids(app, "quokka") == ["quokka-tool"]
    index_dir = app.config["CATALOGUE"].index_dir
    shutil.rmtree(index_dir)
    assert _ids(app, "quokka") == ["quokka-tool"]
    assert (index_dir / "CURRENT").is_file()


# whoosh leaves the file of an unreadable table of contents open for the garbage collector to close.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_corrupt_index_is_rebuilt_on_the_next_query(app: Flask) -> None:
    with app.app_context():
        _submit("quokka-tool", "Quokka estimation tool")
    assert _ids(app, "quokka") == ["quokka-tool"]
    index_dir = app.config["CATALOGUE"].index_dir
    generation = (index_dir / "CURRENT").read_text().strip()
    app.extensions["catalogue.search"].index.close()  # as a fresh process would: nothing open
    for path in (index_dir / generation).iterdir():
        path.write_bytes(b"\x00garbage" * 10)
    assert _ids(app, "quokka") == ["quokka-tool"]
    assert (index_dir / "CURRENT").read_text().strip() != generation
    gc.collect()  # while this test's warning filter applies


def test_a_stale_index_catches_up_and_one_ahead_of_the_database_is_rebuilt(app: Flask) -> None:
    search_index = app.extensions["catalogue.search"].index
    with app.app_context():
        _submit("quokka-tool", "Quokka estimation tool")
        # A write whose sync never happened (the process died right after its commit).
        descriptor = descriptors.parse(
            descriptor_text("numbat-tool", "Numbat imputation").encode(), "yaml", descriptors.Limits()
        )
        with database_of(app).sessionmaker() as session:  # type: ignore[misc]
            workflow.submit_version(session, actors.SYSTEM, descriptor, "yaml", status="approved")
            session.info.clear()  # no after-commit sync
            session.commit()
    with search_index.lock:
        assert search_index.count() == 1
    assert _ids(app, "numbat") == ["numbat-tool"]
    # The database went backwards (restored from an older backup): the index rebuilds itself.
    with database_of(app).transaction() as session:
        newest = session.scalar(select(func.max(Event.id)))
        session.query(Event).filter(Event.id == newest).delete()
    with search_index.lock:
        assert search_index.last_applied() == newest
    assert sorted(_ids(app, "")) == ["numbat-tool", "quokka-tool"]
    with search_index.lock:
        assert search_index.last_applied() == newest - 1


def test_reindex_command_rebuilds_with_progress(app: Flask) -> None:
    with app.app_context():
        _submit("quokka-tool", "Quokka estimation tool")
    result = app.test_cli_runner().invoke(main, ["reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 1 services" in result.output
    assert _ids(app, "quokka") == ["quokka-tool"]


def test_four_processes_writing_in_parallel_lose_no_update(app: Flask, tmp_path: Path) -> None:
    url = database_url(tmp_path)
    index_dir = app.config["CATALOGUE"].index_dir
    assert _ids(app, "anything") == []  # the index exists before the writers start
    workers = [_worker("submit", url, str(index_dir), f"p{n}", "50") for n in range(4)]
    for worker in workers:
        _finish(worker)
    assert _db_count() == 200
    search_index = app.extensions["catalogue.search"].index
    with search_index.lock:
        # Counted without catching up: every writer's own sync must have landed.
        assert search_index.count() == 200
        with database_of(app).transaction() as session:
            assert search_index.last_applied() == session.scalar(select(func.max(Event.id)))


def test_highlights_escape_markup_in_descriptors(app: Flask) -> None:
    with app.app_context():
        descriptor = descriptors.parse(
            descriptor_text("xss-tool", "Linkage <script>alert(1)</script> helper").encode(),
            "yaml",
            descriptors.Limits(),
        )
        with database_of(app).transaction() as session:
            workflow.submit_version(session, actors.SYSTEM, descriptor, "yaml", status="approved")
    body = app.test_client().get("/api/v1/search?q=alert").json
    html = body["hits"][0]["highlights"]["name"]
    assert "<script>" not in html and "&lt;script&gt;" in html and "<mark" in html
    page = app.test_client().get("/search?q=helper").get_data(as_text=True)
    assert "<script>alert" not in page


def test_an_updated_service_is_found_once_at_its_new_state(app: Flask) -> None:
    """Updates delete the old documents in their segment: deleted postings must never be counted or shown."""
    with app.app_context():
        for n in range(3):
            _submit(f"tool-{n}", f"Quokka tool {n}")
        assert sorted(_ids(app, "quokka")) == ["tool-0", "tool-1", "tool-2"]
        text = descriptor_text("tool-1", "Numbat tool").replace("version: 1.0.0", "version: 1.1.0")
        assert "version: 1.1.0" in text
        with database_of(app).transaction() as session:
            workflow.submit_version(
                session,
                actors.SYSTEM,
                descriptors.parse(text.encode(), "yaml", descriptors.Limits()),
                "yaml",
                status="approved",
            )
        assert sorted(_ids(app, "quokka")) == ["tool-0", "tool-2"]
        assert _ids(app, "numbat") == ["tool-1"]
        result = searching().search(SearchRequest.build(), permissions.visibility(actors.ANONYMOUS))
        assert result.total == 3
        assert sum(f.count for f in result.facets["organisation"]) == 3


def test_postings_read_by_blocks_skip_deleted_documents(tmp_path: Path) -> None:
    """The block reader behind every search sees what whoosh's own matcher sees, deletions included."""
    ix = index.create_in(str(tmp_path), fields.Schema(key=fields.ID(unique=True), word=fields.KEYWORD()))
    for batch in range(2):
        writer = ix.writer()
        for n in range(300):
            writer.add_document(key=f"{batch}-{n}", word="even" if n % 2 == 0 else "odd")
        writer.commit(merge=False)
    writer = ix.writer()
    for n in range(0, 300, 3):
        writer.delete_by_term("key", f"0-{n}")
    writer.commit(merge=False)
    with ix.searcher() as searcher:
        reader = searcher.reader()
        assert len(reader.leaf_readers()) == 2
        for word in ("even", "odd"):
            ours = sorted(
                int(d) + offset for leaf, offset in reader.leaf_readers() for d in postings(leaf, "word", word)[0]
            )
            assert ours == sorted(searcher.docs_for_query(Term("word", word)))
            assert len(ours) == 300 - 50


def test_writes_after_the_random_module_is_reseeded_are_each_applied(app: Flask) -> None:
    """whoosh names segments with the shared random generator; reseeding it (as hypothesis does before
    every example) must not make two writes collide."""
    search_index = app.extensions["catalogue.search"].index
    with app.app_context():
        for n in range(3):
            random.seed(0)
            _submit(f"reseeded-{n}", f"Reseeded tool {n}")
    with search_index.lock:
        # Counted without catching up: each write's own sync must have landed.
        assert search_index.count() == 3


def test_a_reader_keeps_reading_after_another_process_merged_its_segments_away(app: Flask) -> None:
    # Each write adds a segment and whoosh merges small ones, deleting their files, in whichever process
    # writes; a reader made before must still read every part of its segments, including parts it had not
    # read yet (a search reads a field's lengths and a document's stored fields only when it needs them).
    from catalogue.search.index import _storage
    from catalogue.search.postings import field_lengths
    from catalogue.search.query import TEXT_FIELDS

    search_index = app.extensions["catalogue.search"].index
    with app.app_context():
        for number in range(3):
            _submit(f"merge-tool-{number}", f"Merge tool {number}")
    folder = search_index.index_dir / search_index._generation
    with search_index.lock:
        searcher = search_index.searcher()
        reader = searcher.reader()
        assert len(reader.leaf_readers()) > 1, "nothing to merge: the test would prove nothing"
        before = {path.name for path in folder.iterdir()}
        _storage(folder).open_index().optimize()  # another process merging every segment into one
        assert before - {path.name for path in folder.iterdir()}, "the merge deleted no file"
        for leaf, _offset in reader.leaf_readers():
            for fieldname in TEXT_FIELDS:
                assert len(field_lengths(leaf, fieldname)) == leaf.doc_count_all()
        stored = [searcher.stored_fields(docnum) for docnum in range(reader.doc_count_all())]
        assert {s["service"] for s in stored if s.get("kind") == "service"} >= {f"merge-tool-{n}" for n in range(3)}
        assert list(reader.column_reader("name_sort"))
