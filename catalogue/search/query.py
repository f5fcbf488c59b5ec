"""Searching the index: free text with BM25F, filters and facet counts, highlights, did-you-mean, autocomplete.

What the text means is matching.plan's: units (words, quoted phrases, phrases of synonyms.yaml) that every hit
must match. `answer` shows the documents matching every unit, ranked whole name first, then the whole query
as a phrase, then BM25F; only when none is of the kind asked for, those matching the most units (`partial`).

How a search stays fast at tens of thousands of services: whoosh stores the postings, and everything
derived from them is computed once per open reader (one "view", replaced whenever the index changes):

- each document set (the documents of a term, of a facet value, of an audience) is a Python integer used
  as a bitset, so filters are `&`, "any of" is `|` and a facet count is one `(base & value).bit_count()`;
- what one segment holds (those sets, the postings of the terms asked for and the positions of the word pairs,
  field lengths, lexicons)
  is kept per index segment (SegmentSets), so a write costs the next search only its own segment;
- scores are numpy arrays (scores.Scores): a term's BM25F over a segment's postings at once, Or and And as
  sums per document; only the page of hits shown is built and highlighted;
- phrases are looked up by their pairs of neighbouring words, indexed as terms (pairs.py): a phrase of two words
  is its pair, a longer one is checked from the positions of its pairs, only in the documents holding them all
  (the whole query as a phrase, which only ranks, in the best documents until the page is sure); prefixes and
  wildcards are expanded from the lexicon;
- whole answers are cached, keyed by the request and the reader's audience, until the index changes.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import operator
import re
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from whoosh.query import (
    And,
    AndNot,
    MultiTerm,
    NullQuery,
    Or,
    Phrase,
    Prefix,
    Query,
    Term,
)
from whoosh.scoring import WeightingModel
from whoosh.searching import Searcher

from catalogue.search import pairs, passages
from catalogue.search.index import FACETS, SearchIndex
from catalogue.search.matching import Plan, plan
from catalogue.search.postings import BLOCK_POSTINGS, field_lengths, position_keys, postings
from catalogue.search.scores import NO_DOCS, Docs, Scores, common, coverage, shared, summed, within
from catalogue.search.vocabulary import compact, fold, name_forms, tokens, vocabulary
from catalogue.services.permissions import Visibility

log = logging.getLogger(__name__)

SORTS = ("relevance", "name", "updated")
KINDS = ("service", "section", "all")
"""What a search returns: services (the default), sections of the CSPA 2.0 document, or both."""
TEXT_FIELDS = (
    "name",
    "purpose",
    "description",
    "keywords",
    "organisation_name",
    "vocabulary",
    "annex",
    "words",
    "names",
    "aliases",
    "identifiers",
)
"""The fields a query's words are scored in (BM25F, with matching.BOOSTS)."""
_HIGHLIGHTED = ("name", "purpose", "description")
_EXPANSIONS = 200  # terms a prefix or wildcard may stand for; more say little and cost much
_B, _K1 = 0.75, 1.2  # BM25 parameters, as whoosh's own BM25F
_BITS = tuple(tuple(bit for bit in range(8) if byte >> bit & 1) for byte in range(256))


@dataclass(frozen=True)
class SearchRequest:
    """What a reader asks: text, filters (several values of one facet: any; several facets: all), order, page.

    kind chooses services, document sections or both. Sections have no facets: with kind "all" any
    filter leaves them out, and kind "section" ignores filters. sections > 0 also asks for that many best-matching document sections beside the hits
    (the search page lists them apart from the services).
    """

    q: str = ""
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    kind: str = "service"
    sections: int = 0

    @classmethod
    def build(
        cls,
        q: str = "",
        filters: dict[str, list[str]] | None = None,
        sort: str | None = None,
        page: int = 1,
        per_page: int = 20,
        kind: str = "service",
        sections: int = 0,
    ) -> SearchRequest:
        """A normalised request (filters sorted, so equal requests are equal cache keys)."""
        cleaned = tuple(
            sorted(
                (name, tuple(sorted(set(values))))
                for name, values in (filters or {}).items()
                if name in FACETS and values
            )
        )
        q = " ".join(q.split())
        return cls(
            q=q,
            filters=cleaned,
            sort=sort or ("relevance" if q else "name"),
            page=max(1, page),
            per_page=per_page,
            kind=kind if kind in KINDS else "service",
            sections=max(0, sections),
        )

    def filter_dict(self) -> dict[str, tuple[str, ...]]:
        """The filters as a dict."""
        return dict(self.filters)


@dataclass(frozen=True)
class Hit:
    """One service or document section found, with its matched passages as safe HTML (text escaped, matches in <mark>).

    For a section: id is ``chapter#anchor``, purpose the chapter's title, url where it is read.
    """

    id: str
    version: str
    name: str
    organisation: str
    purpose: str
    status: str
    subprocesses: list[str]
    score: float | None
    highlights: dict[str, str]
    kind: str = "service"
    url: str | None = None
    audiences: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet with the number of services that have it, given the other filters."""

    value: str
    count: int
    selected: bool


@dataclass(frozen=True)
class SearchResult:
    """A page of hits, the total, facet counts, and a spelling suggestion when the words were unknown.

    sections holds the best document sections when the request asked for them (SearchRequest.sections).
    """

    request: SearchRequest
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetValue]]
    suggestion: str | None = None
    corrected: bool = False
    partial: bool = False
    sections: list[Hit] = field(default_factory=list)
    sections_total: int = 0
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", max(1, -(-self.total // self.request.per_page)))

    @property
    def notice(self) -> str | None:
        """What a reader must know about the hits: that they match only some of the words."""
        if not self.partial:
            return None
        noun = "section" if self.request.kind == "section" else "service"
        asked = self.suggestion if self.corrected and self.suggestion else self.request.q
        return f"No {noun} matches all of “{asked}”; showing {noun}s that match some."


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


_MAX_CACHED_SCORES = 250_000
"""Document scores (per term and per compound query) kept per reader; past this many they are dropped, so a
worker's memory stays bounded however many different queries it answers (16 bytes each: 4 MB). A query
asked again is answered from the answer caches, so these only speed up new queries sharing a word."""


def _bitset(docnums: Any, size: int) -> int:
    """The bitset of an array of document numbers below size."""
    bits = np.zeros((size // 8 + 1) * 8, dtype=bool)
    bits[docnums] = True
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


class _Kept:
    """Arrays kept per (segment, field, term), within a budget of elements: past it, those used least recently
    are dropped (a handful of common words serve most queries, so they stay)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self._items: OrderedDict[tuple[str, str, str], tuple[Any, int]] = OrderedDict()
        self._by_segment: defaultdict[str, set[tuple[str, str, str]]] = defaultdict(set)

    def get(self, key: tuple[str, str, str]) -> Any:
        """The value kept for key (now the most recently used), or None."""
        found = self._items.get(key)
        if found is None:
            return None
        self._items.move_to_end(key)
        return found[0]

    def __contains__(self, key: tuple[str, str, str]) -> bool:
        return key in self._items

    ENTRY = 80
    """What an entry costs beyond its elements, in elements of 8 bytes: its key and its text, the two arrays'
    headers, the ordered dictionary's slot (about 600 bytes for a list of one posting, measured with tracemalloc
    in tests/search/test_segment_sets.py). Counted, so that the budget holds in bytes however many short or empty
    lists (terms a segment lacks) are kept."""

    def put(self, key: tuple[str, str, str], value: Any, size: int) -> None:
        """Keep value (of size elements) for key, dropping the least recently used past the budget."""
        size += self.ENTRY
        self._items[key] = (value, size)
        self._by_segment[key[0]].add(key)
        self.size += size
        while self.size > self.budget and len(self._items) > 1:
            dropped_key, (_value, dropped) = self._items.popitem(last=False)
            self._by_segment[dropped_key[0]].discard(dropped_key)
            self.size -= dropped

    def keep_only(self, segments: set[str]) -> None:
        """Forget what was kept of every segment not in segments (the keys of each segment are listed, so this
        walks only what is forgotten)."""
        for segment in [s for s in self._by_segment if s not in segments]:
            for key in self._by_segment.pop(segment):
                self.size -= self._items.pop(key)[1]


_NONE = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
"""The postings of a term a segment does not hold."""


class SegmentSets:
    """What is read from each index segment, kept per segment: the documents of each term asked for as a
    filter or facet (`_ReaderView.docs`), lexicons, field lengths, and the postings and positions of the terms
    scored or matched as phrases (word pairs, in the catalogue's schema). Their BM25F scores depend on the whole
    index, so each reader computes them again, from these arrays: a few vector operations per term.

    A whoosh segment never changes once written: a write adds a segment and marks documents of older ones
    deleted. So what a segment holds, deleted documents included, stays true for as long as the segment
    exists, and the first search after a write reads the new segment only; the documents deleted since are
    taken out by each reader view. Entries of segments gone (merged away) are dropped when a new reader is
    opened; past their budgets, every set is dropped (MAX_ENTRIES), or the posting and position lists used least
    recently (MAX_POSTINGS, MAX_POSITIONS).

    `misses` counts sets read from postings, `postings` the postings walked for them, `read_from` those
    postings by segment, `postings_read` and `positions_read` what scoring and phrases read (for tests and
    benchmarks).
    """

    MAX_ENTRIES = 50_000
    MAX_POSTINGS = 1_500_000
    """Postings kept (8 bytes each: 12 MB); past this many the posting lists used least recently are dropped."""
    MAX_POSITIONS = 600_000
    """Word positions kept (8 bytes each: 4.8 MB); past this many the lists used least recently are dropped."""

    def __init__(self) -> None:
        self._sets: dict[tuple[str, str, str], int] = {}
        self._lexicons: dict[tuple[str, str, str], list[str]] = {}
        self._terms: dict[tuple[str, str, str], frozenset[str]] = {}
        self._lengths: dict[tuple[str, str], Any] = {}
        self._merged: dict[tuple[tuple[str, ...], str], tuple[list[str], frozenset[str]]] = {}
        self._postings = _Kept(self.MAX_POSTINGS)
        self._positions = _Kept(self.MAX_POSITIONS)
        self._segments: set[str] = set()  # the segments of the last reader (see keep_only)
        self.postings_read = 0
        self.positions_read = 0
        self.misses = 0
        self.postings = 0
        self.read_from: Counter[str] = Counter()

    def get(self, leaf: Any, segment: str, fieldname: str, value: str) -> int:
        """The bitset (segment's own document numbers) of the documents of leaf holding value in fieldname."""
        key = (segment, fieldname, value)
        found = self._sets.get(key)
        if found is None:
            if not self.may_hold(leaf, segment, fieldname, value):
                self._sets[key] = 0
                return 0
            docnums, _weights = postings(leaf, fieldname, value, weights=False, live=False)
            self.misses += 1
            self.postings += len(docnums)
            self.read_from[segment] += len(docnums)
            found = _bitset(docnums, leaf.doc_count_all())
            if len(self._sets) >= self.MAX_ENTRIES:
                self._sets.clear()
            self._sets[key] = found
        return found

    SMALL_SEGMENT = 2_000
    """Documents in a segment whose lexicons are read whole to answer "does it hold this term?"."""
    WHOLE_LEXICONS = frozenset(
        ("name", "purpose", "description", "organisation_name", "vocabulary", "annex", "keywords", "words", "aliases")
    )
    """Fields whose lexicons are read whole in the big segments (those of more than SMALL_SEGMENT documents, which
    live until the next rebuild): they hold the words of the texts (a few thousand), not a value per service. A
    word is looked up in a dozen fields, once more for each of its synonyms, and most of those look-ups find
    nothing: the set answers those at once, where whoosh takes about 30 µs each. A small segment is made anew by
    every write, and whoosh's look-ups in it cost less than reading its lexicons would."""

    def may_hold(self, leaf: Any, segment: str, fieldname: str, text: str) -> bool:
        """False when leaf's segment certainly does not hold the value: a small segment (a recent write) lacks
        most facet values, and its lexicon of the facet, read once, answers at once where whoosh looks each one up
        (for words of the texts, see holds_word)."""
        if leaf.doc_count_all() > self.SMALL_SEGMENT:
            return True
        return text in self.lexicon_set(leaf, segment, fieldname)

    def holds_word(self, leaf: Any, segment: str, fieldname: str, text: str) -> bool:
        """False when leaf's segment certainly does not hold the term: a big segment lacking a word of the texts
        (WHOLE_LEXICONS)."""
        if fieldname not in self.WHOLE_LEXICONS or leaf.doc_count_all() <= self.SMALL_SEGMENT:
            return True
        return text in self.lexicon_set(leaf, segment, fieldname)

    def lexicon_set(self, leaf: Any, segment: str, fieldname: str) -> frozenset[str]:
        """The lexicon of fieldname in leaf's segment as a set."""
        key = (segment, "", fieldname)
        found = self._terms.get(key)
        if found is None:
            kept = self._lexicons.get(key)
            terms = kept if kept is not None else (_text(t) for t in leaf.lexicon(fieldname))
            found = self._terms[key] = frozenset(terms)
        return found

    def lexicon(self, leaf: Any, segment: str, fieldname: str) -> list[str]:
        """Every value indexed in fieldname in leaf's segment (as immutable as its postings)."""
        key = (segment, "", fieldname)  # no field is named "": this cannot be a set's key
        found = self._lexicons.get(key)
        if found is None:
            found = self._lexicons[key] = [_text(t) for t in leaf.lexicon(fieldname)]
        return found

    def merged_lexicon(self, parts: list[tuple[Any, str]], fieldname: str) -> tuple[list[str], frozenset[str]]:
        """The union of the lexicons of fieldname in the segments of parts ((leaf, segment) each), sorted and as a
        set; kept while those segments are there (big segments: a rebuild in two processes makes two, and every
        reader would merge their lists again)."""
        if len(parts) == 1:
            leaf, segment = parts[0]
            return self.lexicon(leaf, segment, fieldname), self.lexicon_set(leaf, segment, fieldname)
        key = (tuple(sorted(segment for _leaf, segment in parts)), fieldname)
        found = self._merged.get(key)
        if found is None:
            every = frozenset().union(*(self.lexicon_set(leaf, segment, fieldname) for leaf, segment in parts))
            found = self._merged[key] = (sorted(every), every)
        return found

    def term_postings(self, leaf: Any, segment: str, fieldname: str, text: str) -> tuple[Any, Any]:
        """(document numbers as int32, weights as float32) of the term's postings in leaf's segment, deleted
        documents included where whoosh lets them be read (the caller leaves out those deleted now)."""
        key = (segment, fieldname, text)
        found = self._postings.get(key)
        if found is None:
            if not self.holds_word(leaf, segment, fieldname, text):
                return _NONE  # the segment's lexicon says so again at once: nothing to keep
            found = postings(leaf, fieldname, text, live=False)
            self.postings_read += len(found[0])
            self._postings.put(key, found, len(found[0]))
        return found  # type: ignore[no-any-return]

    def positions(self, leaf: Any, segment: str, fieldname: str, text: str) -> Any:
        """The term's position keys in leaf's segment (see _position_keys), deleted documents included."""
        key = (segment, fieldname, text)
        found = self._positions.get(key)
        if found is None:
            found = position_keys(leaf, fieldname, text)
            self.positions_read += len(found)
            self._positions.put(key, found, len(found))
        return found

    def has_positions(self, segment: str, fieldname: str, text: str) -> bool:
        """Whether the term's positions in the segment are kept already."""
        return (segment, fieldname, text) in self._positions

    def lengths(self, leaf: Any, segment: str, fieldname: str) -> Any:
        """The length of fieldname in every document of leaf's segment, as float32 (see _field_lengths)."""
        key = (segment, fieldname)
        found = self._lengths.get(key)
        if found is None:
            found = self._lengths[key] = np.asarray(field_lengths(leaf, fieldname), dtype=np.float32)
        return found

    def keep_only(self, segments: set[str]) -> None:
        """Forget what was kept of every segment not in segments (each new reader calls this: when no segment is
        gone, as after most writes, it costs nothing however much is kept)."""
        gone = self._segments - segments
        self._segments = set(segments)
        if not gone:
            return
        for key in [k for k in self._sets if k[0] in gone]:
            del self._sets[key]
        for key in [k for k in self._lexicons if k[0] in gone]:
            del self._lexicons[key]
        for key in [k for k in self._terms if k[0] in gone]:
            del self._terms[key]
        for name in [k for k in self._lengths if k[0] in gone]:
            del self._lengths[name]
        for merged in [k for k in self._merged if gone.intersection(k[0])]:
            del self._merged[merged]
        self._postings.keep_only(segments)
        self._positions.keep_only(segments)

    def reset_counts(self) -> None:
        """Count misses and postings from zero."""
        self.misses = self.postings = self.postings_read = self.positions_read = 0
        self.read_from.clear()


def _deleted_mask(leaf: Any) -> Any:
    """Which documents of a leaf reader are deleted, as a boolean array (None when none is)."""
    if not leaf.has_deletions():
        return None
    mask = np.zeros(leaf.doc_count_all(), dtype=bool)
    mask[np.fromiter(leaf.deleted_docs_set, dtype=np.int64)] = True
    return mask


def _segment_id(leaf: Any) -> str | None:
    """The id of a leaf reader's segment (whoosh's segment_id), or None where the reader has none."""
    segment = getattr(leaf, "segment", None)
    found = segment() if callable(segment) else None
    return str(found.segment_id()) if found is not None and hasattr(found, "segment_id") else None


class _ReaderView:
    """Everything computed once per open reader of the index: bitsets, per-term scores, sort orders.

    Used only with the index's lock held (see Searching.search), so its caches need no lock of their own.
    """

    def __init__(self, searcher: Searcher, segment_sets: SegmentSets | None = None) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.size = self.reader.doc_count_all()
        self._bytes = self.size // 8 + 1
        self.segment_sets = segment_sets if segment_sets is not None else SegmentSets()
        self._leaves = [(leaf, offset, _segment_id(leaf)) for leaf, offset in self.reader.leaf_readers()]
        self.segment_sets.keep_only({segment for _leaf, _offset, segment in self._leaves if segment is not None})
        self._deleted = {offset: _deleted_mask(leaf) for leaf, offset, _segment in self._leaves}
        self._idf_from_postings = type(searcher.weighting).idf is WeightingModel.idf and all(
            segment is not None for _leaf, _offset, segment in self._leaves
        )
        self._live: int | None = None
        self._scores: dict[tuple[str, str, float], Scores] = {}
        self._masks: dict[tuple[str, str], int] = {}
        self._values: dict[str, list[str]] = {}
        self._orders: dict[str, list[int]] = {}
        self._names: list[tuple[int, str, str]] | None = None
        self._queries: dict[Query, Scores] = {}
        self._cached_scores = 0
        self._by_term: dict[tuple[str, str], Scores] = {}
        self._lengths: dict[tuple[str, int], Any] = {}
        self._averages: dict[str, float] = {}
        self._corrections: dict[tuple[str, int], str | None] = {}
        self._words: list[str] | None = None
        self._identifiers: list[str] | None = None
        self._near: dict[str, tuple[str, ...]] = {}

    # --- bitsets ------------------------------------------------------------------------------

    def bitset(self, docnums: Any) -> int:
        """The bitset of document numbers (an array, or any iterable)."""
        if not isinstance(docnums, np.ndarray):
            docnums = np.fromiter(docnums, dtype=np.int64)
        return _bitset(docnums, self.size)

    def doc_array(self, bitset: int) -> Docs:
        """The document numbers in a bitset, ascending, as an array."""
        bits = np.unpackbits(np.frombuffer(bitset.to_bytes(self._bytes, "little"), dtype=np.uint8), bitorder="little")
        return np.flatnonzero(bits).astype(np.int64)

    def docnums(self, bitset: int) -> list[int]:
        """The document numbers in a bitset, ascending."""
        return self.doc_array(bitset).tolist()  # type: ignore[no-any-return]

    def live(self) -> int:
        """Every document not deleted, as a bitset."""
        if self._live is None:
            deleted = [np.flatnonzero(mask) + offset for offset, mask in self._deleted.items() if mask is not None]
            self._live = ((1 << self.size) - 1) & ~self.bitset(np.concatenate(deleted) if deleted else NO_DOCS)
        return self._live

    def docs(self, fieldname: str, value: str) -> int:
        """The documents having value in fieldname, as a bitset (from the sets kept per segment: SegmentSets)."""
        key = (fieldname, value)
        found = self._masks.get(key)
        if found is None:
            found = 0
            for leaf, offset, segment in self._leaves:
                if segment is None:  # a reader without segment ids: read here, never kept past this reader
                    docnums, _weights = postings(leaf, fieldname, value, weights=False)
                    found |= self.bitset(docnums.astype(np.int64) + offset)
                else:
                    found |= self.segment_sets.get(leaf, segment, fieldname, value) << offset
            found &= self.live()
            self._masks[key] = found
        return found

    def any_of(self, fieldname: str, values: tuple[str, ...]) -> int:
        """Documents having any of values in fieldname."""
        found = 0
        for value in values:
            found |= self.docs(fieldname, value)
        return found

    # --- scoring ------------------------------------------------------------------------------

    def _remember(self, count: int) -> None:
        """Count count more cached scores; past the budget, forget every cached score first."""
        if self._cached_scores + count > _MAX_CACHED_SCORES:
            self._scores.clear()
            self._by_term.clear()
            self._queries.clear()
            self._cached_scores = 0
        self._cached_scores += count

    def _live_postings(self, leaf: Any, offset: int, segment: str | None, fieldname: str, text: str) -> tuple[Any, Any]:
        """(document numbers in leaf, weights) of the term's postings of live documents, from those kept per
        segment (SegmentSets.term_postings) where the reader has segment ids."""
        if segment is None:
            return postings(leaf, fieldname, text)
        docs, weights = self.segment_sets.term_postings(leaf, segment, fieldname, text)
        deleted = self._deleted[offset]
        if deleted is not None and len(docs):
            keep = ~deleted[docs]
            return docs[keep], weights[keep]
        return docs, weights

    def _field_lengths(self, leaf: Any, offset: int, segment: str | None, fieldname: str) -> Any:
        lengths = self._lengths.get((fieldname, offset))
        if lengths is None:
            lengths = self._lengths[(fieldname, offset)] = (
                np.asarray(field_lengths(leaf, fieldname), dtype=np.float32)
                if segment is None
                else self.segment_sets.lengths(leaf, segment, fieldname)
            )
        return lengths

    def _average_length(self, fieldname: str) -> float:
        found = self._averages.get(fieldname)
        if found is None:
            found = self._averages[fieldname] = self.searcher.avg_field_length(fieldname) or 1.0
        return found

    def _idf(self, fieldname: str, text: str) -> float:
        """whoosh's idf of a term (WeightingModel.idf: documents of the index, deleted ones included, over those
        holding the term plus one), its document frequency counted from the postings kept per segment, which
        hold deleted documents too, rather than looked up in each segment's term index once more."""
        if not self._idf_from_postings:
            return self.searcher.idf(fieldname, text)  # type: ignore[no-any-return]
        sets = self.segment_sets
        frequency = sum(
            len(sets.term_postings(leaf, str(segment), fieldname, text)[0]) for leaf, _o, segment in self._leaves
        )
        return math.log(self.size / (frequency + 1)) + 1

    def term_scores(self, fieldname: str, text: str, boost: float = 1.0) -> Scores:
        """BM25F score of one term in each document containing it, times boost (the query's field boost;
        the schema's field boosts are in the posting weights already): whoosh's BM25F formula and parameters,
        over a segment's postings at once."""
        key = (fieldname, text, boost)
        found = self._scores.get(key)
        if found is not None:
            return found
        searcher = self.searcher
        scorable = searcher.schema[fieldname].scorable
        if scorable:
            idf = self._idf(fieldname, text)
            norm = _K1 * (1 - _B)
            slope = _K1 * _B / self._average_length(fieldname)
        docs: list[Docs] = []
        values: list[Any] = []
        for leaf, offset, segment in self._leaves:
            local, weights = self._live_postings(leaf, offset, segment, fieldname, text)
            if not len(local):
                continue
            weight = weights.astype(np.float64)
            if scorable:
                lengths = self._field_lengths(leaf, offset, segment, fieldname)[local].astype(np.float64)
                values.append(boost * idf * weight * (_K1 + 1) / (weight + norm + slope * lengths))
            else:
                values.append(boost * weight)
            docs.append(local.astype(np.int64) + offset)
        found = Scores(np.concatenate(docs), np.concatenate(values)) if docs else Scores.empty()
        self._remember(len(found))
        self._scores[key] = found
        self._by_term.setdefault((fieldname, text), found)
        return found

    def scores(self, query: Query) -> Scores:
        """Every document matching query with its BM25F score (an Or sums its parts, an And needs them all)."""
        if isinstance(query, Term):
            return self.term_scores(query.fieldname, _text(query.text), query.boost)
        found = self._queries.get(query)
        if found is None:
            found = self._compound_scores(query)
            self._remember(len(found))
            self._queries[query] = found
        return found

    def _compound_scores(self, query: Query) -> Scores:
        """The scores of a query made of other queries, by the rule of its kind (see _COMBINED)."""
        if query is NullQuery:
            return Scores.empty()
        for kind, rule in _COMBINED:
            if isinstance(query, kind):
                return rule(self, query)
        # Any other kind of query: whoosh finds the documents, each scores the query's boost.
        return Scores.constant(np.array(sorted(self.searcher.docs_for_query(query)), dtype=np.int64), query.boost)

    def _any_scores(self, query: Or) -> Scores:
        """Or: each document scores the sum of the parts it matches."""
        return summed([self.scores(q) for q in query.subqueries], query.boost)

    def _all_scores(self, query: And) -> Scores:
        """And: only documents matching every part, scoring the sum of the parts."""
        return common([self.scores(q) for q in query.subqueries], query.boost)

    def _but_not_scores(self, query: AndNot) -> Scores:
        """AndNot: the first part's documents and scores, less the documents of the second."""
        return self.scores(query.a).without(self.scores(query.b).docs)

    def _phrase_scores(self, query: Phrase) -> Scores:
        """Phrase: the documents holding the words at consecutive positions; the phrase scores as the sum of
        its words."""
        docs = self.phrase_docs(query)
        if not len(docs):
            return Scores.empty()
        words = [self.term_scores(query.fieldname, _text(w)) for w in query.words]
        return summed(words).only(docs).scaled(query.boost)

    def phrase_docs(self, query: Phrase, candidates: Docs | None = None) -> Docs:
        """The documents (of candidates, when given) holding the phrase.

        Where the schema indexes the field's pairs (pairs.py): those holding every pair of its neighbouring words
        (a phrase of two words is its pair), and for a longer phrase, those where the pairs stand one place after
        the other. Elsewhere: those holding every word, then the words' positions in those documents only. Both
        from the postings kept per segment."""
        schema = self.searcher.schema
        words = [_text(w) for w in query.words]
        paired = pairs.has_pairs(schema, query.fieldname)
        field = schema[query.fieldname] if query.fieldname in schema else None
        positions = field is not None and bool(field.format) and field.format.supports("positions")
        if query.slop != 1:  # not a plain phrase: whoosh's span matcher decides, from word positions
            if not positions:
                return NO_DOCS  # whoosh raises QueryError
            found = np.array(sorted(self.searcher.docs_for_query(query)), dtype=np.int64)
            return found if candidates is None else shared(found, candidates)
        if not paired and not positions:
            return NO_DOCS  # a field without positions cannot hold a phrase (whoosh raises QueryError)
        found_parts: list[Docs] = []
        for leaf, offset, segment in self._leaves:
            holding = None
            if candidates is not None:
                end = offset + leaf.doc_count_all()
                holding = candidates[(candidates >= offset) & (candidates < end)] - offset
            holding = self._holding_parts(leaf, offset, segment, query.fieldname, words, holding, paired)
            if holding is None or not len(holding):
                continue
            if not paired:
                holding = self._phrase_in(leaf, segment, query.fieldname, words, holding)
            elif len(words) > 2:
                holding = self._phrase_in(
                    leaf, segment, pairs.FIELD, pairs.phrase_terms(query.fieldname, words), holding
                )
            found_parts.append(holding.astype(np.int64) + offset)
        return np.concatenate(found_parts) if found_parts else NO_DOCS

    def _holding_parts(
        self,
        leaf: Any,
        offset: int,
        segment: str | None,
        fieldname: str,
        words: list[str],
        holding: Any,
        paired: bool,
    ) -> Any:
        """The documents of holding (numbers in leaf; every document when None) holding every part of a phrase
        of words in fieldname: every pair of neighbouring words where the schema indexes the field's pairs (paired:
        pairs.py), else every word. None when holding is None and the phrase has no part."""
        if len(words) > 1 and paired:
            parts = [(pairs.FIELD, pair) for pair in dict.fromkeys(pairs.phrase_terms(fieldname, words))]
        else:
            parts = [(fieldname, word) for word in dict.fromkeys(words)]
        for name, text in parts:
            local, _weights = self._live_postings(leaf, offset, segment, name, text)
            holding = local if holding is None else shared(holding, local)
            if not len(holding):
                break
        return holding

    def _phrase_in(self, leaf: Any, segment: str | None, fieldname: str, words: list[str], holding: Any) -> Docs:
        """The documents of holding (numbers in leaf) where words stand one after the other.

        Keys are where the phrase would start (a word's position less its place in the phrase); the words are
        taken rarest first, and each next word's positions are read only in the documents still matching."""
        frequency = dict.fromkeys(words, 0)
        if segment is not None:
            frequency = {w: len(self.segment_sets.term_postings(leaf, segment, fieldname, w)[0]) for w in words}
        starts = None
        for place, word in sorted(enumerate(words), key=lambda item: frequency[item[1]]):
            here = self._positions(leaf, segment, fieldname, word, holding)
            here = here[(here & 0xFFFFFFFF) >= place] - place  # a word before its place starts no phrase
            if starts is None:
                starts = here[within(here >> 32, holding)]
            else:
                at = np.searchsorted(here, starts)
                inside = at < len(here)
                inside[inside] = here[at[inside]] == starts[inside]
                starts = starts[inside]
            if not len(starts):
                return NO_DOCS
            holding = np.unique(starts >> 32)
        assert starts is not None
        return np.unique(starts >> 32)

    def _positions(self, leaf: Any, segment: str | None, fieldname: str, word: str, holding: Any) -> Any:
        """The word's position keys in leaf: all of them, kept per segment, when the documents asked for are in
        most of its blocks anyway; else read for those documents only (the blocks holding them).

        Reading every position of a common word costs as much as the catalogue is large, and a phrase (or the
        whole query, checked to rank) is mostly checked in a few documents of each block: reading those blocks
        only keeps a search's cost near that of the documents checked."""
        if segment is not None:
            sets = self.segment_sets
            if sets.has_positions(segment, fieldname, word):
                return sets.positions(leaf, segment, fieldname, word)
            kept, _weights = sets.term_postings(leaf, segment, fieldname, word)
            if _blocks_holding(kept, holding) >= _READ_WHOLE * -(-len(kept) // BLOCK_POSTINGS):
                return sets.positions(leaf, segment, fieldname, word)
            found = position_keys(leaf, fieldname, word, holding, kept)
            sets.positions_read += len(found)
            return found
        return position_keys(leaf, fieldname, word, holding)

    def among(self, query: Query, candidates: Docs) -> Docs:
        """The documents of candidates (ascending) that match query: phrases are checked in those documents
        only, everything else is read from its scores."""
        if isinstance(query, Or):
            found = NO_DOCS
            for part in query.subqueries:
                found = np.union1d(found, self.among(part, candidates))
            return found
        if isinstance(query, Phrase):
            return self.phrase_docs(query, candidates)
        return shared(self.scores(query).docs, candidates)

    def may_hold(self, query: Query, candidates: Docs) -> Docs:
        """The documents of candidates (ascending) that may match query, read from postings alone: a phrase's
        documents holding every pair of its neighbouring words (or every word) in its field (its word positions
        are not read), and for anything else those among() finds. Every document matching query is among
        them."""
        if isinstance(query, Or):
            found = NO_DOCS
            for part in query.subqueries:
                found = np.union1d(found, self.may_hold(part, candidates))
            return found
        if not isinstance(query, Phrase) or query.slop != 1 or query.fieldname not in self.searcher.schema:
            return self.among(query, candidates)
        words = [_text(w) for w in query.words]
        paired = pairs.has_pairs(self.searcher.schema, query.fieldname)
        found_parts: list[Docs] = []
        for leaf, offset, segment in self._leaves:
            end = offset + leaf.doc_count_all()
            holding = candidates[(candidates >= offset) & (candidates < end)] - offset
            if len(holding):
                holding = self._holding_parts(leaf, offset, segment, query.fieldname, words, holding, paired)
            if len(holding):
                found_parts.append(holding.astype(np.int64) + offset)
        return np.concatenate(found_parts) if found_parts else NO_DOCS

    def _expanded_scores(self, query: MultiTerm) -> Scores:
        """Prefix or wildcard: the sum over the terms it stands for in the lexicon (at most _EXPANSIONS)."""
        terms: Iterator[tuple[str, Any]]
        if type(query) is Prefix and query.fieldname in self.searcher.schema:
            # From the lexicon kept in memory (values: sorted as whoosh's own lexicon, by code point), where
            # whoosh walks its term index on disk a term at a time.
            words = self.values(query.fieldname)
            start = bisect.bisect_left(words, query.text)
            found = itertools.takewhile(lambda word: word.startswith(query.text), words[start : start + _EXPANSIONS])
            terms = ((query.fieldname, word) for word in found)
        else:
            terms = itertools.islice(query.expanded_terms(self.reader), _EXPANSIONS)
        return summed([self.term_scores(name, _text(text)) for name, text in terms] or [Scores.empty()], query.boost)

    def has(self, docnum: int, fieldname: str, text: str) -> bool:
        """Whether the document holds the term (known from its scores, read again if they were forgotten)."""
        scores = self._by_term.get((fieldname, text))
        if scores is None:
            scores = self.term_scores(fieldname, text)
        return docnum in scores

    # --- lexicon, sort orders, stored values --------------------------------------------------

    def values(self, fieldname: str) -> list[str]:
        """Every value indexed in fieldname."""
        found = self._values.get(fieldname)
        if found is None:
            if all(segment is not None for _leaf, _offset, segment in self._leaves):
                # From the lexicons kept per segment (SegmentSets): after a write only the new one is read.
                found = self._merged_lexicon(fieldname)
            else:
                found = [_text(t) for t in self.reader.lexicon(fieldname)]
            self._values[fieldname] = found
        return found

    def _merged_lexicon(self, fieldname: str) -> list[str]:
        """The union of the segments' lexicons of fieldname, sorted: that of the big segments (kept while they
        are there: SegmentSets.merged_lexicon) itself when the small ones (recent writes) add no value to it, else
        that list with the few new values merged in."""
        sets = self.segment_sets
        leaves = sorted(self._leaves, key=lambda item: -item[0].doc_count_all())
        big = [(leaf, str(segment)) for leaf, _o, segment in leaves if leaf.doc_count_all() > sets.SMALL_SEGMENT]
        base = big or [(leaves[0][0], str(leaves[0][2]))]  # every segment small: the largest is the base
        merged, merged_set = sets.merged_lexicon(base, fieldname)
        others = [sets.lexicon(leaf, str(segment), fieldname) for leaf, _o, segment in leaves[len(base) :]]
        if not any(others):
            return merged
        new = set().union(*others).difference(merged_set)
        if not new:
            return merged
        if len(new) > self._INSERTED:
            return sorted(merged + sorted(new))  # two sorted runs: one merge
        merged = merged.copy()  # the kept list stays as it is, for the next reader
        for value in sorted(new):  # a write adds a few values: each goes in its place (no sort of the whole list)
            bisect.insort(merged, value)
        return merged

    _INSERTED = 32
    """New values past which a merged lexicon is sorted whole rather than each inserted in its place."""

    def _column(self, fieldname: str) -> list[Any]:
        """The column's value of every document, by document number.

        whoosh can leave a fresh segment's column shorter than its documents (iterating the reader then
        yields fewer values and indexing it raises IndexError). A document missing from its column takes
        the value from its stored fields (its name), or for the time of change the newest one, since only
        the latest writes are in such a segment: it is shown in its place rather than never shown.
        """
        column = self.reader.column_reader(fieldname)
        values: list[Any] = []
        missing: list[int] = []
        for docnum in range(self.size):
            try:
                values.append(column[docnum])
            except IndexError:
                values.append(None)
                missing.append(docnum)
        if missing:
            newest = max((v for v in values if isinstance(v, int)), default=0)
            for docnum in missing:
                if fieldname == "name_sort":
                    values[docnum] = str(self.reader.stored_fields(docnum).get("name", "")).casefold()
                else:
                    values[docnum] = newest
        return values

    def order(self, sort: str) -> list[int]:
        """Every document number in the order of sort ("name", or "updated": newest first, then by name)."""
        found = self._orders.get(sort)
        if found is None:
            # Read by document number: iterating a multi-segment column reader can yield fewer values than
            # there are documents (a fresh segment's), and a document left out of the order is never shown.
            names = self._column("name_sort")
            if sort == "updated":
                updated = self._column("updated")
                found = sorted(range(len(names)), key=lambda d: (-updated[d], names[d], d))
            else:
                found = sorted(range(len(names)), key=lambda d: (names[d], d))
            self._orders[sort] = found
        return found

    def names(self) -> list[tuple[int, str, str]]:
        """(docnum, name, service id) of every service document."""
        if self._names is None:
            self._names = [
                (docnum, stored.get("name", ""), stored.get("service", ""))
                for docnum, stored in self.reader.iter_docs()
                if stored.get("kind") == "service"
            ]
        return self._names

    def visible(self, rule: Visibility) -> int:
        """The service documents a reader with rule may see: each visible service exactly once."""
        if rule.everything:
            return self.docs("latest", "1")
        public = self.docs("public", "1")
        if rule.organisation_id is None:
            return public
        own = self.docs("org_id", str(rule.organisation_id))
        return (public & ~own) | (own & self.docs("latest", "1"))

    def sections(self) -> int:
        """The document sections (visible to everyone)."""
        return self.docs("kind", "section")

    def correction(self, word: str, maxdist: int) -> str | None:
        """The most frequent indexed word within maxdist edits of word (same first letter), or None.

        The same choice as whoosh's reader corrector (a Levenshtein automaton with the first letter fixed), searched
        in the vocabulary held in memory: the words of that first letter and a length within maxdist, each
        measured with a bounded Levenshtein distance (a tenth of the time of building the automaton per word).
        """
        key = (word, maxdist)
        if key not in self._corrections:
            if self._words is None:
                self._words = self.values("words")
            best: tuple[int, str] | None = None
            for candidate in _near_words(self._words, word, maxdist):
                frequency = self.reader.frequency("words", candidate)
                if best is None or frequency > best[0] or (frequency == best[0] and candidate < best[1]):
                    best = (frequency, candidate)
            self._corrections[key] = best[1] if best else None
        return self._corrections[key]

    def near_identifiers(self, word: str) -> tuple[str, ...]:
        """The indexed identifier forms (vocabulary.looks_like_identifier) that word, folded, is close to in
        spelling or that it nearly starts: a word typed like a name is answered as typed, never replaced."""
        if len(word) < 3:
            return ()
        key = (word, -1)
        if key not in self._corrections:
            if self._identifiers is None:
                self._identifiers = self.values("identifiers")
            maxdist = 1 if len(word) <= 5 else 2
            forms = _starting(self._identifiers, word[0])
            # Close to the whole form, or to its start (the word nearly starts it).
            # (Thousands of forms share a first letter at tens of thousands of services: the starts are cut and
            # the close ones picked in compiled code, not in a Python loop over every form.)
            whole = process.cdist([word], forms, scorer=Levenshtein.distance, score_cutoff=maxdist)[0]
            starts = list(map(operator.itemgetter(slice(len(word))), forms))
            start = process.cdist([word], starts, scorer=Levenshtein.distance, score_cutoff=maxdist)[0]
            close = np.flatnonzero(np.minimum(whole, start) <= maxdist).tolist()
            self._near[word] = tuple(forms[i] for i in close)
            self._corrections[key] = None
        return self._near.get(word, ())


_READ_WHOLE = 0.5
"""The share of a posting list's blocks from which a word's every position is read (and kept) rather than those of
the documents asked for."""


def _blocks_holding(postings: Docs, docs: Docs) -> int:
    """How many blocks of a posting list (its document numbers, ascending) hold one of docs (all among them)."""
    if not len(docs):
        return 0
    return len(np.unique(np.searchsorted(postings, docs) // BLOCK_POSTINGS))


def _starting(words: list[str], letter: str) -> list[str]:
    """The words of sorted words that start with letter."""
    first = bisect.bisect_left(words, letter)
    return words[first : bisect.bisect_left(words, chr(ord(letter) + 1), first)]


def _near_words(words: list[str], word: str, maxdist: int) -> Iterator[str]:
    """The words of sorted words, other than word, sharing its first letter and within maxdist edits of it
    (Levenshtein distances measured by rapidfuzz, in compiled code, all candidates in one call)."""
    if not word:
        return
    candidates = _starting(words, word[0])
    distances = process.cdist([word], candidates, scorer=Levenshtein.distance, score_cutoff=maxdist)[0]
    yield from (c for c, d in zip(candidates, distances.tolist(), strict=True) if d <= maxdist and c != word)


_COMBINED: tuple[tuple[type[Query], Callable[[_ReaderView, Any], Scores]], ...] = (
    (Or, _ReaderView._any_scores),
    (And, _ReaderView._all_scores),
    (AndNot, _ReaderView._but_not_scores),
    (Phrase, _ReaderView._phrase_scores),
    (MultiTerm, _ReaderView._expanded_scores),
)
"""How each kind of compound query scores, tried in this order (the first kind the query is an instance of)."""


@dataclass(frozen=True)
class _Answer:
    """What the text of a request matched: scores, the documents shown (all units matched, else the best
    partial matches), those named by the whole query, and the spelling suggestion."""

    scores: Scores
    matched: int
    named: Docs
    partial: bool
    suggestion: str | None
    corrected: bool
    plan: Plan


class Searching:
    """Search over one SearchIndex, with results cached until the index changes.

    ``search(SearchRequest.build(), rule)`` with no text answers at once with every facet's counts over
    the services rule may see (the home page's GSBPM matrix reads ``facets["subprocess"]``); add
    ``filters={"status": ["approved"]}`` to count approved services only.
    """

    CACHE_SIZE = 64
    """Answers kept (about 40 KB each at 10,000 services). The API's answers are also kept as bytes by
    catalogue.conditional.AnswerCache, so this mostly serves the pages: the home page's counts, a search page
    paged through or refined."""

    def __init__(self, search_index: SearchIndex) -> None:
        self.index = search_index
        self._view: _ReaderView | None = None
        self._view_token: Any = None
        self._cache: OrderedDict[Any, Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.segment_sets = SegmentSets()

    def _reader_view(self) -> _ReaderView:
        searcher = self.index.searcher(check=False)  # search() and suggest() caught up and checked just before
        token = self.index.generation_token(check=False)
        if self._view is None or token != self._view_token:
            self._view, self._view_token = _ReaderView(searcher, self.segment_sets), token
            with self._cache_lock:
                self._cache.clear()
        return self._view

    def clear_cache(self, reader: bool = False) -> None:
        """Forget every cached answer, and with reader also what was derived from the open reader
        (benchmarks measure uncached searches, and the first search after a write, with this)."""
        with self._cache_lock:
            self._cache.clear()
        if reader:
            with self.index.lock:
                self._view = None  # the sets kept per segment stay: a rebuilt or healed index has new segments

    def _cached(self, key: Any) -> Any:
        with self._cache_lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def _store(self, key: Any, value: Any) -> None:
        with self._cache_lock:
            self._cache[key] = value
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)

    def search(self, request: SearchRequest, rule: Visibility) -> SearchResult:
        """Answer request for a reader with rule; catches up with the database first.

        Facet counts are over the services shown (matching the text) and every active filter except the
        facet's own (so a reader can widen a choice); document sections never count in them.
        """
        self.index.catch_up()
        with self.index.lock:
            view = self._reader_view()
            key = (request, rule)
            cached: SearchResult | None = self._cached(key)
            if cached is not None:
                return cached
            result = answer(request, rule, view)
            self._store(key, result)
            return result

    def suggest(self, prefix: str, rule: Visibility, limit: int = 10) -> list[dict[str, str]]:
        """Autocomplete: service names with a word starting with prefix, then keywords, that the reader may see."""
        prefix = prefix.strip().casefold()
        if not prefix:
            return []
        self.index.catch_up()
        with self.index.lock:
            view = self._reader_view()
            visible = view.visible(rule)
            key = ("suggest", prefix, rule, limit)
            cached: list[dict[str, str]] | None = self._cached(key)
            if cached is not None:
                return cached
            shown = set(view.docnums(visible))
            folded = compact(prefix)

            def starts(name: str) -> bool:
                # A word of the name, or one of its forms as typed (x13 → X-13ARIMA-SEATS, tau → τ-ARGUS).
                if any(word.startswith(prefix) for word in name.casefold().split()):
                    return True
                return len(folded) >= 2 and any(form.startswith(folded) for form in name_forms(name)[0])

            names = [
                {"kind": "service", "value": name, "id": service}
                for docnum, name, service in view.names()
                if docnum in shown and starts(name)
            ]
            names.sort(key=lambda n: (not n["value"].casefold().startswith(prefix), n["value"].casefold()))
            keywords = [
                {"kind": "keyword", "value": k}
                for k in view.values("keywords")
                if k.startswith(prefix) and view.docs("keywords", k) & visible
            ]
            found = (names + keywords)[:limit]
            self._store(key, found)
            return found


def _unit_docs(view: _ReaderView, meaning: Plan) -> list[Scores]:
    return [view.scores(unit.query) for unit in meaning.units]


def _replace_words(text: str, replacements: dict[str, str]) -> str:
    """text with each typed word (folded) that has a replacement replaced, everything else as typed."""

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        core = word.strip(".,;:!?()[]{}")
        found = replacements.get(fold(core))
        return word.replace(core, found) if found else word

    parts = re.split(r'("[^"]*"?)', text)
    return "".join(part if part.startswith('"') else re.sub(r"[^\s\"]+", replace, part) for part in parts)


def _spelling(view: _ReaderView, meaning: Plan) -> tuple[dict[str, str], dict[str, str], dict[str, tuple[str, ...]]]:
    """For each plain word that matches nothing: (replacements made, suggested only, names it is close to).

    A word close to a name or identifier in the index (vocabulary.looks_like_identifier) is never replaced: it
    finds those names, and the nearest word is only suggested ("search instead for"). Others are replaced by
    the most frequent indexed word within one or two edits.
    """
    replace: dict[str, str] = {}
    suggest: dict[str, str] = {}
    near: dict[str, tuple[str, ...]] = {}
    for unit, docs in zip(meaning.units, _unit_docs(view, meaning), strict=True):
        word = fold(unit.text)
        if docs or not unit.correctable or len(word) < 3:
            continue
        option = view.correction(word, 2 if len(word) > 5 else 1)
        names = view.near_identifiers(compact(unit.text))
        if names:
            near[word] = names
            if option:
                suggest[word] = option
        elif option:
            replace[word] = option
    return replace, suggest, near


def _evaluate(view: _ReaderView, meaning: Plan, scope: int, target: int) -> tuple[Scores, int, bool]:
    """(scores, documents shown, partial): the documents matching every unit; when none of them is in target,
    those matching the most units, with partial True."""
    every = meaning.all_units()
    if every is None:
        return Scores.empty(), 0, False
    scores = view.scores(every)
    matched = view.bitset(scores.docs) & scope
    if matched & target or len(meaning.units) < 2:
        return scores, matched, False
    parts = _unit_docs(view, meaning)
    docs, counts = coverage(parts)  # how many units each document matches
    in_target = within(docs, view.doc_array(target))
    best = int(counts[in_target].max()) if in_target.any() else 0
    if not best:
        return Scores.empty(), 0, False
    chosen = summed(parts).only(docs[counts >= best])
    return chosen, view.bitset(chosen.docs) & scope, True


def _understand(text: str, view: _ReaderView, scope: int, target: int) -> _Answer:
    """What text matches in scope, with target (the kind of document asked for) deciding whether every unit
    matched something and whether a corrected spelling is answered instead."""
    schema = view.searcher.schema
    words = vocabulary()
    first = plan(schema, text, words)
    replace, suggest, near = _spelling(view, first)
    chosen = plan(schema, text, words, near) if near else first
    suggestion = _replace_words(text, {**suggest, **replace}) if (replace or suggest) else None
    corrected = False
    if replace and '"' not in text:
        # The unknown words matched nothing, so the corrected query can only say more: answer it, and say so.
        # A quoted query is taken literally (the suggestion is still offered).
        assert suggestion is not None
        fixed = plan(schema, _replace_words(text, replace), words, near)
        scores, matched, partial = _evaluate(view, fixed, scope, target)
        if matched & target:
            chosen, corrected = fixed, True
            suggestion = _replace_words(text, replace) if not suggest else suggestion
    if not corrected:
        scores, matched, partial = _evaluate(view, chosen, scope, target)
    named = view.scores(chosen.name).docs if chosen.name is not None and matched else NO_DOCS
    return _Answer(scores, matched, named, partial, suggestion, corrected, chosen)


def _facets(
    view: _ReaderView, matched_services: int, filters: dict[str, tuple[str, ...]], per_facet: dict[str, int]
) -> dict[str, list[FacetValue]]:
    """Each facet's values counted over the services shown, under every active filter but the facet's own."""
    facets = {}
    for name in FACETS:
        base = matched_services
        for other, docs in per_facet.items():
            if other != name:
                base &= docs
        selected = set(filters.get(name, ()))
        counts = [FacetValue(v, (base & view.docs(name, v)).bit_count(), v in selected) for v in view.values(name)]
        facets[name] = sorted((c for c in counts if c.count or c.selected), key=lambda c: (-c.count, c.value))
    return facets


def answer(request: SearchRequest, rule: Visibility, view: _ReaderView) -> SearchResult:
    """The answer to request for a reader with rule, read from view (Searching.search adds the catch-up with
    the database, the lock and the cache; tests of ranking at scale call this on an index of their own)."""
    services = view.visible(rule)
    sections = view.sections()
    scope = services | sections
    target = {"service": services, "section": sections, "all": scope}[request.kind]
    understood = _understand(request.q, view, scope, target) if request.q else None
    matched = understood.matched if understood else scope

    filters = request.filter_dict()
    per_facet = {name: view.any_of(name, values) for name, values in filters.items()}
    filtered = matched & services
    for docs in per_facet.values():
        filtered &= docs
    facets = _facets(view, matched & services, filters, per_facet)

    beside_understood = understood
    if understood is not None and request.sections and request.kind == "service":
        # The sections listed beside the services: every word matched in them, whatever the services matched.
        beside_understood = _understand(request.q, view, scope, sections)
    matched_sections = (beside_understood.matched if beside_understood else scope) & sections
    # Sections have no facet values: with kind "all" a filter leaves them out, kind "section" ignores filters.
    allowed = {
        "service": filtered,
        "section": matched & sections,
        "all": filtered | (0 if filters else matched & sections),
    }[request.kind]
    total = allowed.bit_count()
    start = (request.page - 1) * request.per_page
    hits = _page(view, request, understood, allowed, start, request.per_page) if start < total else []
    beside: list[Hit] = []
    if request.sections and matched_sections:
        beside = _page(view, request, beside_understood, matched_sections, 0, request.sections)
    return SearchResult(
        request=request,
        total=total,
        hits=hits,
        facets=facets,
        suggestion=understood.suggestion if understood else None,
        corrected=understood.corrected if understood else False,
        partial=understood.partial if understood else False,
        sections=beside,
        sections_total=matched_sections.bit_count(),
    )


def _page(
    view: _ReaderView, request: SearchRequest, understood: _Answer | None, allowed: int, start: int, count: int
) -> list[Hit]:
    """Hits start..start+count of the documents in allowed, in the request's order."""
    need = start + count
    relevance = understood is not None and request.sort == "relevance"
    scores = understood.scores if understood else Scores.empty()
    if relevance:
        assert understood is not None
        docs = view.doc_array(allowed)
        values = scores.of(docs)
        named = within(docs, understood.named)
        phrase = _holding_phrase(view, understood.plan.phrase, docs, values, named, need)
        # A service whose whole name the query is first, then those holding the query as a phrase, then by BM25F;
        # ties by document number, so paging is stable (lexsort: the last key first, each ascending).
        ranked = np.lexsort((docs, -values, ~phrase, ~named))
        chosen: list[int] = docs[ranked[start:need]].tolist()
    else:
        wanted = set(view.docnums(allowed))
        order = view.order("updated" if request.sort == "updated" else "name")
        chosen = list(itertools.islice((d for d in order if d in wanted), start, need))
    terms: dict[str, set[str]] = {}
    typed: list[str] = []
    if understood is not None:
        queries = [unit.marked for unit in understood.plan.units]
        # Leaf by leaf: whoosh's existing_terms() keeps only the first field's terms of a multi-field query.
        for query in queries:
            for leaf in query.leaves():
                if leaf.field() not in _HIGHLIGHTED:
                    continue
                for name, text in leaf.expanded_terms(view.reader, phrases=True):
                    terms.setdefault(name, set()).add(_text(text))
        typed = [compact(t.text) for t in tokens(request.q) if not t.wildcard]
    return [_hit(view, docnum, scores.get(docnum) if relevance else None, terms, typed) for docnum in chosen]


_FIRST_CHECKED = 64
_GROWTH = 4
"""Documents first checked for the whole query as a phrase (four times more at each next step)."""


def _holding_phrase(view: _ReaderView, phrase: Query | None, docs: Docs, values: Any, named: Any, need: int) -> Any:
    """Which of docs hold the whole query as a phrase, as far as the first need documents of the ranking can
    tell (named first, then holding the phrase, then by score: see _page); the others are False.

    Checking a phrase of more than two words reads positions (of its pairs, or of its words where the schema
    indexes no pairs), and a query of common words matches thousands of documents. So the
    named documents are checked, then the others from the best score down, in growing steps, until need of
    them hold the phrase: any document left unchecked ranks after those whatever it holds.
    """
    found = np.zeros(len(docs), dtype=bool)
    if phrase is None or not len(docs):
        return found
    # Only documents holding every word (or every pair) of the phrase in one field can hold it: the others are
    # never checked (their postings are read already, positions are what costs).
    possible = within(docs, view.may_hold(phrase, docs))
    if not possible.any():
        return found
    named = named & possible
    if named.any():
        found[named] = within(docs[named], view.among(phrase, docs[named]))
    rest = np.flatnonzero(~named & possible)
    rest = rest[np.lexsort((docs[rest], -values[rest]))]  # best score first, then by document number
    step, held = _FIRST_CHECKED, 0
    while len(rest) and held < need:
        batch, rest = rest[:step], rest[step:]
        batch.sort()  # docs are ascending, so their places in it too
        holding = within(docs[batch], view.among(phrase, docs[batch]))
        found[batch[holding]] = True
        held += int(holding.sum())
        step *= _GROWTH
    return found


def _hit(view: _ReaderView, docnum: int, score: float | None, terms: dict[str, set[str]], typed: list[str]) -> Hit:
    stored = view.searcher.stored_fields(docnum)
    schema = view.searcher.schema
    highlights = {}
    name = stored.get("name", "")
    marked = passages.title(name, schema["name"].analyzer, terms.get("name", set()), typed) if name else None
    if marked:
        highlights["name"] = marked
    for fieldname in ("purpose", "description"):
        text = stored.get(fieldname)
        # Analysing a text is most of a highlight's cost: only texts holding a matched term are.
        wanted = terms.get(fieldname)
        if text and wanted and any(view.has(docnum, fieldname, term) for term in wanted):
            snippet = passages.passage(text, schema[fieldname].analyzer, wanted)
            if snippet:
                highlights[fieldname] = snippet
    if stored.get("kind") == "section":
        return Hit(
            id=stored["service"],
            version="",
            name=name,
            organisation="",
            purpose=stored.get("purpose", ""),
            status="",
            subprocesses=[],
            score=score,
            highlights=highlights,
            kind="section",
            url=stored.get("url"),
            audiences=[a for a in stored.get("audiences", "").split(",") if a],
        )
    return Hit(
        id=stored["service"],
        version=stored["version"],
        name=name,
        organisation=stored["organisation"],
        purpose=stored.get("purpose", ""),
        status=stored.get("status", ""),
        subprocesses=[s for s in stored.get("subprocess", "").split(",") if s],
        score=score,
        highlights=highlights,
    )
