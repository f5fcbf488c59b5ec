"""Searching the index: free text with BM25F, filters and facet counts, highlights, did-you-mean, autocomplete."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from whoosh import highlight
from whoosh.qparser import MultifieldParser, OrGroup
from whoosh.query import And, AndNot, Every, NullQuery, Or, Query, Term
from whoosh.searching import Searcher

from catalogue.search.index import FACETS, SearchIndex
from catalogue.services.registry import Visibility

SORTS = ("relevance", "name", "updated")
TEXT_FIELDS = ("name", "purpose", "description", "keywords", "organisation_name", "words")
_BOOSTS = {"name": 3.0, "keywords": 2.0, "purpose": 1.5, "organisation_name": 1.2, "description": 1.0, "words": 0.6}
_WORD = re.compile(r"[^\W\d_][\w-]*", re.UNICODE)


@dataclass(frozen=True)
class SearchRequest:
    """What a reader asks: text, filters (several values of one facet: any; several facets: all), order, page."""

    q: str = ""
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20

    @classmethod
    def build(cls, q: str = "", filters: dict[str, list[str]] | None = None, sort: str | None = None,
              page: int = 1, per_page: int = 20) -> SearchRequest:
        """A normalised request (filters sorted, so equal requests are equal cache keys)."""
        cleaned = tuple(sorted((name, tuple(sorted(set(values)))) for name, values in (filters or {}).items()
                               if name in FACETS and values))
        q = " ".join(q.split())
        return cls(q=q, filters=cleaned, sort=sort or ("relevance" if q else "name"), page=max(1, page), per_page=per_page)

    def filter_dict(self) -> dict[str, tuple[str, ...]]:
        """The filters as a dict."""
        return dict(self.filters)


@dataclass(frozen=True)
class Hit:
    """One service found, with its matched passages as safe HTML (text escaped, matches in <mark>)."""

    id: str
    version: str
    name: str
    organisation: str
    purpose: str
    status: str
    subprocesses: list[str]
    score: float | None
    highlights: dict[str, str]


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet with the number of services that have it, given the other filters."""

    value: str
    count: int
    selected: bool


@dataclass(frozen=True)
class SearchResult:
    """A page of hits, the total, facet counts, and a spelling suggestion when the words were unknown."""

    request: SearchRequest
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetValue]]
    suggestion: str | None = None
    corrected: bool = False
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", max(1, -(-self.total // self.request.per_page)))


class _ReaderView:
    """What one open reader of the index lets us compute once: documents of each facet value and audience."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self._sets: dict[tuple[str, str], frozenset[int]] = {}
        self._values: dict[str, list[str]] = {}
        self._names: list[tuple[int, str, str]] | None = None

    def docs(self, fieldname: str, value: str) -> frozenset[int]:
        key = (fieldname, value)
        found = self._sets.get(key)
        if found is None:
            found = frozenset(self.searcher.docs_for_query(Term(fieldname, value)))
            self._sets[key] = found
        return found

    def matches(self, query: Query) -> frozenset[int]:
        """Every document matching query, unscored.

        Or, And and AndNot are evaluated on cached per-term sets, which is several times faster than
        whoosh's matcher tree for the many-term OR queries free text produces; anything else
        (phrases, wildcards, fuzzy terms) is asked of whoosh.
        """
        if isinstance(query, Term):
            text = query.text.decode("utf-8") if isinstance(query.text, bytes) else str(query.text)
            return self.docs(query.fieldname, text)
        if isinstance(query, Or):
            return frozenset().union(*(self.matches(q) for q in query.subqueries))
        if isinstance(query, And):
            parts = [self.matches(q) for q in query.subqueries]
            return frozenset.intersection(*parts) if parts else frozenset()
        if isinstance(query, AndNot):
            return self.matches(query.a) - self.matches(query.b)
        if isinstance(query, NullQuery.__class__):
            return frozenset()
        return frozenset(self.searcher.docs_for_query(query))

    def values(self, fieldname: str) -> list[str]:
        found = self._values.get(fieldname)
        if found is None:
            found = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in self.searcher.reader().lexicon(fieldname)]
            self._values[fieldname] = found
        return found

    def names(self) -> list[tuple[int, str, str]]:
        """(docnum, name, service id) of every service document."""
        if self._names is None:
            self._names = [(docnum, stored.get("name", ""), stored.get("service", ""))
                           for docnum, stored in self.searcher.reader().iter_docs() if stored.get("kind") == "service"]
        return self._names

    def visible(self, rule: Visibility) -> frozenset[int]:
        """The service documents a reader with rule may see: each visible service exactly once."""
        if rule.everything:
            return self.docs("latest", "1")
        public = self.docs("public", "1")
        if rule.organisation_id is None:
            return public
        own = self.docs("org_id", str(rule.organisation_id))
        return (public - own) | (own & self.docs("latest", "1"))


class Searching:
    """Search over one SearchIndex, with results cached until the index changes."""

    CACHE_SIZE = 512

    def __init__(self, search_index: SearchIndex) -> None:
        self.index = search_index
        self._view: _ReaderView | None = None
        self._view_token: Any = None
        self._cache: OrderedDict[Any, Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._parser = MultifieldParser(list(TEXT_FIELDS), None, fieldboosts=_BOOSTS, group=OrGroup.factory(0.9))

    def _reader_view(self) -> _ReaderView:
        searcher = self.index.searcher()
        token = self.index.generation_token()
        if self._view is None or token != self._view_token:
            self._view, self._view_token = _ReaderView(searcher), token
            with self._cache_lock:
                self._cache.clear()
        return self._view

    def clear_cache(self) -> None:
        """Forget every cached answer (benchmarks measure uncached searches with this)."""
        with self._cache_lock:
            self._cache.clear()

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

    def _parse(self, text: str, searcher: Searcher) -> Query:
        self._parser.schema = searcher.schema
        return self._parser.parse(text)

    def suggestion_for(self, text: str, view: _ReaderView) -> str | None:
        """The query with each word unknown to the index replaced by its nearest indexed word, or None."""
        reader = view.searcher.reader()
        corrector = view.searcher.corrector("words")
        changed = False

        def replace(match: re.Match[str]) -> str:
            nonlocal changed
            word = match.group(0)
            lower = word.casefold()
            after = text[match.end():match.end() + 1]
            if len(lower) < 3 or after in ("*", "?", ":") or reader.doc_frequency("words", lower) > 0:
                return word
            options = corrector.suggest(lower, limit=1, maxdist=2 if len(lower) > 5 else 1, prefix=1)
            if options:
                changed = True
                return options[0]
            return word

        corrected = _WORD.sub(replace, text)
        return corrected if changed else None

    def search(self, request: SearchRequest, rule: Visibility) -> SearchResult:
        """Answer request for a reader with rule; catches up with the database first."""
        self.index.catch_up()
        with self.index.lock:
            view = self._reader_view()
            key = (request, rule)
            cached = self._cached(key)
            if cached is not None:
                return cached
            result = self._search(request, rule, view)
            self._store(key, result)
            return result

    def _search(self, request: SearchRequest, rule: Visibility, view: _ReaderView) -> SearchResult:
        searcher = view.searcher
        visible = view.visible(rule)
        suggestion = self.suggestion_for(request.q, view) if request.q else None
        query = self._parse(request.q, searcher) if request.q else Every()
        matched = visible & view.matches(query) if request.q else visible
        corrected = False
        if suggestion and '"' not in request.q:
            # The unknown words matched nothing, so the corrected query can only say more: answer it,
            # and say so. A quoted query is taken literally (the suggestion is still offered).
            corrected_query = self._parse(suggestion, searcher)
            corrected_matches = visible & view.matches(corrected_query)
            if corrected_matches:
                query, matched, corrected = corrected_query, corrected_matches, True
        filters = request.filter_dict()
        per_facet = {name: frozenset().union(*(view.docs(name, v) for v in values)) for name, values in filters.items()}
        allowed = matched
        for docs in per_facet.values():
            allowed = allowed & docs
        facets = {}
        for name in FACETS:
            base = matched
            for other, docs in per_facet.items():
                if other != name:
                    base = base & docs
            selected = set(filters.get(name, ()))
            counts = [FacetValue(v, len(base & view.docs(name, v)), v in selected) for v in view.values(name)]
            facets[name] = sorted((c for c in counts if c.count or c.selected), key=lambda c: (-c.count, c.value))
        total = len(allowed)
        start = (request.page - 1) * request.per_page
        hits: list[Hit] = []
        if total and start < total:
            sortedby, reverse = None, False
            if request.sort == "name" or not request.q:
                sortedby = "name_sort"
            elif request.sort == "updated":
                sortedby, reverse = "updated", True
            groups = [allowed]
            if sortedby is None and isinstance(query, Or) and len(query.subqueries) > 1:
                # Services matching every word rank before those matching some, each group by BM25F.
                # When the first group fills the page, the partial matches are never scored (scoring
                # thousands of them is what makes many-word queries slow); the order is the same
                # whichever page is asked, so paging stays stable.
                every_word = allowed.intersection(*(view.matches(q) for q in query.subqueries))
                groups = [every_word, allowed - every_word]
            need = start + request.per_page
            ranked: list[Any] = []
            for group in groups:
                if not group or len(ranked) >= need:
                    continue
                results = searcher.search(query, filter=set(group), limit=need - len(ranked), sortedby=sortedby, reverse=reverse)
                results.fragmenter = highlight.ContextFragmenter(maxchars=200, surround=40)
                results.formatter = highlight.HtmlFormatter(tagname="mark", between=" … ")
                ranked.extend(results)
            for hit in ranked[start:need]:
                highlights = {}
                if request.q:
                    for fieldname in ("name", "purpose", "description"):
                        snippet = hit.highlights(fieldname, top=2) if fieldname in hit else ""
                        if snippet:
                            highlights[fieldname] = snippet
                hits.append(Hit(
                    id=hit["service"], version=hit["version"], name=hit["name"], organisation=hit["organisation"],
                    purpose=hit.get("purpose", ""), status=hit.get("status", ""),
                    subprocesses=[s for s in hit.get("subprocess", "").split(",") if s],
                    score=hit.score if sortedby is None else None, highlights=highlights,
                ))
        return SearchResult(request=request, total=total, hits=hits, facets=facets,
                            suggestion=suggestion, corrected=corrected)

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
            cached = self._cached(key)
            if cached is not None:
                return cached
            names = [
                {"kind": "service", "value": name, "id": service}
                for docnum, name, service in view.names()
                if docnum in visible and any(word.startswith(prefix) for word in name.casefold().split())
            ]
            names.sort(key=lambda n: (not n["value"].casefold().startswith(prefix), n["value"].casefold()))
            keywords = [
                {"kind": "keyword", "value": k} for k in view.values("keywords")
                if k.startswith(prefix) and view.docs("keywords", k) & visible
            ]
            found = (names + keywords)[:limit]
            self._store(key, found)
            return found

