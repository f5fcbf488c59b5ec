"""Searching the index: free text with BM25F, filters and facet counts, highlights, did-you-mean, autocomplete.

What the text means is matching.plan's: units (words, quoted phrases, phrases of synonyms.yaml) that every hit
must match. `answer` shows the documents matching every unit, ranked whole name first, then the whole query
as a phrase, then BM25F; only when none is of the kind asked for, those matching the most units (`partial`).

How a search stays fast at tens of thousands of services: whoosh stores the postings, and everything
derived from them is computed once per open reader (one "view", replaced whenever the index changes):

- each document set (the documents of a term, of a facet value, of an audience) is a Python integer used
  as a bitset, so filters are `&`, "any of" is `|` and a facet count is one `(base & value).bit_count()`;
  these sets are kept per index segment (SegmentSets), so a write costs the next search only its own segment;
- each term's BM25F contribution per document is computed once from its postings, so a free-text query
  is a sum over a few cached dictionaries, and only the page of hits shown is built and highlighted;
- phrases are checked by whoosh, prefixes and wildcards expanded from the lexicon;
- whole answers are cached, keyed by the request and the reader's audience, until the index changes.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import logging
import re
import threading
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import (
    And,
    AndNot,
    MultiTerm,
    NullQuery,
    Or,
    Phrase,
    Query,
    QueryError,
    Term,
)
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from catalogue.search import passages
from catalogue.search.index import FACETS, SearchIndex
from catalogue.search.matching import Plan, plan
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


class FastPaths:
    """How often each fast path over whoosh-reloaded's private internals was taken, or fell back.

    Reading postings in blocks and field lengths in one call is what keeps the first search after a
    write fast, and both read private names (listed where each is used). A whoosh-reloaded that renames
    them still gives the same answers through its public interface, only several times slower; so
    tests/search/test_fast_paths.py checks that no fallback happens on a real index (an upgrade fails
    the suite instead of slowing searches down), and the first fallback in a process is logged.
    """

    POSTINGS_IN_BLOCKS = "postings read in blocks"
    DELETIONS_IN_BLOCKS = "deleted documents skipped in blocks"
    LENGTHS_IN_ONE_CALL = "field lengths read in one call"

    def __init__(self) -> None:
        self.taken: Counter[str] = Counter()
        self.fallbacks: Counter[str] = Counter()

    def take(self, path: str) -> None:
        """Count one use of the fast path."""
        self.taken[path] += 1

    def fall_back(self, path: str) -> None:
        """Count one use of the public interface where the fast path could not be taken."""
        if not self.fallbacks[path]:
            log.warning(
                "search: whoosh-reloaded's internals are not as expected, so the fast path '%s' falls back "
                "to the public interface (same answers, slower searches)",
                path,
            )
        self.fallbacks[path] += 1

    def reset(self) -> None:
        """Forget every count."""
        self.taken.clear()
        self.fallbacks.clear()


FAST_PATHS = FastPaths()

# The private names of whoosh-reloaded's block matcher (whoosh.codec.whoosh3.W3LeafMatcher) read below.
_BLOCK_API = ("_read_ids", "_read_weights", "_next_block", "_ids", "_weights", "_i")


def _live_matcher(matcher: Any) -> tuple[Container[int], Any]:
    """The documents deleted from a segment and the matcher of every document, when the matcher is whoosh's
    filter of deleted documents (its private `_exclude` and `_ids`); else no deletions and matcher itself."""
    if not isinstance(matcher, FilterMatcher):
        return (), matcher
    if getattr(matcher, "_exclude", False) is True and isinstance(getattr(matcher, "_ids", None), Container):
        FAST_PATHS.take(FastPaths.DELETIONS_IN_BLOCKS)
        return matcher._ids, matcher.child
    FAST_PATHS.fall_back(FastPaths.DELETIONS_IN_BLOCKS)
    return (), matcher


def _postings(
    leaf: Any, fieldname: str, text: str, weights: bool = True, live: bool = True
) -> Iterator[tuple[int, float]]:
    """(document number, weight) of each live posting of a term in one segment (weight 1.0 unless weights);
    with live False, deleted documents too where whoosh lets them be read (for sets kept per segment, which the
    documents deleted since are taken out of).

    Whole blocks at a time from whoosh's on-disk matcher when it has the shape we know (several times
    faster than a call per posting, which is what makes the first search after a write slow); the
    public matcher interface otherwise (counted in FAST_PATHS).
    """
    try:
        matcher = leaf.postings(fieldname, text)
    except TermNotFound:
        return
    deleted, matcher = _live_matcher(matcher)
    if not live:
        deleted = ()
    if not all(hasattr(matcher, name) for name in _BLOCK_API):
        FAST_PATHS.fall_back(FastPaths.POSTINGS_IN_BLOCKS)
        while matcher.is_active():
            if matcher.id() not in deleted:
                yield matcher.id(), matcher.weight() if weights else 1.0
            matcher.next()
        return
    FAST_PATHS.take(FastPaths.POSTINGS_IN_BLOCKS)
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        ids = matcher._ids[matcher._i :]
        if weights:
            if matcher._weights is None:
                matcher._read_weights()
            block: Iterator[tuple[int, float]] = zip(ids, matcher._weights[matcher._i :], strict=True)
        else:
            block = zip(ids, itertools.repeat(1.0))
        yield from ((d, w) for d, w in block if d not in deleted) if deleted else block
        matcher._next_block()


_LENGTH_OF_BYTE = tuple(max(1, byte_to_length(byte)) for byte in range(256))


def _field_lengths(leaf: Any, fieldname: str) -> array[int]:
    """The length of fieldname in every document of a leaf reader, as an array of int32 (a tenth of a
    dictionary's memory).

    whoosh answers one document per call, and each call reads the file; its length column (one byte per
    document) is read here whole, in one call, through the codec's column reader (the private
    `_perdoc._cached_reader`, and the column's `_dbfile`, `_basepos` and `_count`). Where the codec
    differs, the public call per document is used (counted in FAST_PATHS).
    """
    count: int = leaf.doc_count_all()
    cached_reader = getattr(getattr(leaf, "_perdoc", None), "_cached_reader", None)
    if cached_reader is not None:
        column = cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        if column is None:
            # No document of this segment has the field, so whoosh writes no column: every length is 1.
            FAST_PATHS.take(FastPaths.LENGTHS_IN_ONE_CALL)
            return array("i", [1]) * count
        if all(hasattr(column, name) for name in ("_dbfile", "_basepos", "_count")):
            FAST_PATHS.take(FastPaths.LENGTHS_IN_ONE_CALL)
            lengths = array("i", (_LENGTH_OF_BYTE[byte] for byte in column._dbfile.get(column._basepos, column._count)))
            lengths.extend([1] * (count - len(lengths)))
            return lengths
    FAST_PATHS.fall_back(FastPaths.LENGTHS_IN_ONE_CALL)
    return array("i", (leaf.doc_field_length(docnum, fieldname, 1) or 1 for docnum in range(count)))


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _add(parts: list[dict[int, float]], factor: float = 1.0) -> dict[int, float]:
    """Sum of score dictionaries (a new dictionary, except for one part unscaled: cached parts are shared)."""
    if len(parts) == 1 and factor == 1.0:
        return parts[0]
    total: dict[int, float] = {}
    get = total.get
    for part in parts:
        for docnum, score in part.items():
            total[docnum] = get(docnum, 0.0) + score
    if factor != 1.0:
        total = {docnum: score * factor for docnum, score in total.items()}
    return total


_MAX_CACHED_SCORES = 120_000
"""Document scores (per term and per compound query) kept per reader; past this many they are dropped, so a
worker's memory stays bounded however many different queries it answers (about 100 bytes each: 12 MB). A
query asked again is answered from the answer caches, so these only speed up new queries sharing a word."""


def _bitset(docnums: Any, size: int) -> int:
    """The bitset of an iterable of document numbers below size."""
    bits = bytearray(size // 8 + 1)
    for docnum in docnums:
        bits[docnum >> 3] |= 1 << (docnum & 7)
    return int.from_bytes(bits, "little")


class SegmentSets:
    """The documents of each term asked for as a filter or facet (`_ReaderView.docs`), kept per index segment,
    with each segment's field lengths, facet lexicons and the postings of the terms scored (their BM25F scores
    depend on the whole index, so each reader computes them again, from memory).

    A whoosh segment never changes once written: a write adds a segment and marks documents of older ones
    deleted. So the set of a term in a segment, deleted documents included, stays true for as long as the
    segment exists, and the first search after a write reads the postings of the new segment only; the
    documents deleted since are taken out by each reader view (its `live` set). Entries of segments gone
    (merged away) are dropped when a new reader is opened; past MAX_ENTRIES everything is dropped.

    `misses` counts sets read from postings, `postings` the postings walked for them, `read_from` those
    postings by segment (for tests and benchmarks).
    """

    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self._sets: dict[tuple[str, str, str], int] = {}
        self._lexicons: dict[tuple[str, str, str], list[str]] = {}
        self._lengths: dict[tuple[str, str], array[int]] = {}
        self._postings: dict[tuple[str, str, str], tuple[array[int], array[float]]] = {}
        self._kept_postings = 0
        self.postings_read = 0  # postings of scored terms read from the index (for tests and benchmarks)
        self.misses = 0
        self.postings = 0
        self.read_from: Counter[str] = Counter()

    def get(self, leaf: Any, segment: str, fieldname: str, value: str) -> int:
        """The bitset (segment's own document numbers) of the documents of leaf holding value in fieldname."""
        key = (segment, fieldname, value)
        found = self._sets.get(key)
        if found is None:
            docnums = [d for d, _w in _postings(leaf, fieldname, value, weights=False, live=False)]
            self.misses += 1
            self.postings += len(docnums)
            self.read_from[segment] += len(docnums)
            found = _bitset(docnums, leaf.doc_count_all())
            if len(self._sets) >= self.MAX_ENTRIES:
                self._sets.clear()
            self._sets[key] = found
        return found

    def lexicon(self, leaf: Any, segment: str, fieldname: str) -> list[str]:
        """Every value indexed in fieldname in leaf's segment (as immutable as its postings)."""
        key = (segment, "", fieldname)  # no field is named "": this cannot be a set's key
        found = self._lexicons.get(key)
        if found is None:
            found = self._lexicons[key] = [_text(t) for t in leaf.lexicon(fieldname)]
        return found

    MAX_POSTINGS = 1_500_000
    """Postings kept (8 bytes each: 12 MB); past this many every kept posting list is dropped."""

    def term_postings(self, leaf: Any, segment: str, fieldname: str, text: str) -> tuple[array[int], array[float]]:
        """(document numbers, weights) of the term's postings in leaf's segment, deleted documents included
        where whoosh lets them be read (the caller leaves out those deleted now)."""
        key = (segment, fieldname, text)
        found = self._postings.get(key)
        if found is None:
            docs: array[int] = array("i")
            weights: array[float] = array("f")
            for docnum, weight in _postings(leaf, fieldname, text, live=False):
                docs.append(docnum)
                weights.append(weight)
            self.postings_read += len(docs)
            if self._kept_postings + len(docs) > self.MAX_POSTINGS:
                self._postings.clear()
                self._kept_postings = 0
            self._kept_postings += len(docs)
            found = self._postings[key] = (docs, weights)
        return found

    def lengths(self, leaf: Any, segment: str, fieldname: str) -> array[int]:
        """The length of fieldname in every document of leaf's segment (see _field_lengths)."""
        key = (segment, fieldname)
        found = self._lengths.get(key)
        if found is None:
            found = self._lengths[key] = _field_lengths(leaf, fieldname)
        return found

    def keep_only(self, segments: set[str]) -> None:
        """Forget the sets of every segment not in segments."""
        for key in [k for k in self._sets if k[0] not in segments]:
            del self._sets[key]
        for key in [k for k in self._lexicons if k[0] not in segments]:
            del self._lexicons[key]
        for name in [k for k in self._lengths if k[0] not in segments]:
            del self._lengths[name]
        for key in [k for k in self._postings if k[0] not in segments]:
            self._kept_postings -= len(self._postings.pop(key)[0])

    def reset_counts(self) -> None:
        """Count misses and postings from zero."""
        self.misses = self.postings = 0
        self.read_from.clear()


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
        self._live: int | None = None
        self._scores: dict[tuple[str, str, float], dict[int, float]] = {}
        self._masks: dict[tuple[str, str], int] = {}
        self._values: dict[str, list[str]] = {}
        self._orders: dict[str, list[int]] = {}
        self._names: list[tuple[int, str, str]] | None = None
        self._queries: dict[Query, dict[int, float]] = {}
        self._cached_scores = 0
        self._by_term: dict[tuple[str, str], dict[int, float]] = {}
        self._lengths: dict[tuple[str, int], array[int]] = {}
        self._corrections: dict[tuple[str, int], str | None] = {}
        self._words: list[str] | None = None
        self._identifiers: list[str] | None = None
        self._near: dict[str, tuple[str, ...]] = {}

    # --- bitsets ------------------------------------------------------------------------------

    def bitset(self, docnums: Any) -> int:
        """The bitset of an iterable of document numbers."""
        bits = bytearray(self._bytes)
        for docnum in docnums:
            bits[docnum >> 3] |= 1 << (docnum & 7)
        return int.from_bytes(bits, "little")

    def docnums(self, bitset: int) -> list[int]:
        """The document numbers in a bitset, ascending."""
        data = bitset.to_bytes(self._bytes, "little")
        return [i * 8 + bit for i, byte in enumerate(data) if byte for bit in _BITS[byte]]

    def live(self) -> int:
        """Every document not deleted, as a bitset."""
        if self._live is None:
            deleted = self.bitset(
                docnum + offset
                for leaf, offset, _segment in self._leaves
                if leaf.has_deletions()
                for docnum in leaf.deleted_docs_set
            )
            self._live = ((1 << self.size) - 1) & ~deleted
        return self._live

    def docs(self, fieldname: str, value: str) -> int:
        """The documents having value in fieldname, as a bitset (from the sets kept per segment: SegmentSets)."""
        key = (fieldname, value)
        found = self._masks.get(key)
        if found is None:
            found = 0
            for leaf, offset, segment in self._leaves:
                if segment is None:  # a reader without segment ids: read here, never kept past this reader
                    found |= self.bitset(d + offset for d, _w in _postings(leaf, fieldname, value, weights=False))
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

    def _live_postings(self, leaf: Any, segment: str | None, fieldname: str, text: str) -> Iterator[tuple[int, float]]:
        """(document number in leaf, weight) of the term's postings of live documents, from those kept per
        segment (SegmentSets.term_postings) where the reader has segment ids."""
        if segment is None:
            yield from _postings(leaf, fieldname, text)
            return
        docs, weights = self.segment_sets.term_postings(leaf, segment, fieldname, text)
        deleted = leaf.deleted_docs_set if leaf.has_deletions() else ()
        if deleted:
            yield from ((d, w) for d, w in zip(docs, weights, strict=True) if d not in deleted)
        else:
            yield from zip(docs, weights, strict=True)

    def term_scores(self, fieldname: str, text: str, boost: float = 1.0) -> dict[int, float]:
        """BM25F score of one term in each document containing it, times boost (the query's field boost;
        the schema's field boosts are in the posting weights already)."""
        key = (fieldname, text, boost)
        found = self._scores.get(key)
        if found is not None:
            return found
        found = {}
        searcher = self.searcher
        scorable = searcher.schema[fieldname].scorable
        if scorable:
            idf = searcher.idf(fieldname, text)
            average = searcher.avg_field_length(fieldname) or 1.0
            norm = _K1 * (1 - _B)
            slope = _K1 * _B / average
        for leaf, offset, segment in self._leaves:
            postings = self._live_postings(leaf, segment, fieldname, text)
            if not scorable:
                found.update((docnum + offset, boost * weight) for docnum, weight in postings)
                continue
            lengths = self._lengths.get((fieldname, offset))
            if lengths is None:
                lengths = self._lengths[(fieldname, offset)] = (
                    _field_lengths(leaf, fieldname)
                    if segment is None
                    else self.segment_sets.lengths(leaf, segment, fieldname)
                )
            for docnum, weight in postings:
                length = lengths[docnum]
                found[docnum + offset] = boost * idf * weight * (_K1 + 1) / (weight + norm + slope * length)
        self._remember(len(found))
        self._scores[key] = found
        self._by_term.setdefault((fieldname, text), found)
        return found

    def scores(self, query: Query) -> dict[int, float]:
        """Every document matching query with its BM25F score (an Or sums its parts, an And needs them all)."""
        if isinstance(query, Term):
            return self.term_scores(query.fieldname, _text(query.text), query.boost)
        found = self._queries.get(query)
        if found is None:
            found = self._compound_scores(query)
            self._remember(len(found))
            self._queries[query] = found
        return found

    def _compound_scores(self, query: Query) -> dict[int, float]:
        """The scores of a query made of other queries, by the rule of its kind (see _COMBINED)."""
        if query is NullQuery:
            return {}
        for kind, rule in _COMBINED:
            if isinstance(query, kind):
                return rule(self, query)
        # Any other kind of query: whoosh finds the documents, each scores the query's boost.
        return {d: query.boost for d in self.searcher.docs_for_query(query)}

    def _any_scores(self, query: Or) -> dict[int, float]:
        """Or: each document scores the sum of the parts it matches."""
        return _add([self.scores(q) for q in query.subqueries], query.boost)

    def _all_scores(self, query: And) -> dict[int, float]:
        """And: only documents matching every part, scoring the sum of the parts."""
        parts = [self.scores(q) for q in query.subqueries]
        if not parts:
            return {}
        common = set(parts[0]).intersection(*parts[1:])
        return {d: sum(p[d] for p in parts) * query.boost for d in common}

    def _but_not_scores(self, query: AndNot) -> dict[int, float]:
        """AndNot: the first part's documents and scores, less the documents of the second."""
        excluded = self.scores(query.b)
        return {d: s for d, s in self.scores(query.a).items() if d not in excluded}

    def _phrase_scores(self, query: Phrase) -> dict[int, float]:
        """Phrase: whoosh checks the word positions; the phrase scores as the sum of its words."""
        try:
            docs = set(self.searcher.docs_for_query(query))
        except QueryError:  # a field without positions cannot hold a phrase
            return {}
        words = [self.term_scores(query.fieldname, _text(w)) for w in query.words]
        return {d: sum(w.get(d, 0.0) for w in words) * query.boost for d in docs}

    def among(self, query: Query, candidates: list[int]) -> set[int]:
        """The documents of candidates (ascending) that match query: phrases are checked in those documents
        only (whoosh's phrase matcher skips to each), everything else is read from its scores."""
        if isinstance(query, Or):
            found: set[int] = set()
            for part in query.subqueries:
                found |= self.among(part, candidates)
            return found
        if isinstance(query, Phrase):
            return self._phrase_among(query, candidates)
        scores = self.scores(query)
        return {d for d in candidates if d in scores}

    def _phrase_among(self, query: Phrase, candidates: list[int]) -> set[int]:
        found: set[int] = set()
        for sub, offset in self.searcher.leaf_searchers():
            end = offset + sub.doc_count_all()
            local = [d - offset for d in candidates if offset <= d < end]
            if not local:
                continue
            try:
                matcher = query.matcher(sub)
            except QueryError:  # a field without positions cannot hold a phrase
                return set()
            for docnum in local:
                if not matcher.is_active():
                    break
                if matcher.id() < docnum:
                    matcher.skip_to(docnum)
                if matcher.is_active() and matcher.id() == docnum:
                    found.add(docnum + offset)
        return found

    def _expanded_scores(self, query: MultiTerm) -> dict[int, float]:
        """Prefix or wildcard: the sum over the terms it stands for in the lexicon (at most _EXPANSIONS)."""
        terms = itertools.islice(query.expanded_terms(self.reader), _EXPANSIONS)
        return _add([self.term_scores(name, _text(text)) for name, text in terms] or [{}], query.boost)

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
                lexicons = [
                    self.segment_sets.lexicon(leaf, str(segment), fieldname) for leaf, _o, segment in self._leaves
                ]
                found = lexicons[0] if len(lexicons) == 1 else sorted(set().union(*lexicons))
            else:
                found = [_text(t) for t in self.reader.lexicon(fieldname)]
            self._values[fieldname] = found
        return found

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
            first = bisect.bisect_left(self._identifiers, word[0])
            near = []
            for form in itertools.islice(self._identifiers, first, None):
                if not form.startswith(word[0]):
                    break
                if _distance(word, form, maxdist) <= maxdist or _distance(word, form[: len(word)], maxdist) <= maxdist:
                    near.append(form)
            self._near[word] = tuple(near)
            self._corrections[key] = None
        return self._near.get(word, ())


def _near_words(words: list[str], word: str, maxdist: int) -> Iterator[str]:
    """The words of sorted words, other than word, sharing its first letter and within maxdist edits of it."""
    if not word:
        return
    first = bisect.bisect_left(words, word[0])
    for candidate in itertools.islice(words, first, None):
        if not candidate.startswith(word[0]):
            break
        if candidate != word and abs(len(candidate) - len(word)) <= maxdist:
            if _distance(word[1:], candidate[1:], maxdist) <= maxdist:
                yield candidate


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance between a and b, or limit + 1 when it is larger than limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


_COMBINED: tuple[tuple[type[Query], Callable[[_ReaderView, Any], dict[int, float]]], ...] = (
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
    partial matches), those holding the whole query as a phrase, and the spelling suggestion."""

    scores: dict[int, float]
    matched: int
    named: frozenset[int]
    phrase: frozenset[int]
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
        searcher = self.index.searcher()
        token = self.index.generation_token()
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


def _unit_docs(view: _ReaderView, meaning: Plan) -> list[dict[int, float]]:
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


def _evaluate(view: _ReaderView, meaning: Plan, scope: int, target: int) -> tuple[dict[int, float], int, bool]:
    """(scores, documents shown, partial): the documents matching every unit; when none of them is in target,
    those matching the most units, with partial True."""
    every = meaning.all_units()
    if every is None:
        return {}, 0, False
    scores = view.scores(every)
    matched = view.bitset(scores) & scope
    if matched & target or len(meaning.units) < 2:
        return scores, matched, False
    parts = _unit_docs(view, meaning)
    coverage: Counter[int] = Counter()
    for part in parts:
        coverage.update(part.keys())  # one per unit matched (a mapping would add its scores)
    in_target = set(view.docnums(target))
    best = max((n for d, n in coverage.items() if d in in_target), default=0)
    if not best:
        return {}, 0, False
    total = _add(parts)
    chosen = {d: total[d] for d, n in coverage.items() if n >= best}
    return chosen, view.bitset(chosen) & scope, True


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
    # Only the documents shown are ranked by the whole phrase: it is checked in those alone.
    phrase = (
        frozenset(view.among(chosen.phrase, view.docnums(matched)))
        if chosen.phrase is not None and matched
        else frozenset()
    )
    named = frozenset(view.scores(chosen.name)) if chosen.name is not None and matched else frozenset()
    return _Answer(scores, matched, named, phrase, partial, suggestion, corrected, chosen)


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
    docs = view.docnums(allowed)
    relevance = understood is not None and request.sort == "relevance"
    scores = understood.scores if understood else {}
    if relevance:
        assert understood is not None
        named, phrase = understood.named, understood.phrase
        # A service whose whole name the query is first, then those holding the query as a phrase, then by BM25F;
        # ties by document number, so paging is stable.
        chosen = heapq.nlargest(need, docs, key=lambda d: (d in named, d in phrase, scores.get(d, 0.0), -d))[start:need]
    else:
        wanted = set(docs)
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
