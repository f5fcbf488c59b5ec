"""The relevance set (relevance.yaml) and its measures, nDCG@5 and MRR; read by test_relevance.py and
bench/relevance.py.

MRR is the mean over queries of 1 / the rank of the first hit graded 3 (0 when none is in the first ten).
nDCG@5 compares the gains (2^grade - 1) of the first five hits, discounted by log2(rank + 1), with those of the
best order of the judged services.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RELEVANCE_FILE = Path(__file__).with_name("relevance.yaml")
TOP = 5
LISTED = 10


@dataclass(frozen=True)
class Judgement:
    """One query of the set with the grade of each judged service id."""

    q: str
    kind: str
    grades: dict[str, int]

    @property
    def best(self) -> int:
        """The highest grade given."""
        return max(self.grades.values())


def judgements() -> list[Judgement]:
    """Every query of relevance.yaml."""
    data = yaml.safe_load(RELEVANCE_FILE.read_text("utf-8"))
    return [Judgement(str(item["q"]), item["kind"], dict(item["grades"])) for item in data["queries"]]


def ndcg(judgement: Judgement, ids: list[str], k: int = TOP) -> float:
    """nDCG@k of the ranked ids."""
    gains = [2 ** judgement.grades.get(i, 0) - 1 for i in ids[:k]]
    ideal = sorted((2**g - 1 for g in judgement.grades.values()), reverse=True)[:k]
    dcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(gains))
    best = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / best if best else 0.0


def reciprocal_rank(judgement: Judgement, ids: list[str]) -> float:
    """1 / rank of the first id with the best grade (0 if none is listed)."""
    for rank, found in enumerate(ids, 1):
        if judgement.grades.get(found, 0) == judgement.best:
            return 1 / rank
    return 0.0


@dataclass(frozen=True)
class Measure:
    """The measures of one query."""

    judgement: Judgement
    ids: list[str]
    ndcg: float
    rr: float

    @property
    def answered(self) -> bool:
        """Whether a best-graded service is in the first five."""
        return any(self.judgement.grades.get(i, 0) == self.judgement.best for i in self.ids[:TOP])


def measure(search: Callable[[str], list[str]], queries: Iterable[Judgement] | None = None) -> list[Measure]:
    """Run every query through search (q → ranked service ids) and measure it."""
    found = []
    for judgement in queries if queries is not None else judgements():
        ids = search(judgement.q)[:LISTED]
        found.append(Measure(judgement, ids, ndcg(judgement, ids), reciprocal_rank(judgement, ids)))
    return found


def summary(measures: list[Measure]) -> dict[str, Any]:
    """Mean nDCG@5 and MRR over all queries and per kind, and the queries whose answer is not in the top 5."""
    kinds: dict[str, list[Measure]] = {}
    for m in measures:
        kinds.setdefault(m.judgement.kind, []).append(m)

    def means(group: list[Measure]) -> dict[str, float]:
        return {
            "queries": len(group),
            "ndcg5": sum(m.ndcg for m in group) / len(group),
            "mrr": sum(m.rr for m in group) / len(group),
        }

    return {
        **means(measures),
        "kinds": {kind: means(group) for kind, group in sorted(kinds.items())},
        "missed": [(m.judgement.q, m.ids[:TOP]) for m in measures if not m.answered],
    }
