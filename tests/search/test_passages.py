"""Highlighting analyses the texts of the hits shown in one loop (passages._plain_stemming) instead of
whoosh's chain of token generators: the same words, at the same places, as the index's analyser."""

from __future__ import annotations

import random

from whoosh.analysis import StandardAnalyzer, StemmingAnalyzer

from catalogue.search import passages
from catalogue.search.index import schema

_PIECES = [
    "Seasonal",
    "adjustment",
    "of",
    "THE",
    "time-series",
    "X-13ARIMA-SEATS",
    "editing",
    "imputation's",
    "a",
    "data.",
    "(SDMX)",
    "v2.1",
    "τ-ARGUS",
    "résumé",
    "statistics,",
    "and/or",
    "3.14",
    "__init__",
    "running",
    "happily",
]


def _whoosh_words(analyzer, text):
    return [(t.text, t.startchar, t.endchar) for t in analyzer(text, chars=True, mode="index")]


def test_the_index_analyser_is_read_in_one_loop_with_the_same_words():
    analyzer = schema()["description"].analyzer
    words = passages._plain_stemming(analyzer)
    assert words is not None, "the index's text analyser is no longer the plain stemming chain"
    rng = random.Random(3)
    for _ in range(300):
        text = " ".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 40)))
        found = _whoosh_words(analyzer, text)
        assert list(words(text)) == found, text
        terms = {form for form, _start, _end in found if rng.random() < 0.3}
        assert words.matches(text, terms) == [(s, e) for form, s, e in found if form in terms and e > s], text


def test_another_analyser_is_read_by_whoosh_itself():
    assert passages._plain_stemming(StandardAnalyzer()) is None
    assert passages._plain_stemming(StemmingAnalyzer(minsize=3)) is not None
    text = "Seasonal adjustment of the series"
    assert passages.passage(text, StandardAnalyzer(), {"seasonal"}) == "<mark>Seasonal</mark> adjustment of the series"
