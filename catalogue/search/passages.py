"""Matched words shown in context: whole titles with their matches marked, and passages cut between words.

whoosh's fragmenters cut at token edges, so a title lost its closing parenthesis ("SDMX Reference Infrastructure
(SDMX-RI") or its sign ("JDemetra"). Here a title is always shown whole, and a passage of a longer text starts
and ends at white space, with "…" where it was cut. Text is HTML-escaped; matches are wrapped in <mark>.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from html import escape

from whoosh.analysis import Analyzer, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter

from catalogue.search.vocabulary import compact, name_forms

PASSAGE_CHARS = 240
"""About how long a passage is (it grows to the next white space)."""
_LEAD = 60
"""Characters kept before the first match of a passage cut from a longer text."""
_CHUNK = re.compile(r"\S+")
_WRITTEN_NAME = re.compile(r"^[\w+#.\-]+$")
_CORE = re.compile(r"^[^\w+]*(.*?)[^\w+]*$", re.DOTALL)


class _PlainStemming:
    """whoosh's StemmingAnalyzer chain (a regular expression, lower case, stop words, stems) in one plain loop:
    the words of a text with their forms, and the spans of those whose form is one of some terms.

    Highlighting the hits of a page analyses their texts, and whoosh's chain of generators costs a few
    microseconds a word: most of a search's time once scoring is fast. The same steps in one loop give the
    same forms (tests/search/test_passages.py compares them), and each written word's form is kept (whoosh's
    own cache is a Python function call per word).
    """

    def __init__(self, tokenizer: RegexTokenizer, stop: StopFilter, stemmer: StemFilter) -> None:
        self.expression = tokenizer.expression
        self.stops, self.shortest, self.longest = stop.stops, stop.min, stop.max
        self.stem, self.ignore = stemmer.stemfn if not stemmer.lang else stemmer._stem, stemmer.ignore
        self.forms: dict[str, str | None] = {}  # a word as written: its form, or None when it is left out

    def form(self, written: str) -> str | None:
        """The form of a word as written (None for a stop word, or one too short or too long)."""
        found = self.forms.get(written, "")
        if found == "":
            if len(self.forms) > 20_000:
                self.forms.clear()
            word = written.lower()
            if len(word) < self.shortest or (self.longest is not None and len(word) > self.longest):
                found = None
            elif word in self.stops:
                found = None
            else:
                found = word if word in self.ignore else self.stem(word)
            self.forms[written] = found
        return found

    def __call__(self, text: str) -> Iterator[tuple[str, int, int]]:
        """(form, start, end) of each word of text."""
        for match in self.expression.finditer(text):
            form = self.form(match.group(0))
            if form is not None:
                yield form, match.start(), match.end()

    def matches(self, text: str, terms: Collection[str]) -> list[tuple[int, int]]:
        """(start, end) of every word of text whose form is one of terms."""
        forms, found = self.forms, []
        for match in self.expression.finditer(text):
            written = match.group(0)
            form = forms.get(written, "")
            if form == "":
                form = self.form(written)
            if form is not None and form in terms:
                start, end = match.span()
                if end > start:
                    found.append((start, end))
        return found


def _plain_stemming(analyzer: Analyzer) -> _PlainStemming | None:
    """The analyser in one plain loop (_PlainStemming) when it is whoosh's StemmingAnalyzer chain; else None."""
    items = getattr(analyzer, "items", None)
    if not isinstance(items, list) or [type(item) for item in items] != [
        RegexTokenizer,
        LowercaseFilter,
        StopFilter,
        StemFilter,
    ]:
        return None
    tokenizer, _lower, stop, stemmer = items
    if tokenizer.gaps:
        return None
    return _PlainStemming(tokenizer, stop, stemmer)


_PLAIN: dict[int, tuple[Analyzer, _PlainStemming | None]] = {}


def _matches(text: str, analyzer: Analyzer, terms: Collection[str]) -> list[tuple[int, int]]:
    """(start, end) of every word of text whose analysed form is one of terms."""
    if not terms:
        return []
    known = _PLAIN.get(id(analyzer))
    if known is None or known[0] is not analyzer:
        if len(_PLAIN) > 64:  # each index opened brings its own analysers: keep only recent ones
            _PLAIN.clear()
        known = _PLAIN[id(analyzer)] = (analyzer, _plain_stemming(analyzer))
    plain = known[1]
    if plain is not None:
        return plain.matches(text, terms)
    return [
        (token.startchar, token.endchar)
        for token in analyzer(text, chars=True, mode="index")
        if token.text in terms and token.endchar > token.startchar
    ]


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    """text escaped, with the spans (in order, not overlapping) in <mark>."""
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out += [escape(text[last:start]), "<mark>", escape(text[start:end]), "</mark>"]
        last = end
    out.append(escape(text[last:]))
    return "".join(out)


def title(text: str, analyzer: Analyzer, terms: Collection[str], typed: Collection[str] = ()) -> str | None:
    """The whole title with its matched words marked, or None when nothing in it matched.

    typed holds the query's words folded (vocabulary.compact): a written word of the title whose forms one of
    them equals or starts (`x13` in X-13ARIMA-SEATS, `tau` in τ-ARGUS) is marked too.
    """
    spans = _matches(text, analyzer, terms)
    wanted = {w for w in typed if w}
    starts = tuple(w for w in wanted if len(w) >= 3)  # a typed word this long also marks the forms it starts
    if wanted:
        for chunk in _CHUNK.finditer(text):
            core = _CORE.match(chunk.group(0))
            assert core is not None
            if not _WRITTEN_NAME.match(core.group(1)):
                continue  # markup or prose, not a name: its words are marked by the analyser alone
            forms = [*name_forms(core.group(1))[0], compact(core.group(1))]
            if any(f in wanted or (starts and f.startswith(starts)) for f in forms):
                start = chunk.start() + core.start(1)
                spans = [s for s in spans if not (start <= s[0] < chunk.start() + core.end(1))]
                spans.append((start, chunk.start() + core.end(1)))
    return _marked(text, spans) if spans else None


def passage(text: str, analyzer: Analyzer, terms: Collection[str], limit: int = PASSAGE_CHARS) -> str | None:
    """The part of text around its first matches, cut at white space, matches marked; None when none matched."""
    spans = _matches(text, analyzer, terms)
    if not spans:
        return None
    if len(text) <= limit:
        return _marked(text, spans)
    # The window holding the most different matched words, starting a little before one of them.
    best, best_start = -1, 0
    for start, _end in spans:
        begin = max(0, start - _LEAD)
        inside = {text[s:e].casefold() for s, e in spans if begin <= s and e <= begin + limit}
        if len(inside) > best:
            best, best_start = len(inside), begin
    begin, end = best_start, min(len(text), best_start + limit)
    if begin > 0 and not text[begin - 1].isspace():
        space = text.rfind(" ", 0, begin)
        begin = space + 1 if space >= 0 else 0
    if end < len(text) and not text[end].isspace():
        space = text.find(" ", end)
        end = space if space >= 0 else len(text)
    piece = text[begin:end].strip()
    offset = begin + (len(text[begin:end]) - len(text[begin:end].lstrip()))
    inside_spans = [(s - offset, e - offset) for s, e in spans if offset <= s and e <= offset + len(piece)]
    return ("… " if begin > 0 else "") + _marked(piece, inside_spans) + (" …" if end < len(text) else "")
