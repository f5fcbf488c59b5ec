"""A rebuild writes the index whoosh's own writer would: BulkWriter (search/bulk.py) gives the same segment, byte for
byte (the same terms, postings, positions, weights, lengths, stored fields and sort columns), only faster."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.filedb.filestore import FileStorage

from catalogue.search import bulk, follower_of
from catalogue.search.bulk import BulkWriter
from catalogue.search.index import SearchIndex, documents_for, schema
from tests.search.test_precision_at_scale import _documents, _generator


def _segment(folder: Path) -> dict[str, Any]:
    """The files of the index's one segment by their kind (the segment's random name taken off), with its
    document count and field lengths."""
    storage = FileStorage(str(folder))
    (segment,) = storage.open_index()._segments()
    files = segment.open_compound_file(storage)
    found: dict[str, Any] = {name.split(".", 1)[1]: files.open_file(name).read() for name in files.list()}
    files.close()
    found["documents"] = segment.doc_count_all()
    found["field lengths"] = sorted(segment._fieldlengths.items())
    return found


def _written(folder: Path, documents: list[dict[str, Any]], bulk: bool) -> dict[str, Any]:
    folder.mkdir()
    built = FileStorage(str(folder)).create_index(schema())
    writer = BulkWriter(built) if bulk else built.writer()
    for document in documents:
        writer.add_document(**document)
    writer.commit()
    return _segment(folder)


def _assert_same(tmp_path: Path, documents: list[dict[str, Any]]) -> None:
    ours = _written(tmp_path / "bulk", documents, bulk=True)
    whooshs = _written(tmp_path / "whoosh", documents, bulk=False)
    assert ours.keys() == whooshs.keys()
    for kind in whooshs:
        assert ours[kind] == whooshs[kind], f"the segments differ in {kind}"


def test_a_generated_catalogue_is_written_as_whoosh_writes_it(tmp_path: Path) -> None:
    # 300 services: common words are in more than one block of postings (128 each).
    bench = _generator()
    rng = random.Random(300)
    words = bench.Words(bench.seed_words())
    documents = list(_documents([bench.descriptor(i, rng, words) for i in range(300)]))
    _assert_same(tmp_path, documents)


def _catalogue_documents(search_index: SearchIndex) -> list[dict[str, Any]]:
    """The documents a rebuild of search_index writes, in its order."""
    content_hash, documents = search_index._content()
    with search_index.sessions() as session:
        documents = [*documents, *(doc for s in search_index._services(session) for doc in documents_for(s))]
    documents.append(search_index._state_document(search_index.last_applied(), content_hash))
    assert len(documents) > 100
    return documents


def test_a_rebuild_writes_what_whoosh_writer_would(seeded: Flask, tmp_path: Path) -> None:
    with seeded.app_context():
        search_index: SearchIndex = seeded.extensions["catalogue.search"].index
        search_index.rebuild()
        rebuilt = _segment(search_index.index_dir / (search_index.index_dir / "CURRENT").read_text("utf-8"))
        documents = _catalogue_documents(search_index)
    assert rebuilt == _written(tmp_path / "whoosh", documents, bulk=False)


def _contents(folder: Path) -> dict[str, Any]:
    """What an index holds, whatever its segments: each term's postings (document, weight, value), each
    document's stored fields, lengths and sort values, each field's total length."""
    reader = FileStorage(str(folder)).open_index().reader()
    try:
        documents = range(reader.doc_count_all())
        postings = {}
        for field, term in reader.all_terms():
            matcher = reader.postings(field, term)
            found = []
            while matcher.is_active():
                found.append((matcher.id(), matcher.weight(), matcher.value()))
                matcher.next()
            postings[field, term] = found
        scorable = [name for name, field in reader.schema.items() if field.scorable]
        sortable = [name for name, field in reader.schema.items() if field.column_type]
        return {
            "postings": postings,
            "stored": [reader.stored_fields(n) for n in documents],
            "lengths": {name: [reader.doc_field_length(n, name) for n in documents] for name in scorable},
            "field lengths": {name: reader.field_length(name) for name in scorable},
            "sort values": {name: list(reader.column_reader(name)) for name in sortable},
        }
    finally:
        reader.close()


def test_a_rebuild_in_two_processes_holds_what_whoosh_writer_would(
    seeded: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with seeded.app_context():
        search_index: SearchIndex = seeded.extensions["catalogue.search"].index
        monkeypatch.setattr(search_index, "PARALLEL_FROM", 1)  # the seed catalogue is small
        follower_of(seeded).stop()  # as in `catalogue reindex`, no other thread (the next write starts it again)
        # Tests run before may leave idle threads behind in this process: the rule that keeps a process with other
        # threads from forking is the next test's; this one checks what the two processes write.
        monkeypatch.setattr(bulk, "may_fork", lambda: True)
        progress: list[tuple[int, int]] = []
        count = search_index.rebuild(lambda done, total: progress.append((done, total)))
        generation = search_index.index_dir / (search_index.index_dir / "CURRENT").read_text("utf-8")
        documents = _catalogue_documents(search_index)
    assert len(FileStorage(str(generation)).open_index()._segments()) == 2
    assert progress[-1] == (count, count)
    (tmp_path / "whoosh").mkdir()
    reference = FileStorage(str(tmp_path / "whoosh")).create_index(schema())
    writer = reference.writer()
    for document in documents:
        writer.add_document(**document)
    writer.commit()
    assert _contents(generation) == _contents(tmp_path / "whoosh")


def test_a_rebuild_beside_other_threads_forks_nothing(seeded: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # A web worker's threads: a child forked beside them could wait for ever on a lock one of them held.
    with seeded.app_context():
        search_index: SearchIndex = seeded.extensions["catalogue.search"].index
        monkeypatch.setattr(search_index, "PARALLEL_FROM", 1)
        stop = threading.Event()
        other = threading.Thread(target=stop.wait)
        other.start()
        try:
            search_index.rebuild()
        finally:
            stop.set()
            other.join()
        generation = search_index.index_dir / (search_index.index_dir / "CURRENT").read_text("utf-8")
    assert len(FileStorage(str(generation)).open_index()._segments()) == 1


# Words that whoosh's analyzers treat each in their own way: stop words, one letter (dropped in stemmed fields),
# numbers and versions, signs kept by the words field (C#, x-13, J.D.), accents and Greek, words stemmed alike.
_WORDS = [
    "the",
    "a",
    "of",
    "and",
    "R",
    "C#",
    "x-13",
    "3.14",
    "J.D.",
    "Édition",
    "τ-ARGUS",
    "ß",
    "run",
    "running",
    "runs",
    "data",
    "Data",
    "DATA",
    "seasonal",
    "adjustment",
    "_",
    "-",
    "..",
    "it's",
    "sdcMicro",
    "",
    " ",
]
_text = st.lists(st.sampled_from(_WORDS), max_size=40).map(" ".join)
_listed = st.lists(st.sampled_from(_WORDS), max_size=6).map(lambda words: " , ".join(words))
_document = st.fixed_dictionaries(
    {"key": st.text(min_size=1, max_size=5), "kind": st.sampled_from(["service", "section"])},
    optional={
        "name": _text,
        "name_sort": _text,
        "description": _text,
        "purpose": _text,
        "words": _text,
        "vocabulary": _text,
        "keywords": _listed,
        "technology": _listed,
        "names": _text,
        "status": st.sampled_from(["approved", "draft", ""]),
        "updated": st.integers(min_value=0, max_value=2**40),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents=st.lists(_document, min_size=1, max_size=8))
def test_any_documents_are_written_as_whoosh_writes_them(tmp_path_factory: pytest.TempPathFactory, documents) -> None:
    _assert_same(tmp_path_factory.mktemp("any"), documents)


def test_boosts_and_custom_stored_values_are_refused(tmp_path: Path) -> None:
    built = FileStorage(str(tmp_path)).create_index(schema())
    writer = BulkWriter(built)
    with pytest.raises(ValueError, match="_boost"):
        writer.add_document(key="a", _boost=2.0)
    writer.cancel()
