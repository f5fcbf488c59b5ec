"""Server time of the HTML pages at 10,000 services: home, search and a service page (target p95 ≤ 50 ms).

A SQLite catalogue of synthetic approved services (bench/search.py builds it) plus the 33 seed services is
indexed, then each page is requested through the whole Flask stack (routing, database, search, templates)
with the test client, so the figure is the time the server spends, without network or browser. The search
result cache is emptied before every request, so no page is answered from it.

    python bench/pages.py [--size 10000] [--requests 100]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from search import (  # bench/search.py, beside this file
    Words,
    build_catalogue,
    percentiles,
    vocabulary,
)

from catalogue.cli import main as cli


def measure(client: object, urls: list[str], before: Callable[[], None]) -> list[float]:
    """Seconds per request for each url; every answer must be a 200."""
    times = []
    for url in urls:
        before()
        start = time.perf_counter()
        response = client.get(url, headers={"Accept": "text/html"})  # type: ignore[attr-defined]
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100, help="requests of each page")
    args = parser.parse_args()
    words = Words(vocabulary())
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        app, _contents = build_catalogue(args.size, Path(tmp), words)
        result = app.test_cli_runner().invoke(cli, ["seed"])
        assert result.exit_code == 0, result.output
        searching = app.extensions["catalogue.search"]
        searching.index.rebuild()
        print(f"{args.size} synthetic + 33 seed services, built and indexed in {time.perf_counter() - start:.1f} s")
        client = app.test_client()
        seeds = [path.stem for path in sorted((Path(__file__).resolve().parents[1] / "seed_services").glob("*.yaml"))]
        pages = {
            "home": ["/"] * args.requests,
            "search": [f"/search?q={rng.choice(words.words)}" for _ in range(args.requests)],
            "search+facet": [
                f"/search?q={rng.choice(words.words)}&phase={rng.choice('1234567')}" for _ in range(args.requests)
            ],
            "service (seed)": [f"/services/{rng.choice(seeds)}" for _ in range(args.requests)],
            "service (synthetic)": [f"/services/svc-{rng.randrange(args.size)}" for _ in range(args.requests)],
        }
        for urls in pages.values():  # warm up: first-use costs (template compiling, index opening) are not measured
            measure(client, urls[:3], searching.clear_cache)
        print(f"{'page':22} {'p50 ms':>8} {'p95 ms':>8}")
        worst = 0.0
        for name, urls in pages.items():
            p50, p95 = percentiles(measure(client, urls, searching.clear_cache))
            worst = max(worst, p95)
            print(f"{name:22} {p50:>8.1f} {p95:>8.1f}")
        print(f"worst p95 {worst:.1f} ms: {'within' if worst <= 50 else 'over'} the 50 ms target")
        searching.index.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
