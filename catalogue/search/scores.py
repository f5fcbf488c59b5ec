"""Documents with a score each, as two numpy arrays: what every part of a query is scored into.

A query of a few words sums the BM25F scores of a dozen terms (each word in every field), each term found in
up to every document. As Python dictionaries that was most of a search's time; as arrays each step is one
vector operation: a term's scores are computed from its postings at once, an Or is a sum per document
(numpy.bincount), an And keeps the documents every part has, and the best hits are found by sorting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Docs = npt.NDArray[np.signedinteger[Any]]
"""Document numbers (of the whole index), ascending, each once."""
Values = npt.NDArray[np.floating[Any]]

NO_DOCS: Docs = np.zeros(0, dtype=np.int64)


class Scores:
    """Documents (ascending, each once) and the score of each; immutable once made (cached ones are shared)."""

    __slots__ = ("docs", "values")

    def __init__(self, docs: Docs, values: Values) -> None:
        self.docs = docs
        self.values = values
        docs.flags.writeable = False
        values.flags.writeable = False

    @classmethod
    def empty(cls) -> Scores:
        """No document."""
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))

    @classmethod
    def constant(cls, docs: Docs, value: float) -> Scores:
        """Each of docs (ascending, each once) scoring value."""
        return cls(docs, np.full(len(docs), value, dtype=np.float64))

    def __len__(self) -> int:
        return len(self.docs)

    def __bool__(self) -> bool:
        return len(self.docs) > 0

    def __contains__(self, docnum: object) -> bool:
        if not isinstance(docnum, int | np.integer):
            return False
        at = int(np.searchsorted(self.docs, docnum))
        return at < len(self.docs) and int(self.docs[at]) == docnum

    def get(self, docnum: int) -> float | None:
        """The score of docnum, or None when it is not one of the documents."""
        at = int(np.searchsorted(self.docs, docnum))
        if at < len(self.docs) and int(self.docs[at]) == docnum:
            return float(self.values[at])
        return None

    def of(self, docs: Docs) -> Values:
        """The scores of docs (ascending), 0 for those not among the documents."""
        if not len(self.docs):
            return np.zeros(len(docs), dtype=np.float64)
        at = np.minimum(np.searchsorted(self.docs, docs), len(self.docs) - 1)
        return np.where(self.docs[at] == docs, self.values[at], 0.0)

    def only(self, docs: Docs) -> Scores:
        """The documents that are also in docs (ascending)."""
        keep = within(self.docs, docs)
        return Scores(self.docs[keep], self.values[keep])

    def without(self, docs: Docs) -> Scores:
        """The documents that are not in docs."""
        keep = ~within(self.docs, docs)
        return Scores(self.docs[keep], self.values[keep])

    def scaled(self, factor: float) -> Scores:
        """Every score times factor."""
        return self if factor == 1.0 else Scores(self.docs, self.values * factor)

    def as_dict(self) -> dict[int, float]:
        """{document: score} (for tests and comparisons)."""
        return dict(zip(self.docs.tolist(), self.values.tolist(), strict=True))


def within(docs: Docs, among: Docs) -> npt.NDArray[np.bool_]:
    """Which of docs (ascending) are among `among` (ascending, each once): numpy.isin's answer, found by binary
    search in among rather than by sorting both together (a few candidates checked against a long posting
    list cost their own number, not the list's)."""
    if not len(among) or not len(docs):
        return np.zeros(len(docs), dtype=bool)
    at = np.searchsorted(among, docs)
    at[at == len(among)] = 0
    return np.asarray(among[at] == docs)


def shared(a: Docs, b: Docs) -> Docs:
    """The documents of both a and b (each ascending, each once), ascending: numpy.intersect1d's answer."""
    return a[within(a, b)] if len(a) <= len(b) else b[within(b, a)]


def _span(parts: Sequence[Scores]) -> int:
    """One more than the largest document number of parts (the length of a dense array over them)."""
    return max((int(p.docs[-1]) + 1 for p in parts if len(p.docs)), default=0)


def summed(parts: Sequence[Scores], factor: float = 1.0) -> Scores:
    """Every document of any part, scoring the sum of its parts' scores, times factor."""
    if len(parts) == 1:
        return parts[0].scaled(factor)
    size = _span(parts)
    if not size:
        return Scores.empty()
    docs = np.concatenate([p.docs for p in parts])
    # Dense over the document numbers: one pass each, cheaper than sorting the concatenation.
    total = np.asarray(
        np.bincount(docs, weights=np.concatenate([p.values for p in parts]), minlength=size), dtype=np.float64
    )
    present = np.zeros(size, dtype=bool)
    present[docs] = True
    found = np.flatnonzero(present)
    return Scores(found, total[found] * factor if factor != 1.0 else total[found])


def common(parts: Sequence[Scores], factor: float = 1.0) -> Scores:
    """The documents of every part, scoring the sum of the parts' scores, times factor."""
    if not parts:
        return Scores.empty()
    if len(parts) == 1:
        return parts[0].scaled(factor)
    if any(not p for p in parts):
        return Scores.empty()
    size = _span(parts)
    docs = np.concatenate([p.docs for p in parts])
    counts = np.bincount(docs, minlength=size)
    found = np.flatnonzero(counts == len(parts))  # each part holds a document at most once
    total = np.asarray(
        np.bincount(docs, weights=np.concatenate([p.values for p in parts]), minlength=size), dtype=np.float64
    )
    return Scores(found, total[found] * factor if factor != 1.0 else total[found])


def coverage(parts: Sequence[Scores]) -> tuple[Docs, npt.NDArray[np.int64]]:
    """(documents of any part, how many parts each is in)."""
    size = _span(parts)
    if not size:
        return NO_DOCS, np.zeros(0, dtype=np.int64)
    counts = np.bincount(np.concatenate([p.docs for p in parts]), minlength=size)
    found = np.flatnonzero(counts)
    return found, counts[found]
