"""The first search after a write reads only what the write changed: filter and facet sets are kept per
index segment (query.SegmentSets), counted here in postings walked, never in time."""

from __future__ import annotations

import tracemalloc

import numpy as np
from sqlalchemy import select

from catalogue.auth import actors
from catalogue.db import database_of
from catalogue.events import Event
from catalogue.search import follower_of, searching
from catalogue.search.index import FACETS
from catalogue.search.query import SearchRequest, SegmentSets, _Kept, _ReaderView, _segment_id, _text, answer
from catalogue.services import descriptors, permissions, workflow
from catalogue.services.models import ServiceVersion
from tests.conftest import seeded_app
from tests.search.worker import descriptor_text

_EVERY_FACET = SearchRequest.build()
_PUBLIC = permissions.visibility(actors.ANONYMOUS)


def _search(app, q: str = ""):
    with app.app_context():
        return searching().search(SearchRequest.build(q=q) if q else _EVERY_FACET, _PUBLIC)


def _fresh_answer(app):
    """The same answer from a reader view with nothing kept (what the kept sets must agree with)."""
    search_index = app.extensions["catalogue.search"].index
    with app.app_context(), search_index.lock:
        return answer(_EVERY_FACET, _PUBLIC, _ReaderView(search_index.searcher(), SegmentSets()))


def _segments(app) -> set[str]:
    search_index = app.extensions["catalogue.search"].index
    with search_index.lock:
        return {_segment_id(leaf) for leaf, _offset in search_index.searcher().reader().leaf_readers()}


def _write(app, slug: str, name: str) -> None:
    descriptor = descriptors.parse(descriptor_text(slug, name).encode(), "yaml", descriptors.Limits())
    with database_of(app).transaction() as session:
        workflow.submit_version(session, actors.SYSTEM, descriptor, "yaml", status="approved")
    assert follower_of(app).idle()


def test_a_write_costs_the_first_search_only_the_postings_of_the_new_segment(tmp_path):
    with seeded_app(tmp_path) as app:
        # One segment, as after `catalogue reindex` (a write may merge small segments: then it reads those).
        app.extensions["catalogue.search"].index.rebuild()
        sets = app.extensions["catalogue.search"].segment_sets
        sets.reset_counts()
        first = _search(app)
        _search(app, "statistical data editing")
        _search(app, '"statistical data editing"')
        cold_postings = sets.postings
        cold_scored = sets.postings_read
        cold_positions = sets.positions_read
        assert cold_positions > 0
        assert sets.misses > 20 and cold_postings > 100  # every facet value of every seed service, read once
        assert first.total > 10
        before = _segments(app)

        _write(app, "quokka-tool", "Quokka estimation tool")
        sets.reset_counts()
        sets.postings_read = 0
        after_write = _search(app)
        # The words' scores are computed again (they depend on the whole index) from postings kept in memory,
        # and phrases are checked again from the word positions kept.
        _search(app, "statistical data editing")
        _search(app, '"statistical data editing"')
        assert sets.postings_read * 10 < cold_scored, (sets.postings_read, cold_scored)
        assert sets.positions_read * 10 < cold_positions, (sets.positions_read, cold_positions)
        new = _segments(app) - before
        assert new, "the write made no new segment"
        # Only postings of the new segment were walked (a value new to the index is looked up in the old one too,
        # which walks nothing), at most one per document written.
        assert all(segment in new for segment, walked in sets.read_from.items() if walked), sets.read_from
        assert sets.postings <= 2 * sets.misses
        assert sets.postings * 10 < cold_postings
        assert after_write.total == first.total + 1
        assert after_write.facets == _fresh_answer(app).facets

        # A write that replaces a document deletes it from its old segment: the kept sets still count it once.
        with database_of(app).transaction() as session:
            version = session.scalars(select(ServiceVersion).where(ServiceVersion.status == "approved")).first()
            version.name = "Renamed elsewhere"
            session.add(Event(kind="version.edited", service_id=version.service_id, version_id=version.id, data={}))
        sets.reset_counts()
        again = _search(app)
        assert again.total == first.total + 1
        assert again.facets == _fresh_answer(app).facets == after_write.facets
        assert sets.postings * 10 < cold_postings


def test_what_was_kept_of_a_segment_merged_away_is_forgotten_and_merged_lexicons_stay_sorted(tmp_path):
    with seeded_app(tmp_path) as app:
        search_index = app.extensions["catalogue.search"].index
        search_index.rebuild()
        sets = app.extensions["catalogue.search"].segment_sets
        _search(app)
        big = _segments(app)
        _write(app, "quokka-tool", "Quokka estimation tool")
        _search(app, "quokka")
        first_small = _segments(app) - big
        assert first_small
        _write(app, "wombat-kit", "Wombat counting kit")  # the small segment goes into the write's new one
        _search(app, "wombat")
        now = _segments(app)
        assert len(now) == 2 and not first_small & now
        kept = {key[0] for key in [*sets._sets, *sets._lexicons, *sets._terms, *sets._lengths]}
        assert kept <= now, kept - now
        with app.app_context(), search_index.lock:
            searcher = search_index.searcher()
            view = _ReaderView(searcher, sets)
            for name in (*FACETS, "words", "identifiers"):
                expected = sorted({_text(term) for term in searcher.reader().lexicon(name)})
                assert view.values(name) == expected, name
            assert "quokka" in view.values("words") and "wombat" in view.values("words")


def test_a_search_sees_the_events_its_own_catch_up_applied(tmp_path):
    with seeded_app(tmp_path) as app:
        assert _search(app, "zyzzyva").total == 0  # a searcher is open, and checked against the files
        synced = follower_of(app).synced
        with database_of(app).transaction() as session:
            version = session.scalars(select(ServiceVersion).where(ServiceVersion.status == "approved")).first()
            version.name = "Zyzzyva renamed"
            session.add(Event(kind="version.edited", service_id=version.service_id, version_id=version.id, data={}))
        # Written straight to the database, as another host would: no follower here applies it; the search's
        # catch-up does, and the search must then read the index as that left it.
        assert follower_of(app).synced == synced
        assert _search(app, "zyzzyva").total == 1


def test_kept_lists_stay_within_their_budget_however_short():
    # A never-seen word asked in every field reads mostly empty lists (terms a segment lacks): each still costs
    # memory, so each counts against the budget.
    kept = _Kept(budget=10 * _Kept.ENTRY)
    empty = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
    for number in range(1_000):
        kept.put(("segment", "description", f"word{number}"), empty, 0)
    assert len(kept._items) <= 10
    assert kept.get(("segment", "description", "word999")) is not None  # the newest stay
    assert kept.get(("segment", "description", "word0")) is None


def test_a_kept_list_counts_at_least_what_it_takes_in_memory():
    # Most kept lists are short (a rare word, a pair of words): what the budget counts per entry must cover its
    # key, its two arrays and its slot, or a budget of 12 MB would hold two or three times that.
    kept = _Kept(budget=10**9)
    count, length = 2_000, 3
    tracemalloc.start()
    try:
        for number in range(count):
            docs = np.arange(number, number + length, dtype=np.int32)
            kept.put(("0123456789abcdef", "description", f"word{number}"), (docs, docs.astype(np.float32)), length)
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held / count <= (_Kept.ENTRY + length) * 8
    assert kept.size == count * (_Kept.ENTRY + length)


def test_kept_lists_of_a_segment_gone_are_forgotten_and_the_budget_counts_what_is_left():
    kept = _Kept(budget=40 * _Kept.ENTRY)
    one = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
    for number in range(60):  # past the budget: the oldest of either segment are dropped
        kept.put(("a" if number % 3 else "b", "description", f"word{number}"), one, 0)
    assert kept.size == len(kept._items) * _Kept.ENTRY <= kept.budget
    kept.keep_only({"a"})
    assert kept._items and all(key[0] == "a" for key in kept._items)
    assert kept.size == len(kept._items) * _Kept.ENTRY
    assert set(kept._by_segment) == {"a"} and kept._by_segment["a"] == set(kept._items)
