"""What a query means: each word (or quoted phrase, or phrase of synonyms.yaml) is one unit that a service must
match somewhere, and the units are And-ed.

A unit is an Or over the fields: the word stemmed in the text fields, as written in the unstemmed vocabulary,
folded in the names and aliases (where it may also start a name: `x13` finds X-13ARIMA-SEATS), and, when it
starts a phrase of synonyms.yaml, any equivalent phrase. whoosh's MultifieldParser cannot say this: it flattens a
query of several words into one Or of every word in every field, so "documents matching every word" was the
empty set. The whole query is also kept as one phrase (Plan.phrase): services holding it rank first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from whoosh import fields
from whoosh.query import And, Or, Phrase, Prefix, Query, Term, Wildcard

from catalogue.search.vocabulary import Token, Vocabulary, compact, fold, tokens

STEMMED_FIELDS = ("name", "purpose", "description", "organisation_name", "vocabulary", "annex")
"""Analysed text fields, in which phrases are matched (on their pairs of words: pairs.py)."""
BOOSTS = {
    "name": 3.0,
    "names": 3.0,
    "keywords": 2.0,
    "purpose": 1.5,
    "aliases": 1.5,
    "identifiers": 3.0,
    "organisation_name": 1.2,
    "description": 1.0,
    "vocabulary": 1.0,
    "annex": 0.8,
    "words": 0.6,
}
"""How much a match in each field weighs."""
NAME_FIELDS = ("names", "aliases")
PREFIX_FROM = 3
"""A typed word of at least this many letters and digits also finds the identifiers it starts."""


@dataclass(frozen=True)
class Unit:
    """One thing every hit must match: a word, a quoted phrase or a phrase of synonyms.yaml, as a query."""

    text: str
    query: Query
    correctable: bool = False
    """A plain word, which a spelling suggestion may replace."""
    typed: Query | None = None
    """The words as typed, without their synonyms (what is marked in the hits); None when it is query itself."""

    @property
    def marked(self) -> Query:
        """The query whose words are marked in the hits."""
        return self.typed if self.typed is not None else self.query


@dataclass(frozen=True)
class Plan:
    """The units of a query, and the whole query as one phrase when it has several words."""

    units: tuple[Unit, ...]
    phrase: Query | None = None
    name: Query | None = None
    """The query as a whole name of a service (ranked before everything else)."""

    def all_units(self) -> Query | None:
        """The query every unit of which must match."""
        if not self.units:
            return None
        return self.units[0].query if len(self.units) == 1 else And([u.query for u in self.units])


def _analysed(schema: fields.Schema, fieldname: str, text: str) -> list[str]:
    return [t.text for t in schema[fieldname].analyzer(text, mode="query")]


def _in_field(fieldname: str, words: list[str], boost: float) -> Query | None:
    if not words:
        return None
    if len(words) == 1:
        return Term(fieldname, words[0], boost=boost)
    return Phrase(fieldname, words, boost=boost)


def word_query(schema: fields.Schema, word: str, names: Sequence[str] = (), exact: bool | None = None) -> Query:
    """A typed word in every field (names: more name forms it stands for, close to it in spelling).

    exact (the default for words of one or two letters) leaves out the stemmed fields: stemmed, "SA" would find
    every service written in SAS.
    """
    parts: list[Query] = []
    if exact is None:
        exact = len(compact(word)) <= 2 and compact(word).isalpha()
    for fieldname in () if exact else STEMMED_FIELDS:
        found = _in_field(fieldname, _analysed(schema, fieldname, word), BOOSTS[fieldname])
        if found is not None:
            parts.append(found)
    parts.append(Term("keywords", word.casefold().strip(), boost=BOOSTS["keywords"]))
    written = _analysed(schema, "words", word)
    if len(written) == 1:
        parts.append(Term("words", written[0], boost=BOOSTS["words"]))
    elif written:
        parts.append(And([Term("words", w) for w in written], boost=BOOSTS["words"]))
    folded = compact(word)
    for fieldname in NAME_FIELDS:
        if folded:
            parts.append(Term(fieldname, folded, boost=BOOSTS[fieldname]))
        parts.extend(Term(fieldname, n, boost=BOOSTS[fieldname]) for n in names)
    if len(folded) >= PREFIX_FROM:
        # Only identifiers are found by their start (x13 → x13arimaseats, sdc → sdcmicro): a word starting an
        # ordinary word of a name ("product" in "productivity") is not that word.
        parts.append(Prefix("identifiers", folded, boost=BOOSTS["identifiers"]))
    return Or(parts)


def phrase_query(schema: fields.Schema, phrase: str, where: Sequence[str] = STEMMED_FIELDS) -> Query:
    """A phrase in the fields where (with word positions), as a whole keyword, or as a name run together."""
    parts: list[Query] = []
    for fieldname in where:
        found = _in_field(fieldname, _analysed(schema, fieldname, phrase), BOOSTS[fieldname])
        if found is not None:
            parts.append(found)
    parts.append(Term("keywords", " ".join(phrase.casefold().split()), boost=BOOSTS["keywords"]))
    folded = compact(phrase)
    if folded:
        parts.extend(Term(fieldname, folded, boost=BOOSTS[fieldname]) for fieldname in NAME_FIELDS)
    return Or(parts)


def pattern_query(word: str) -> Query:
    """A word with * or ?: a prefix (`season*`) or a pattern, matched against the indexed words as they are."""
    text = fold(word)
    kind = Prefix if text.endswith("*") and "*" not in text[:-1] and "?" not in text else Wildcard
    pattern = text[:-1] if kind is Prefix else text
    parts: list[Query] = [kind(f, pattern, boost=BOOSTS[f]) for f in (*STEMMED_FIELDS, "words")]
    folded = compact(pattern)
    if kind is Prefix and folded:
        parts.append(Prefix("identifiers", folded, boost=BOOSTS["identifiers"]))
    return Or(parts)


def _synonym_unit(schema: fields.Schema, typed: list[str], group: tuple[str, ...]) -> Query:
    """What the typed words stand for: themselves (all of them), as a phrase, or any phrase of their group."""
    text = " ".join(typed)
    parts: list[Query] = [phrase_query(schema, text) if len(typed) > 1 else word_query(schema, text)]
    if len(typed) > 1:
        parts.append(And([word_query(schema, w) for w in typed]))
    for equivalent in group:
        if Vocabulary.key(equivalent) == Vocabulary.key(text):
            continue
        many = len(Vocabulary.key(equivalent)) > 1
        # An abbreviation (SDC, SA, E&I) is matched as written, never stemmed.
        abbreviation = equivalent.isupper() or len(compact(equivalent)) <= 3
        parts.append(phrase_query(schema, equivalent) if many else word_query(schema, equivalent, exact=abbreviation))
    return Or(parts)


def _unit_at(
    schema: fields.Schema, found: list[Token], i: int, words: Vocabulary, near: dict[str, tuple[str, ...]]
) -> tuple[Unit | None, int]:
    """The unit starting at found[i] (None for a stop word) and how many tokens it takes."""
    token = found[i]
    if token.quoted:
        return Unit(token.text, phrase_query(schema, token.text)), 1
    if token.wildcard:
        return Unit(token.text, pattern_query(token.text)), 1
    plain = [t.text if not (t.quoted or t.wildcard) else "\x00" for t in found]
    group = words.group_at(plain, i)
    if group is not None:
        length, equivalents = group
        typed = [t.text for t in found[i : i + length]]
        text = " ".join(typed)
        # Only the words typed are marked in the hits: "data" of "data matching" is not what was asked for.
        shown = And([word_query(schema, w) for w in typed]) if length > 1 else word_query(schema, text)
        return Unit(text, _synonym_unit(schema, typed, equivalents), typed=shown), length
    if words.is_stop_word(token.text):
        return None, 1
    return Unit(token.text, word_query(schema, token.text, near.get(fold(token.text), ())), True), 1


def plan(schema: fields.Schema, text: str, words: Vocabulary, near: dict[str, tuple[str, ...]] | None = None) -> Plan:
    """The units of text. near maps a typed word (folded) to name forms close to it in spelling, which it then
    also finds (a misspelt name is answered as typed, with that tolerance, rather than replaced)."""
    found = tokens(text)
    units: list[Unit] = []
    i = 0
    while i < len(found):
        unit, taken = _unit_at(schema, found, i, words, near or {})
        if unit is not None:
            units.append(unit)
        i += taken
    meaningful = [t for t in found if not words.is_stop_word(t.text)]
    whole = None
    if len(meaningful) > 1 and not any(t.quoted or t.wildcard for t in meaningful):
        # Ranking only (every unit matched already): the fields a reader sees, which keeps it cheap at scale.
        whole = phrase_query(schema, " ".join(t.text for t in found), ("name", "purpose", "description"))
    folded = compact(" ".join(t.text for t in found if not t.wildcard))
    return Plan(tuple(units), whole, Term("name_key", folded) if folded else None)
