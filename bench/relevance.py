"""Search relevance: nDCG@5 and MRR of the graded relevance set over the seed catalogue, and the precision rule
on a generated catalogue.

The set is tests/search/relevance.yaml (graded judgements by service id, measured as tests/search/relevance.py
says). The seed catalogue is loaded into a temporary SQLite database as `catalogue seed` does, and each query is
asked through the API. Then a catalogue of --size generated services (bench/search.py's generator) is indexed
directly, and for --queries queries of two or three words that at least ten services hold, the share of
queries whose top ten services all hold every word is printed.

    python bench/relevance.py [--size 1000] [--queries 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the relevance set and its measures live with the tests

from tests.conftest import seeded_app  # noqa: E402
from tests.search import relevance  # noqa: E402
from tests.search import test_precision_at_scale as scale  # noqa: E402


def seed_relevance() -> dict[str, object]:
    """The measures of the relevance set over the seed catalogue."""
    with tempfile.TemporaryDirectory() as tmp, seeded_app(Path(tmp)) as app:
        client = app.test_client()

        def search(q: str) -> list[str]:
            body = client.get("/api/v1/search", query_string={"q": q, "per_page": relevance.LISTED}).json
            return [hit["id"] for hit in body["hits"]]

        return relevance.summary(relevance.measure(search))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    start = time.perf_counter()
    summary = seed_relevance()
    print(f"== relevance set over the seed catalogue ({time.perf_counter() - start:.1f} s)")
    print(f"{'kind':14} {'queries':>7} {'nDCG@5':>7} {'MRR':>6}")
    for kind, entry in summary["kinds"].items():  # type: ignore[attr-defined]
        print(f"{kind:14} {entry['queries']:>7} {entry['ndcg5']:>7.3f} {entry['mrr']:>6.3f}")
    print(f"{'all':14} {summary['queries']:>7} {summary['ndcg5']:>7.3f} {summary['mrr']:>6.3f}")
    missed = summary["missed"]
    print(f"answer missing from the top 5: {len(missed)}")  # type: ignore[arg-type]
    for q, ids in missed:  # type: ignore[attr-defined]
        print(f"  {q!r}: {', '.join(ids)}")
    start = time.perf_counter()
    checked, held = scale.precision_at_scale(args.size, args.queries)
    print(f"== precision at {args.size} generated services ({time.perf_counter() - start:.1f} s)")
    print(f"multi-word queries with every top-10 service holding every word: {held}/{checked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
