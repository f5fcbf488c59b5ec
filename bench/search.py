"""Search speed at 1,000 and 10,000 synthetic services: index build, and query latency ours vs naive whoosh.

For each size: a SQLite catalogue of synthetic services (words drawn from the seed descriptors) is built,
then the index is rebuilt from it (timed, as `catalogue reindex` does). Query latency p50/p95 is measured for
four kinds of query — one term, a phrase or several words, a misspelt word (fuzzy), and a term with two
facet filters — through our search function (facet counts, highlights and the catch-up check included; the
result cache is emptied before every query, so no answer comes from it; what is derived from the open
reader — bitsets, per-term scores — is kept, as it is between two writes), and through whoosh used naively
on the same index: a new searcher per query, MultifieldParser, facet counts with `groupedby`, highlights.
The "after write" row is a term query with the reader-derived caches dropped too, as the first search
after a write (in any process) meets them.

    python bench/search.py [--sizes 1000 10000] [--queries 60]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from whoosh import highlight, sorting
from whoosh.qparser import MultifieldParser, OrGroup
from whoosh.query import And, Or, Term

from catalogue import cli, create_app
from catalogue.auth import actors
from catalogue.auth.models import Organisation
from catalogue.config import Config
from catalogue.db import database_of, db
from catalogue.events import Event
from catalogue.search.query import TEXT_FIELDS, SearchRequest
from catalogue.services import permissions, validation
from catalogue.services.models import Service, ServiceVersion, VersionSubprocess

SEEDS = Path(__file__).resolve().parents[1] / "seed_services"
ORGS = [
    "ISTAT",
    "INSEE",
    "CBS",
    "SSB",
    "SCB",
    "STATCAN",
    "ABS",
    "DESTATIS",
    "ONS",
    "CSO",
    "STATISTIK-AUSTRIA",
    "EUROSTAT",
]
LICENCES = ["EUPL-1.2", "MIT", "GPL-3.0-or-later", "Apache-2.0", "EUPL-1.1 OR EUPL-1.2"]
TECH = ["R", "Python", "Java", "C++", ".NET", "JavaScript", "SAS", "Julia"]
GSIM = [
    "Unit Data Set",
    "Dimensional Data Set",
    "Statistical Classification",
    "Referential Metadata Set",
    "Rule",
    "Process Output",
]
SUBPROCESSES = ["1.1", "2.3", "3.1", "3.4", "4.3", "5.1", "5.3", "5.4", "5.6", "5.7", "6.1", "6.2", "6.4", "7.1", "7.2"]


def vocabulary() -> list[str]:
    """Words of the seed descriptors' names, purposes and descriptions."""
    words: list[str] = []
    for path in sorted(SEEDS.glob("*.yaml")):
        definition = yaml.safe_load(path.read_text("utf-8"))["definition"]
        text = " ".join(str(definition.get(k, "")) for k in ("name", "purpose", "description"))
        words += [w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)]
    return sorted(set(words))


def descriptor(i: int, rng: random.Random, words: list[str]) -> dict[str, Any]:
    """A synthetic service descriptor (valid against the contract)."""
    subprocesses = sorted(rng.sample(SUBPROCESSES, rng.randint(1, 3)))
    return {
        "cspa": "2.0",
        "id": f"svc-{i}",
        "version": "1.0.0",
        "definition": {
            "name": " ".join(rng.sample(words, 3)).title(),
            "purpose": " ".join(rng.choices(words, k=18)) + ".",
            "description": " ".join(rng.choices(words, k=60)) + ".",
            "keywords": rng.sample(words, 4),
            "gsbpm": subprocesses,
            "inputs": [{"gsim": rng.choice(GSIM)}],
            "outputs": [{"gsim": rng.choice(GSIM)}],
        },
        "specification": {"protocol": rng.choice(["REST", "library", "batch"])},
        "implementation": {
            "owner": rng.choice(ORGS),
            "licence": rng.choice(LICENCES),
            "technology": rng.sample(TECH, 2),
            "maturity": rng.choice(["prototype", "pilot", "production"]),
        },
    }


def build_catalogue(size: int, folder: Path, words: list[str]) -> Any:
    """A SQLite catalogue of size approved synthetic services (rows written directly: the bench is about search)."""
    app = create_app(
        Config(instance_path=folder, database_url=f"sqlite:///{folder / 'bench.sqlite3'}", index_dir=folder / "index")
    )
    rng = random.Random(size)
    with app.app_context():
        db.create_all()
        with db.transaction() as session:
            orgs = {code: Organisation(code=code, name=code) for code in ORGS}
            session.add_all(orgs.values())
            session.flush()
            for i in range(size):
                content = descriptor(i, rng, words)
                service = Service(
                    slug=content["id"], organisation=orgs[content["implementation"]["owner"]], status="approved"
                )
                version = ServiceVersion(
                    service=service,
                    version="1.0.0",
                    status="approved",
                    name=content["definition"]["name"],
                    descriptor_text="",
                    descriptor_format="json",
                    descriptor=content,
                    bundle=content,
                    content_hash=validation.content_hash(content),
                    validation={},
                    compliance={},
                    compliance_score=50,
                    subprocesses=[VersionSubprocess(code=c) for c in content["definition"]["gsbpm"]],
                )
                session.add_all([service, version])
                if i % 1000 == 999:
                    session.flush()
            session.flush()
            for service in session.query(Service).all():
                service.latest_version = service.public_version = service.versions[0]
                session.add(
                    Event(kind="version.submitted", service_id=service.id, version_id=service.versions[0].id, data={})
                )
    return app


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000


def queries(words: list[str], count: int, rng: random.Random) -> dict[str, list[tuple[str, dict[str, list[str]]]]]:
    def typo(word: str) -> str:
        i = rng.randrange(1, len(word) - 1)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    long_words = [w for w in words if len(w) >= 6]
    return {
        "term": [(rng.choice(words), {}) for _ in range(count)],
        "phrase": [(" ".join(rng.sample(words, rng.randint(2, 3))), {}) for _ in range(count)],
        "fuzzy": [(typo(rng.choice(long_words)), {}) for _ in range(count)],
        "faceted": [
            (rng.choice(words), {"phase": [rng.choice("1234567")], "organisation": [rng.choice(ORGS)]})
            for _ in range(count)
        ],
    }


def ours(app: Any, after_write: bool = False) -> Callable[[str, dict[str, list[str]]], int]:
    search = app.extensions["catalogue.search"]
    rule = permissions.visibility(actors.ANONYMOUS)

    def run(q: str, filters: dict[str, list[str]]) -> int:
        search.clear_cache(reader=after_write)
        with app.app_context():
            result = search.search(SearchRequest.build(q=q, filters=filters, per_page=10), rule)
        return result.total

    return run


def naive(app: Any) -> Callable[[str, dict[str, list[str]]], int]:
    ix = app.extensions["catalogue.search"].index.open()
    parser = MultifieldParser(list(TEXT_FIELDS), ix.schema, group=OrGroup.factory(0.9))
    facets = {
        name: sorting.FieldFacet(name, allow_overlap=True)
        for name in ("phase", "subprocess", "organisation", "gsim", "licence", "technology")
    }

    def run(q: str, filters: dict[str, list[str]]) -> int:
        with ix.searcher() as searcher:
            query = parser.parse(q)
            flt = And([Or([Term(k, v) for v in vs]) for k, vs in filters.items()] + [Term("public", "1")])
            results = searcher.search(query, filter=flt, limit=10, groupedby=facets, terms=True)
            results.formatter = highlight.HtmlFormatter(tagname="mark")
            for name in facets:
                results.groups(name)
            for hit in results:
                hit.highlights("purpose")
            return len(results)

    return run


def measure(
    run: Callable[[str, dict[str, list[str]]], int], cases: list[tuple[str, dict[str, list[str]]]]
) -> list[float]:
    times = []
    for q, filters in cases:
        start = time.perf_counter()
        run(q, filters)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--queries", type=int, default=60, help="queries of each kind")
    args = parser.parse_args()
    words = vocabulary()
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            start = time.perf_counter()
            app = build_catalogue(size, folder, words)
            print(f"\n== {size} services (database built in {time.perf_counter() - start:.1f} s)")
            search_index = app.extensions["catalogue.search"].index
            start = time.perf_counter()
            result = app.test_cli_runner().invoke(
                cli.main, ["reindex"]
            )  # as `catalogue reindex`, progress bar included
            assert result.exit_code == 0, result.output
            print(f"index rebuild: {time.perf_counter() - start:.1f} s ({result.output.strip()})")
            cases = queries(words, args.queries, random.Random(7))
            mine, theirs = ours(app), naive(app)
            for run in (mine, theirs):  # warm both: first-use costs are not what is measured
                measure(run, cases["term"][:5])
            print(f"{'query':10} {'ours p50':>9} {'ours p95':>9} {'naive p50':>10} {'naive p95':>10} {'p95 ratio':>10}")
            for kind, kind_cases in cases.items():
                o50, o95 = percentiles(measure(mine, kind_cases))
                n50, n95 = percentiles(measure(theirs, kind_cases))
                print(f"{kind:10} {o50:>8.1f}  {o95:>8.1f}  {n50:>9.1f}  {n95:>9.1f}  {o95 / n95:>9.2f}")
            o50, o95 = percentiles(measure(ours(app, after_write=True), cases["term"][:20]))
            print(f"{'after write':10} {o50:>8.1f}  {o95:>8.1f}  (term, first search on a new reader)")
            search_index.close()
            assert database_of(app).engine is not None
            database_of(app).engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
