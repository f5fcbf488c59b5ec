"""Word pairs: every two words that stand one after the other in a text field, indexed as one term with its place.

The texts of the catalogue are scored word by word (BM25F), and whoosh keeps a word's positions, when a field has
them, in the same compressed blocks as its document numbers: every first read of a common word's postings would
read and decompress its every position too. So the text fields are indexed without positions, and phrases are
matched on pairs instead. The pairs field holds, for each text field, each pair of neighbouring words as the term
"<field>|<first word>|<second word>", at the place of its first word:

- a phrase can only stand where each pair of its neighbouring words stands, and a pair is rare where its words
  are common ("official statistics" is in far fewer documents than "official" or "statistics");
- a phrase of two words is its pair;
- a phrase of more words is its pairs one place after the other (query._ReaderView.phrase_docs): the positions
  read are those of short posting lists.

The words are those the field's analyzer makes (lower case, stemmed, stop words taken out), numbered as whoosh
numbers them, so "office for national statistics" pairs "offic|nation" then "nation|statist". The index writer
adds the pairs to each document (Pairing.add), so the pairs field always holds what the text fields hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from whoosh import fields, formats

from catalogue.search.bulk import Analysed, word_steps

FIELD = "pairs"
SEPARATOR = "|"
"""Between the field and the words of a pair: never part of a word (whoosh's tokenizers keep letters, digits,
and dots between them)."""
_GAP = SEPARATOR
"""Takes a place between two pairs that do not follow one another (only for an analyzer that leaves the places of
the words it drops empty: ours renumber them)."""


class PairsField(fields.KEYWORD):
    """The pairs field: terms separated by spaces, each with its place (whoosh's Positions format), not scored.
    `paired` names the text fields whose pairs it holds."""

    def __init__(self, paired: Sequence[str]) -> None:
        super().__init__()
        self.format = formats.Positions()
        self.paired = tuple(paired)


def term(fieldname: str, first: str, second: str) -> str:
    """The pairs field's term for first followed by second in fieldname."""
    return f"{fieldname}{SEPARATOR}{first}{SEPARATOR}{second}"


def phrase_terms(fieldname: str, words: list[str]) -> list[str]:
    """The terms of the pairs of neighbouring words of a phrase (words as analysed), in the phrase's order."""
    return [term(fieldname, a, b) for a, b in zip(words, words[1:], strict=False)]


def has_pairs(schema: fields.Schema, fieldname: str) -> bool:
    """Whether fieldname's pairs are indexed in schema's pairs field."""
    return FIELD in schema and fieldname in getattr(schema[FIELD], "paired", ())


class Pairing:
    """What a schema's pairs field holds for a document: the pairs of each of its paired fields."""

    def __init__(self, schema: fields.Schema) -> None:
        self.paired = list(getattr(schema[FIELD], "paired", ())) if FIELD in schema else []
        self._pairs = {name: _pairs_of(name, schema[name].analyzer) for name in self.paired}

    def text(self, document: dict[str, Any]) -> str:
        """The pairs of document's values in the order of their first words, separated by spaces."""
        found: list[str] = []
        for name in self.paired:
            value = document.get(name)
            if isinstance(value, str) and value:
                found += self._pairs[name](value)
        return " ".join(found)

    def add(self, document: dict[str, Any]) -> dict[str, Any]:
        """document with its pairs (left as it is when the schema has no pairs field, or it has no pair)."""
        if self.paired:
            text = self.text(document)
            if text:
                document[FIELD] = text
        return document


def _pairs_of(fieldname: str, analyzer: Any) -> Callable[[str], list[str]]:
    """The pairs field's terms of a text of fieldname, in order (_GAP between two pairs that do not follow one
    another), the words numbered as whoosh numbers them: in one pass, each distinct word through the filters once,
    where the analyzer allows it (bulk.word_steps); else by the analyzer itself."""

    def placed(words: list[tuple[int, str]]) -> list[str]:
        return [term(fieldname, a, b) if q == p + 1 else _GAP for (p, a), (q, b) in zip(words, words[1:], strict=False)]

    steps = word_steps(analyzer)
    if steps is None:
        return lambda text: placed([(token.pos, token.text) for token in analyzer(text, positions=True)])
    pattern, filters, renumber = steps
    analysed = Analysed(filters).__getitem__
    finditer = pattern.finditer

    def pairs(text: str) -> list[str]:
        words = list(map(analysed, map(_group, finditer(text))))
        if renumber:  # the words kept follow one another (see bulk._WordIndexer)
            return phrase_terms(fieldname, [word for word in words if word is not None])
        return placed([(i, word) for i, word in enumerate(words) if word is not None])

    return pairs


_group = re.Match.group  # group() of a match: the whole matched text
