"""Scores computed as arrays per segment (catalogue/search/scores.py, query._ReaderView) agree with whoosh
itself on a randomized small index of several segments with deleted documents: BM25F per term, phrases,
And, Or, and the phrase checked among candidates only."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh import fields, index, scoring
from whoosh.query import And, Or, Phrase, Prefix, Term

from catalogue.search import pairs
from catalogue.search.postings import (
    FAST_PATHS,
    FastPaths,
    _block_positions_by_pickle,
    _Blocks,
    _vector_positions,
    position_keys,
    positions_one_by_one,
    postings,
)
from catalogue.search.query import SegmentSets, _holding_phrase, _ReaderView
from catalogue.search.scores import Scores, common, shared, summed, within

_WORDS = "data series seasonal adjustment time edit impute record linkage sample survey weight".split()


@pytest.fixture(scope="module", params=["pairs", "no pairs"])
def view(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> _ReaderView:
    """A randomized index of several segments with deleted documents: with word pairs (phrases matched on pairs,
    as in the catalogue's own schema: catalogue/search/pairs.py), and without (from word positions)."""
    folder = Path(tmp_path_factory.mktemp("scores"))
    schema = fields.Schema(
        key=fields.ID(unique=True, stored=True),
        title=fields.TEXT(field_boost=3.0),
        body=fields.TEXT(),
        tags=fields.KEYWORD(scorable=True),
        # With pairs, the fields keep their positions too: whoosh's own phrase matching is what ours is checked by.
        **({pairs.FIELD: pairs.PairsField(["title", "body"])} if request.param == "pairs" else {}),
    )
    pairing = pairs.Pairing(schema)
    assert pairing.paired == (["title", "body"] if request.param == "pairs" else [])
    ix = index.create_in(str(folder), schema)
    rng = random.Random(11)
    for batch in range(3):
        writer = ix.writer()
        for n in range(120):
            # Stop words among the words: whoosh numbers the words it keeps one after the other.
            writer.add_document(
                **pairing.add(
                    {
                        "key": f"{batch}-{n}",
                        "title": " ".join(rng.choices(_WORDS, k=rng.randint(1, 4))),
                        "body": " ".join(rng.choices(_WORDS + ["of", "the"], k=rng.randint(0, 30))),
                        "tags": " ".join(rng.sample(_WORDS, 2)),
                    }
                )
            )
        writer.commit(merge=False)
    writer = ix.writer()
    for n in range(0, 120, 7):
        writer.delete_by_term("key", f"{n % 3}-{n}")
    writer.commit(merge=False)
    searcher = ix.searcher(weighting=scoring.BM25F())
    assert len(searcher.reader().leaf_readers()) >= 3
    return _ReaderView(searcher, SegmentSets())


def _whoosh_scores(view: _ReaderView, query) -> dict[int, float]:
    return {hit.docnum: hit.score for hit in view.searcher.search(query, limit=None)}


def _close(ours: Scores, theirs: dict[int, float], factor: float = 1.0) -> None:
    assert ours.docs.tolist() == sorted(theirs)
    assert np.allclose(ours.values, [theirs[d] * factor for d in ours.docs.tolist()], rtol=1e-5)


@pytest.mark.parametrize("fieldname", ["title", "body", "tags"])
def test_term_scores_are_whoosh_bm25f(view: _ReaderView, fieldname: str) -> None:
    for word in _WORDS:
        _close(view.term_scores(fieldname, word), _whoosh_scores(view, Term(fieldname, word)))
        _close(view.term_scores(fieldname, word, boost=2.5), _whoosh_scores(view, Term(fieldname, word)), 2.5)
    assert not view.term_scores("body", "absent")


def test_phrases_match_the_documents_whoosh_finds(view: _ReaderView) -> None:
    rng = random.Random(5)
    for _ in range(60):
        words = rng.choices(_WORDS, k=rng.randint(2, 4))
        for fieldname in ("title", "body"):
            query = Phrase(fieldname, words)
            expected = sorted(view.searcher.docs_for_query(query))
            assert view.phrase_docs(query).tolist() == expected, words
            scores = view.scores(query)
            assert scores.docs.tolist() == expected
            parts = [view.term_scores(fieldname, w) for w in words]
            assert np.allclose(scores.values, [sum(p.get(d) or 0.0 for p in parts) for d in expected])
            candidates = np.array(sorted(rng.sample(range(view.size), view.size // 3)), dtype=np.int64)
            assert view.among(query, candidates).tolist() == sorted(set(expected) & set(candidates.tolist()))


def test_and_and_or_sum_their_parts_over_the_documents_whoosh_finds(view: _ReaderView) -> None:
    rng = random.Random(9)
    for _ in range(30):
        a, b, c = rng.sample(_WORDS, 3)
        parts = [Term("title", a), Or([Term("body", b), Term("tags", c)])]
        both, either = view.scores(And(parts)), view.scores(Or(parts))
        assert both.docs.tolist() == sorted(view.searcher.docs_for_query(And(parts)))
        assert either.docs.tolist() == sorted(view.searcher.docs_for_query(Or(parts)))
        first, second = (view.scores(q).as_dict() for q in parts)
        assert both.as_dict() == pytest.approx({d: first[d] + second[d] for d in set(first) & set(second)})
        expected = {d: first.get(d, 0.0) + second.get(d, 0.0) for d in set(first) | set(second)}
        assert either.as_dict() == pytest.approx(expected)


def test_combining_empty_and_single_parts() -> None:
    one = Scores(np.array([2, 5], dtype=np.int64), np.array([1.0, 2.0]))
    assert summed([one]) is one and common([one]) is one
    assert summed([one], 2.0).as_dict() == {2: 2.0, 5: 4.0}
    assert not common([one, Scores.empty()]) and not common([])
    assert summed([Scores.empty(), Scores.empty()]).as_dict() == {}
    assert 5 in one and 3 not in one and one.get(3) is None
    assert one.of(np.array([1, 2, 5, 9])).tolist() == [0.0, 1.0, 2.0, 0.0]


def test_positions_read_for_some_documents_are_those_of_all_positions(view: _ReaderView) -> None:
    rng = random.Random(2)
    for leaf, _offset in view.reader.leaf_readers():
        for word in _WORDS:
            every = position_keys(leaf, "body", word)
            assert len(every) and np.all(np.diff(every) > 0)
            docs = np.unique(every >> 32)
            some = np.array(sorted(rng.sample(docs.tolist(), len(docs) // 4)), dtype=np.int64)
            expected = every[np.isin(every >> 32, some)]
            assert position_keys(leaf, "body", word, some).tolist() == expected.tolist()


def test_positions_read_for_some_documents_skip_whole_blocks(tmp_path: Path) -> None:
    ix = index.create_in(str(tmp_path), fields.Schema(body=fields.TEXT()))
    rng = random.Random(8)
    writer = ix.writer()
    for _ in range(1000):  # several blocks of postings (128 each)
        writer.add_document(body=" ".join(rng.choices(_WORDS, k=rng.randint(1, 12))))
    writer.commit()
    with ix.searcher() as searcher:
        (leaf, _offset), *_ = searcher.reader().leaf_readers()
        every = position_keys(leaf, "body", "data")
        docs = np.unique(every >> 32).tolist()
        for some in (docs[:3], docs[-2:], docs[100:110] + docs[500:502], rng.sample(docs, 40)):
            wanted = np.array(sorted(some), dtype=np.int64)
            expected = every[np.isin(every >> 32, wanted)]
            assert position_keys(leaf, "body", "data", wanted).tolist() == expected.tolist()
            # whoosh's public matcher interface (the fallback) reads the same positions.
            docs_read, counts, positions = positions_one_by_one(leaf.postings("body", "data"), wanted.tolist())
            keys = (np.repeat(np.asarray(docs_read, dtype=np.int64), counts) << 32) | positions
            assert keys.tolist() == expected.tolist()


@pytest.fixture(scope="module")
def blocks(tmp_path_factory: pytest.TempPathFactory) -> index.Index:
    """An index whose words have posting lists of many blocks (128 postings each), in fields of each posting
    format (positions, frequencies, existence), with field boosts and deleted documents."""
    folder = Path(tmp_path_factory.mktemp("blocks"))
    schema = fields.Schema(
        key=fields.ID(unique=True, stored=True),
        title=fields.TEXT(field_boost=2.5),
        body=fields.TEXT(),
        tags=fields.KEYWORD(scorable=True),
        flag=fields.ID(),
    )
    ix = index.create_in(str(folder), schema)
    rng = random.Random(4)
    for batch in range(2):
        writer = ix.writer()
        for n in range(700):
            writer.add_document(
                key=f"{batch}-{n}",
                title=" ".join(rng.choices(_WORDS, k=rng.randint(1, 3))),
                # Gaps over 127 are pickled in two bytes, and over 255 in more.
                body=" ".join(
                    rng.choices(_WORDS, k=rng.randint(0, 40))
                    + ["filler"] * rng.choice((0, 0, 300))
                    + rng.sample(_WORDS, 3)
                ),
                tags=" ".join(rng.sample(_WORDS, 3) + ["seasonal"] * rng.randint(0, 2)),
                flag="yes" if n % 3 else "no",
            )
        writer.commit(merge=False)
    writer = ix.writer()
    for n in range(0, 700, 5):
        writer.delete_by_term("key", f"0-{n}")
    writer.commit(merge=False)
    return ix


def _matched(leaf: Any, fieldname: str, word: str) -> tuple[list[int], list[float], list[list[int]]]:
    """(documents, weights, positions) of a term through whoosh's public matcher, deleted documents included."""
    matcher = leaf.postings(fieldname, word)
    if hasattr(matcher, "child"):  # whoosh's filter of deleted documents: read what it filters too
        matcher = matcher.child
        matcher.reset()
    docs, weights, positions = [], [], []
    while matcher.is_active():
        docs.append(matcher.id())
        weights.append(matcher.weight())
        if matcher.supports("positions"):
            positions.append(matcher.value_as("positions"))
        matcher.next()
    return docs, weights, positions


def test_postings_and_positions_read_a_list_at_a_time_are_whoosh_s(blocks: index.Index) -> None:
    FAST_PATHS.reset()
    longest = 0
    with blocks.searcher() as searcher:
        for leaf, _offset in searcher.reader().leaf_readers():
            deleted = set(leaf.deleted_docs_set) if leaf.has_deletions() else set()
            for fieldname, words in (
                ("title", _WORDS),
                ("body", [*_WORDS, "filler"]),
                ("tags", [*_WORDS, "seasonal"]),
                ("flag", ["yes", "no"]),
            ):
                for word in [*words, "absent"]:
                    docs, weights, positions = _matched(leaf, fieldname, word) if word != "absent" else ([], [], [])
                    every, weighed = postings(leaf, fieldname, word, live=False)
                    longest = max(longest, len(every))
                    assert every.tolist() == docs and np.allclose(weighed, weights), (fieldname, word)
                    live, _none = postings(leaf, fieldname, word, weights=False)
                    assert live.tolist() == [d for d in docs if d not in deleted] and _none is None
                    if fieldname in ("title", "body"):
                        keys = [(d << 32) | p for d, here in zip(docs, positions, strict=True) for p in here]
                        assert position_keys(leaf, fieldname, word).tolist() == keys, (fieldname, word)
    assert not FAST_PATHS.fallbacks and FAST_PATHS.taken[FastPaths.POSTINGS_IN_BLOCKS]
    assert longest > 128 * 3  # lists of several blocks were read


@pytest.mark.parametrize("fieldname", ["title", "body", "tags"])
def test_prefixes_expanded_from_the_lexicon_in_memory_are_those_whoosh_expands(
    view: _ReaderView, fieldname: str
) -> None:
    for prefix in ("s", "se", "ti", "adj", "zz", ""):
        query = Prefix(fieldname, prefix, boost=1.5)
        expanded = [view.term_scores(name, text.decode()) for name, text in query.expanded_terms(view.reader)]
        expected = summed(expanded or [Scores.empty()], 1.5)
        found = view.scores(query)
        assert found.docs.tolist() == expected.docs.tolist() and found.values.tolist() == expected.values.tolist()
        assert (len(found) > 0) == (prefix != "zz")


def test_positions_read_with_numpy_are_those_of_the_pickles(view: _ReaderView, blocks: index.Index) -> None:
    # A block whose gaps are all below 128 is read from the bytes of its pickle; any other is loaded.
    read = loaded = several = 0
    with blocks.searcher() as searcher:
        for leaf, _offset in [*searcher.reader().leaf_readers(), *view.reader.leaf_readers()]:
            for word in [*_WORDS, "filler"]:
                found = _Blocks.of(leaf, "body", word)
                assert found is not None
                datas = [found._data(span) for span in found.spans]
                for data, span in zip(datas, found.spans, strict=True):
                    expected = _block_positions_by_pickle(data)
                    fast = _vector_positions([data], [span.postings])
                    if fast is None:
                        loaded += 1
                        continue
                    read += 1
                    assert all(a.tolist() == b.tolist() for a, b in zip(fast, expected, strict=True)), word
                # Blocks read together: the same as one by one, or None when any of them cannot be.
                together = _vector_positions(datas, [span.postings for span in found.spans])
                every = [_block_positions_by_pickle(data) for data in datas]
                if together is not None and datas:
                    assert [a.tolist() for a in together] == [
                        np.concatenate(p).tolist() for p in zip(*every, strict=True)
                    ]
                    several += len(datas) > 1
    assert read > 10 and loaded > 0 and several > 0, (read, loaded, several)


def test_membership_and_intersection_by_binary_search_are_numpy_s() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        a = np.unique(rng.integers(0, 400, rng.integers(0, 60))).astype(rng.choice([np.int32, np.int64]))
        b = np.unique(rng.integers(0, 400, rng.integers(0, 300))).astype(np.int64)
        assert within(a, b).tolist() == np.isin(a, b).tolist()
        assert shared(a, b).tolist() == np.intersect1d(a, b).tolist() == shared(b, a).tolist()
        repeated = np.sort(rng.integers(0, 400, 50))  # a word's positions: several per document
        assert within(repeated, b).tolist() == np.isin(repeated, b).tolist()


def test_positions_of_blocks_found_from_the_postings_are_those_of_every_block(blocks: index.Index) -> None:
    rng = random.Random(6)
    with blocks.searcher() as searcher:
        for leaf, _offset in searcher.reader().leaf_readers():
            for word in [*_WORDS, "filler"]:
                listed, _weights = postings(leaf, "body", word, live=False)
                every = position_keys(leaf, "body", word)
                docs = listed.tolist()
                for some in (docs[:1], docs[-1:], docs[127:130], rng.sample(docs, min(len(docs), 30)), docs):
                    wanted = np.array(sorted(some), dtype=np.int64)
                    expected = every[np.isin(every >> 32, wanted)].tolist()
                    assert position_keys(leaf, "body", word, wanted, listed).tolist() == expected, word
                    # Postings that do not say where the blocks are: every block's header is read instead.
                    wrong = listed[1:] if len(listed) > 1 else listed + 1
                    assert position_keys(leaf, "body", word, wanted, wrong).tolist() == expected, word


def test_positions_read_for_a_few_documents_or_kept_whole_are_the_same(blocks: index.Index) -> None:
    rng = random.Random(12)
    view = _ReaderView(blocks.searcher(weighting=scoring.BM25F()), SegmentSets())
    whole = partial = 0
    for leaf, _offset, segment in view._leaves:
        for word in ("data", "filler", "seasonal"):
            listed, _weights = view.segment_sets.term_postings(leaf, segment, "body", word)
            every = position_keys(leaf, "body", word)
            for count in (1, 3, 20, len(listed) // 2, len(listed)):
                holding = np.array(sorted(rng.sample(listed.tolist(), min(count, len(listed)))), dtype=np.int64)
                kept = view.segment_sets.has_positions(segment, "body", word)
                found = view._positions(leaf, segment, "body", word, holding)
                read_whole = view.segment_sets.has_positions(segment, "body", word)
                whole += read_whole and not kept
                partial += not read_whole
                assert found[np.isin(found >> 32, holding)].tolist() == every[np.isin(every >> 32, holding)].tolist()
    assert whole and partial, (whole, partial)


def test_the_phrase_checked_in_steps_ranks_the_same_documents_first(view: _ReaderView) -> None:
    rng = random.Random(21)
    for _ in range(60):
        words = rng.sample(_WORDS, rng.randint(2, 3))
        phrase = Or([Phrase("title", words), Phrase("body", words), Term("tags", words[0])])
        docs = np.array(sorted(rng.sample(range(view.size), rng.randint(1, view.size))), dtype=np.int64)
        exact = np.isin(docs, view.among(phrase, docs))
        assert set(view.among(phrase, docs).tolist()) <= set(view.may_hold(phrase, docs).tolist())
        values = np.array([rng.choice((0.5, 1.0, 1.5, 2.0)) for _ in docs])  # ties too
        named = np.array([rng.random() < 0.05 for _ in docs])
        for need in (1, 5, 20, 200):
            stepped = _holding_phrase(view, phrase, docs, values, named, need)
            assert not (stepped & ~exact).any()  # never says a document holds the phrase when it does not
            first = [
                docs[np.lexsort((docs, -values, ~holding, ~named))][:need].tolist() for holding in (stepped, exact)
            ]
            assert first[0] == first[1], (words, need)


def test_a_word_a_big_segment_lacks_in_a_text_field_is_not_looked_up(tmp_path: Path) -> None:
    """The lexicons of the text fields (SegmentSets.WHOLE_LEXICONS) answer "absent" in every segment; other fields
    (one value per service) are looked up in whoosh past SMALL_SEGMENT documents."""
    schema = fields.Schema(description=fields.TEXT(phrase=False), names=fields.KEYWORD(scorable=True))
    ix = index.create_in(str(tmp_path), schema)
    writer = ix.writer()
    for n in range(50):
        writer.add_document(description=" ".join(_WORDS[n % 5 : n % 5 + 4]), names=f"name{n}")
    writer.commit()
    sets = SegmentSets()
    sets.SMALL_SEGMENT = 10  # the segment counts as big
    view = _ReaderView(ix.searcher(weighting=scoring.BM25F()), sets)
    assert "description" in SegmentSets.WHOLE_LEXICONS and "names" not in SegmentSets.WHOLE_LEXICONS
    FAST_PATHS.reset()
    assert not view.term_scores("description", "absent")
    assert FAST_PATHS.taken[FastPaths.POSTINGS_IN_BLOCKS] == 0  # known absent from the lexicon
    assert sets._postings.size == 0  # and nothing kept for it: the lexicon answers again as fast
    _close(view.term_scores("description", "data"), _whoosh_scores(view, Term("description", "data")))
    assert FAST_PATHS.taken[FastPaths.POSTINGS_IN_BLOCKS] == 1
    assert not view.term_scores("names", "absent")
    assert FAST_PATHS.taken[FastPaths.POSTINGS_IN_BLOCKS] == 2  # looked up: its lexicon is not read whole
    # A small segment (a write makes a new one each time) is asked in whoosh: reading its lexicons would cost more.
    small = _ReaderView(ix.searcher(weighting=scoring.BM25F()), SegmentSets())
    assert not small.term_scores("description", "absent")
    assert FAST_PATHS.taken[FastPaths.POSTINGS_IN_BLOCKS] == 3
    FAST_PATHS.reset()


def test_the_lexicon_of_the_big_segments_is_merged_once_and_small_ones_add_their_values(tmp_path: Path) -> None:
    schema = fields.Schema(key=fields.ID(unique=True), tags=fields.KEYWORD())
    ix = index.create_in(str(tmp_path), schema)
    for batch, size in enumerate((30, 30, 2)):  # two big segments (a rebuild in two processes), then a write
        writer = ix.writer()
        for n in range(size):
            writer.add_document(key=f"{batch}-{n}", tags=f"tag{batch}x{n % 7} common")
        writer.commit(merge=False)
    sets = SegmentSets()
    sets.SMALL_SEGMENT = 10
    view = _ReaderView(ix.searcher(), sets)
    expected = sorted({term.decode() for term in view.reader.lexicon("tags")})
    assert view.values("tags") == expected and "tag2x0" in expected
    big = [(leaf, str(segment)) for leaf, _offset, segment in view._leaves if leaf.doc_count_all() > 10]
    assert len(big) == 2
    merged = sets.merged_lexicon(big, "tags")[0]
    assert merged == sorted(v for v in expected if not v.startswith("tag2"))
    again = _ReaderView(ix.searcher(), sets)  # a new reader (as after a write) merges the big segments' lists no more
    assert again.values("tags") == expected and sets.merged_lexicon(big, "tags")[0] is merged
    sets.keep_only({big[0][1]})  # a big segment gone
    assert not sets._merged
