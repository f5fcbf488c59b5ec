"""Word pairs (catalogue/search/pairs.py): the pairs a document is given are those of whoosh's own analysis, at
places that follow one another exactly where the words do; phrases matched on pairs are those whoosh matches on
word positions."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import fields, formats, index
from whoosh.analysis import (
    LowercaseFilter,
    NgramWordAnalyzer,
    RegexTokenizer,
    StandardAnalyzer,
    StemmingAnalyzer,
    StopFilter,
)
from whoosh.query import Phrase

from catalogue.search import pairs
from catalogue.search.index import _PAIRING, schema
from catalogue.search.matching import STEMMED_FIELDS
from catalogue.search.query import SegmentSets, _ReaderView

_TEXT = st.lists(
    st.one_of(
        st.sampled_from(["the", "of", "and", "a", "x", "5", "5.4", "data", "statistics", "official", "Editing"]),
        st.text(alphabet="abcdeéz.-_ 019", min_size=1, max_size=8),
    ),
    max_size=30,
).map(" ".join)


def _whoosh_pairs(analyzer, fieldname: str, text: str) -> list[str | None]:
    """The pairs of text as whoosh's analyzer numbers its words, in order; None between two that do not follow."""
    words = [(token.pos, token.text) for token in analyzer(text, positions=True)]
    return [
        pairs.term(fieldname, a, b) if q == p + 1 else None for (p, a), (q, b) in zip(words, words[1:], strict=False)
    ]


def _places(text: str) -> list[str | None]:
    """The pairs field's terms in the order of their places, None for a place between pairs."""
    return [None if t == pairs.SEPARATOR else t for t in text.split()]


@settings(max_examples=300, deadline=None)
@given(name=_TEXT, description=_TEXT)
def test_a_document_s_pairs_are_those_of_whoosh_s_analysis(name: str, description: str) -> None:
    catalogue_schema = schema()
    document = _PAIRING.add({"name": name, "description": description, "keywords": "data, statistics"})
    found = _places(document.get(pairs.FIELD, ""))
    expected = _whoosh_pairs(catalogue_schema["name"].analyzer, "name", name) + _whoosh_pairs(
        catalogue_schema["description"].analyzer, "description", description
    )
    assert found == expected


def test_the_text_fields_are_paired_and_keep_no_positions() -> None:
    catalogue_schema = schema()
    assert _PAIRING.paired == list(STEMMED_FIELDS)
    assert all(pairs.has_pairs(catalogue_schema, name) for name in STEMMED_FIELDS)
    # No field but the pairs keeps word positions: a word's postings are read without them.
    assert [
        name for name in catalogue_schema.names() if (f := catalogue_schema[name].format) and f.supports("positions")
    ] == [pairs.FIELD]
    assert pairs.Pairing(fields.Schema(body=fields.TEXT())).add({"body": "a b c"}) == {"body": "a b c"}


def test_an_analyzer_of_other_filters_is_paired_by_whoosh_itself() -> None:
    """Analyzers the one-pass analysis reproduces, and one it does not (a filter it does not know), which is left to
    whoosh; and one that leaves the places of the words it drops empty: each gives whoosh's own pairs."""
    analyzers = [
        StemmingAnalyzer(),
        StandardAnalyzer(minsize=1),
        StandardAnalyzer(stoplist=None),
        NgramWordAnalyzer(3),
        RegexTokenizer() | LowercaseFilter() | StopFilter(renumber=False),
    ]
    text = "The Office for National Statistics edits and imputes 5.4 data"
    for analyzer in analyzers:
        schema_ = fields.Schema(body=fields.TEXT(analyzer=analyzer), pairs=pairs.PairsField(["body"]))
        assert _places(pairs.Pairing(schema_).text({"body": text})) == _whoosh_pairs(analyzer, "body", text)


def test_phrases_in_a_field_without_positions_are_matched_on_its_pairs(tmp_path: Path) -> None:
    """body keeps no positions, as the catalogue's text fields; check holds the same texts with positions, for
    whoosh to tell where each phrase stands. A phrase of two words reads no positions at all."""
    words = "data series seasonal adjustment time edit impute record of the".split()
    schema_ = fields.Schema(
        key=fields.ID(stored=True),
        body=fields.TEXT(phrase=False),
        check=fields.TEXT(),
        pairs=pairs.PairsField(["body"]),
    )
    pairing = pairs.Pairing(schema_)
    ix = index.create_in(str(tmp_path), schema_)
    rng = random.Random(3)
    for _batch in range(2):
        writer = ix.writer()
        for n in range(300):
            text = " ".join(rng.choices(words, k=rng.randint(0, 25)))
            writer.add_document(**pairing.add({"key": str(n), "body": text, "check": text}))
        writer.commit(merge=False)
    sets = SegmentSets()
    view = _ReaderView(ix.searcher(), sets)
    assert len(view.reader.leaf_readers()) == 2
    candidates = np.arange(0, view.size, 3, dtype=np.int64)
    for first, second in [("seasonal", "adjustment"), ("edit", "impute"), ("time", "time")]:
        expected = sorted(view.searcher.docs_for_query(Phrase("check", [first, second])))
        assert expected, "a phrase found nowhere would prove little"
        query = Phrase("body", [first, second])
        assert view.phrase_docs(query).tolist() == expected
        assert view.among(query, candidates).tolist() == sorted(set(expected) & set(candidates.tolist()))
        assert view.may_hold(query, candidates).tolist() == sorted(set(expected) & set(candidates.tolist()))
    assert sets.positions_read == 0
    for _ in range(60):
        phrase = rng.choices(words[:8], k=rng.randint(3, 4))
        expected = sorted(view.searcher.docs_for_query(Phrase("check", phrase)))
        assert view.phrase_docs(Phrase("body", phrase)).tolist() == expected, phrase
        assert view.among(Phrase("body", phrase), candidates).tolist() == sorted(
            set(expected) & set(candidates.tolist())
        )
    assert sets.positions_read > 0


def test_the_unstemmed_vocabulary_records_only_whether_a_word_is_there() -> None:
    """Its postings are document numbers alone (read about twice as fast as with counts and weights): every
    document holding a word weighs the field's boost, however often it says it."""
    words = schema()["words"]
    assert type(words.format) is formats.Existence
    postings = dict((term, weight) for term, _count, weight, _value in words.index("data data R data"))
    assert postings == {b"data": words.format.field_boost, b"r": words.format.field_boost}
