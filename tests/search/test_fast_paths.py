"""The search's fast paths over whoosh-reloaded's private internals are taken on the real index.

Each fast path falls back to whoosh's public interface when the internals are not as expected: the
answers stay the same, only slower, so no other test would notice. These tests fail instead, so that a
whoosh-reloaded upgrade (setup.cfg pins it below the next minor) is checked before it slows searching.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from flask import Flask
from whoosh import fields, index

from catalogue.auth import actors
from catalogue.db import db
from catalogue.search import searching
from catalogue.search.postings import FAST_PATHS, FastPaths, field_lengths
from catalogue.search.query import SearchRequest
from catalogue.services import descriptors, permissions, workflow
from tests.search.worker import descriptor_text

EVERY_PATH = (
    FastPaths.POSTINGS_IN_BLOCKS,
    FastPaths.LENGTHS_IN_ONE_CALL,
    FastPaths.POSITIONS_IN_BLOCKS,
)


def _submit(slug: str, name: str, version: str = "1.0.0") -> None:
    content = yaml.safe_load(descriptor_text(slug, name))
    content["version"] = version
    descriptor = descriptors.parse(yaml.safe_dump(content).encode(), "yaml", descriptors.Limits())
    with db.transaction() as session:
        workflow.submit_version(session, actors.SYSTEM, descriptor, "yaml", status="approved")


@pytest.fixture
def counted() -> Iterator[FastPaths]:
    FAST_PATHS.reset()
    yield FAST_PATHS
    FAST_PATHS.reset()


def test_every_search_fast_path_is_taken_on_the_real_index(seeded: Flask, counted: FastPaths) -> None:
    search_index = seeded.extensions["catalogue.search"].index
    with seeded.app_context():
        # A new version replaces the old one's documents: the segments holding those now have deletions,
        # which the block reader must skip through whoosh's filter of deleted documents.
        _submit("fast-path-tool", "Fast path linkage tool")
        _submit("fast-path-tool", "Fast path linkage tool", version="1.1.0")
        with search_index.lock:
            leaves = search_index.searcher().reader().leaf_readers()
            assert any(leaf.has_deletions() for leaf, _offset in leaves), "no deletions: the test would prove little"
        counted.reset()
        anyone = permissions.visibility(actors.ANONYMOUS)
        for request in (
            SearchRequest.build(q="linkage"),  # scored terms: postings with weights, field lengths
            # A quoted phrase of three words: word positions (one of two words is looked up by its pair alone).
            SearchRequest.build(q='"fast path linkage"'),
            SearchRequest.build(filters={"organisation": ["ISTAT"]}),  # a facet: postings without weights
            SearchRequest.build(q="linkag*", sort="name"),  # a prefix, expanded from the lexicon
            SearchRequest.build(q="lnkage"),
        ):  # a misspelt word: whoosh's private corrector
            result = searching().search(request, anyone)
            assert result.total > 0 or result.suggestion, request
    assert counted.fallbacks == Counter(), f"a fast path fell back to whoosh's public interface: {counted.fallbacks}"
    assert all(counted.taken[path] > 0 for path in EVERY_PATH), counted.taken


def test_a_segment_without_a_field_has_every_length_one_without_reading_per_document(
    tmp_path: Path, counted: FastPaths
) -> None:
    # whoosh writes no length column for a field no document of a segment has; its own call answers the
    # default for each document, and the fast path answers the same at once.
    ix = index.create_in(
        str(tmp_path), fields.Schema(key=fields.ID(stored=True), text=fields.TEXT(), note=fields.TEXT())
    )
    for batch, with_note in enumerate((True, False)):
        writer = ix.writer()
        for n in range(40):
            writer.add_document(
                key=f"{batch}-{n}", text="word " * (n % 7 + 1), **({"note": "a b c"} if with_note else {})
            )
        writer.commit(merge=False)
    with ix.searcher() as searcher:
        leaves = searcher.reader().leaf_readers()
        assert len(leaves) == 2
        for leaf, _offset in leaves:
            for fieldname in ("text", "note"):
                one_by_one = [
                    leaf.doc_field_length(docnum, fieldname, 1) or 1 for docnum in range(leaf.doc_count_all())
                ]
                assert list(field_lengths(leaf, fieldname)) == one_by_one
    assert counted.fallbacks == Counter() and counted.taken[FastPaths.LENGTHS_IN_ONE_CALL] == 4
