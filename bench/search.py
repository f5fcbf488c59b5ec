"""Search speed on a synthetic catalogue, side by side with SQLite FTS5 and tantivy on the same documents.

For each size: a SQLite catalogue of synthetic services is built (words of the seed descriptors and of
catalogue/search/synonyms.yaml, drawn with a Zipf-like frequency, as words of real texts are), then the index is
rebuilt from it as `catalogue reindex` does (timed), and the same documents are indexed by SQLite FTS5
(stdlib sqlite3, porter stemmer) and by tantivy (en_stem), each timed too.

Queries are drawn from the same vocabulary and never repeat within a run, five kinds of each: one term; 2–3
words of one service (every word must match, in every engine); a quoted phrase of 2–3 consecutive words of one
service's description; a word misspelt as people misspell (a letter dropped, doubled, swapped with the next, or
a neighbouring key), which ours corrects, tantivy matches fuzzily (distance 1–2), and FTS5 cannot (it is asked
the word as typed); and a term with two filters (phase and organisation). Ours is measured twice: with the
reader's derived scores kept (as between two writes) and with them dropped before every query (as the first
search after a write; the per-segment facet sets are kept, as they are after a write), the answer cache always
off. Ours also counts every facet and highlights the page; the peers give the top 10 and the total only.
"after write" is the first search after a real one-document write (the index follower has applied it).

    python bench/search.py [--sizes 1000 10000] [--queries 60] [--profile] [--keep FOLDER] [--kinds term words]
                           [--rebuild-only]

With --keep, each size's catalogue and index are built once in FOLDER/<size> and copied for every later run (the
"after write" row writes to the copy), so runs before and after a change read the same index without a rebuild of
a minute or two; the rebuild time shown is then the one measured when it was built. With --rebuild-only, only a
rebuild is timed (of the copy, with --keep), as `catalogue reindex` does it, and no query is run.

tantivy is a bench-only dependency: `pip install -e .[bench]`.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from catalogue import cli, create_app
from catalogue.auth import actors
from catalogue.auth.models import Organisation
from catalogue.config import Config
from catalogue.db import database_of, db
from catalogue.events import Event
from catalogue.search import follower_of
from catalogue.search.query import SearchRequest
from catalogue.services import permissions, validation
from catalogue.services.models import Service, ServiceVersion, VersionSubprocess

try:
    import tantivy
except ImportError:  # pragma: no cover - the reference rows are then left out
    tantivy = None

SEEDS = Path(__file__).resolve().parents[1] / "seed_services"
SYNONYMS = Path(__file__).resolve().parents[1] / "catalogue" / "search" / "synonyms.yaml"
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
    """Words of the seed descriptors' names, purposes and descriptions and of the synonyms file, most frequent
    first (a word's rank gives its frequency in the generated texts: Zipf's law)."""
    counts: dict[str, int] = {}
    texts = []
    for path in sorted(SEEDS.glob("*.yaml")):
        definition = yaml.safe_load(path.read_text("utf-8"))["definition"]
        texts.append(" ".join(str(definition.get(k, "")) for k in ("name", "purpose", "description", "keywords")))
    for group in yaml.safe_load(SYNONYMS.read_text("utf-8")).get("groups", []):
        texts.append(" ".join(str(phrase) for phrase in group))
    for text in texts:
        for word in re.findall(r"[A-Za-z]{4,}", text):
            counts[word.lower()] = counts.get(word.lower(), 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))


def seed_words() -> list[str]:
    """Words of the seed descriptors' names, purposes and descriptions, sorted (the generator of
    tests/search/test_precision_at_scale.py draws them uniformly)."""
    words: list[str] = []
    for path in sorted(SEEDS.glob("*.yaml")):
        definition = yaml.safe_load(path.read_text("utf-8"))["definition"]
        text = " ".join(str(definition.get(k, "")) for k in ("name", "purpose", "description"))
        words += [w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)]
    return sorted(set(words))


class Words:
    """Draws words with a Zipf-like frequency (the k-th word about 1/k as often as the first), or uniformly."""

    def __init__(self, words: list[str], uniform: bool = False) -> None:
        self.words = words
        self.weights = None if uniform else [1.0 / (rank + 1) for rank in range(len(words))]

    def choose(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, self.weights, k=k)

    def distinct(self, rng: random.Random, k: int) -> list[str]:
        if self.weights is None:
            return rng.sample(self.words, k)
        found: list[str] = []
        while len(found) < k:
            word = self.choose(rng, 1)[0]
            if word not in found:
                found.append(word)
        return found


def descriptor(i: int, rng: random.Random, words: Words) -> dict[str, Any]:
    """A synthetic service descriptor (valid against the contract)."""
    subprocesses = sorted(rng.sample(SUBPROCESSES, rng.randint(1, 3)))
    return {
        "cspa": "2.0",
        "id": f"svc-{i}",
        "version": "1.0.0",
        "definition": {
            "name": " ".join(words.distinct(rng, 3)).title(),
            "purpose": " ".join(words.choose(rng, 18)) + ".",
            "description": " ".join(words.choose(rng, 60)) + ".",
            "keywords": words.distinct(rng, 4),
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


def bench_app(folder: Path) -> Any:
    """The app over the catalogue and index in folder."""
    return create_app(
        Config(instance_path=folder, database_url=f"sqlite:///{folder / 'bench.sqlite3'}", index_dir=folder / "index")
    )


def generated(size: int, words: Words) -> list[dict[str, Any]]:
    """The descriptors build_catalogue writes for size (the same, drawn again from the same seed)."""
    rng = random.Random(size)
    return [descriptor(i, rng, words) for i in range(size)]


def build_catalogue(size: int, folder: Path, words: Words) -> tuple[Any, list[dict[str, Any]]]:
    """A SQLite catalogue of size approved synthetic services (rows written directly: the bench is about search)."""
    app = bench_app(folder)
    rng = random.Random(size)
    contents: list[dict[str, Any]] = []
    with app.app_context():
        db.create_all()
        with db.transaction() as session:
            orgs = {code: Organisation(code=code, name=code) for code in ORGS}
            session.add_all(orgs.values())
            session.flush()
            for i in range(size):
                content = descriptor(i, rng, words)
                contents.append(content)
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
    return app, contents


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000


Case = tuple[str, dict[str, list[str]]]
KINDS = ("term", "words", "phrase", "fuzzy", "faceted")
_KEYS = "qwertyuiop asdfghjkl zxcvbnm".split()


def _neighbour(letter: str, rng: random.Random) -> str:
    """A key next to letter on a QWERTY keyboard."""
    for row in _KEYS:
        at = row.find(letter)
        if at >= 0:
            return row[max(0, at - 1)] if at and (at == len(row) - 1 or rng.random() < 0.5) else row[at + 1]
    return letter


def misspell(word: str, rng: random.Random) -> str:
    """word misspelt as people misspell: a letter dropped, doubled, swapped with the next, or a neighbouring key
    (never the first letter: spelling correction, ours and most, keeps it)."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + _neighbour(word[i], rng) + word[i + 1 :]


def queries(words: Words, contents: list[dict[str, Any]], count: int, rng: random.Random) -> dict[str, list[Case]]:
    """count queries of each kind, none asked twice in the run (see the module's text)."""
    seen: set[str] = set()
    found: dict[str, list[Case]] = {kind: [] for kind in KINDS}

    def text_of(content: dict[str, Any], part: str) -> list[str]:
        return re.findall(r"[a-z]+", str(content["definition"][part]).lower())

    def draw(kind: str) -> Case:
        content = rng.choice(contents)
        if kind == "term":
            return words.choose(rng, 1)[0], {}
        if kind == "words":
            own = sorted(set(text_of(content, "purpose") + text_of(content, "name")))
            return " ".join(rng.sample(own, rng.randint(2, 3))), {}
        if kind == "phrase":
            text = text_of(content, "description")
            length = rng.randint(2, 3)
            at = rng.randrange(len(text) - length)
            return '"' + " ".join(text[at : at + length]) + '"', {}
        if kind == "fuzzy":
            word = rng.choice([w for w in text_of(content, "description") if len(w) >= 6] or ["statistics"])
            return misspell(word, rng), {}
        filters = {"phase": [content["definition"]["gsbpm"][0].split(".")[0]], "organisation": [rng.choice(ORGS)]}
        return words.choose(rng, 1)[0], filters

    for kind in KINDS:
        tries = 0
        while len(found[kind]) < count and tries < count * 50:
            tries += 1
            q, filters = draw(kind)
            key = f"{q}|{sorted(filters.items())}"
            if key not in seen:
                seen.add(key)
                found[kind].append((q, filters))
    return found


def ours(app: Any, cold: bool = False) -> Callable[[str, dict[str, list[str]]], int]:
    """Our search, answer cache off; cold also drops what the reader derived (scores), as after a write."""
    search = app.extensions["catalogue.search"]
    rule = permissions.visibility(actors.ANONYMOUS)

    def run(q: str, filters: dict[str, list[str]]) -> int:
        search.clear_cache(reader=cold)
        with app.app_context():
            result = search.search(SearchRequest.build(q=q, filters=filters, per_page=10), rule)
        return result.total

    return run


def _plain(q: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", q.lower())


class Fts5:
    """SQLite FTS5 over the same documents (porter stemmer), top 10 by bm25 and the total."""

    def __init__(self, folder: Path, contents: list[dict[str, Any]]) -> None:
        start = time.perf_counter()
        self.db = sqlite3.connect(folder / "fts5.sqlite3")
        self.db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(name, purpose, description, keywords, phase UNINDEXED,"
            " organisation UNINDEXED, tokenize='porter unicode61')"
        )
        self.db.executemany(
            "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    c["definition"]["name"],
                    c["definition"]["purpose"],
                    c["definition"]["description"],
                    " ".join(c["definition"]["keywords"]),
                    " " + " ".join(sorted({g.split(".")[0] for g in c["definition"]["gsbpm"]})) + " ",
                    c["implementation"]["owner"],
                )
                for c in contents
            ],
        )
        self.db.commit()
        self.build_seconds = time.perf_counter() - start

    def run(self, q: str, filters: dict[str, list[str]]) -> int:
        if q.startswith('"'):
            match = '"' + " ".join(_plain(q)) + '"'
        else:
            match = " AND ".join(f'"{w}"' for w in _plain(q))
        where, params = "docs MATCH ?", [match]
        if filters:
            where += " AND organisation = ? AND phase LIKE ?"
            params += [filters["organisation"][0], f"% {filters['phase'][0]} %"]
        self.db.execute(f"SELECT rowid FROM docs WHERE {where} ORDER BY rank LIMIT 10", params).fetchall()
        return int(self.db.execute(f"SELECT count(*) FROM docs WHERE {where}", params).fetchone()[0])


class Tantivy:
    """tantivy over the same documents (en_stem), every word required, top 10 and the total."""

    FIELDS = ["name", "purpose", "description", "keywords"]

    def __init__(self, folder: Path, contents: list[dict[str, Any]]) -> None:
        start = time.perf_counter()
        builder = tantivy.SchemaBuilder()
        for name in self.FIELDS:
            builder.add_text_field(name, tokenizer_name="en_stem")
        builder.add_text_field("phase", tokenizer_name="raw", index_option="basic")
        builder.add_text_field("organisation", tokenizer_name="raw", index_option="basic")
        self.schema = builder.build()
        (folder / "tantivy").mkdir()
        self.index = tantivy.Index(self.schema, path=str(folder / "tantivy"))
        writer = self.index.writer()
        for c in contents:
            definition = c["definition"]
            doc = tantivy.Document(
                name=definition["name"],
                purpose=definition["purpose"],
                description=definition["description"],
                keywords=" ".join(definition["keywords"]),
                phase=sorted({g.split(".")[0] for g in definition["gsbpm"]}),
                organisation=c["implementation"]["owner"],
            )
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()
        self.build_seconds = time.perf_counter() - start

    def run(self, q: str, filters: dict[str, list[str]], fuzzy: bool = False) -> int:
        words = _plain(q)
        text = '"' + " ".join(words) + '"' if q.startswith('"') else " ".join(words)
        if filters:
            text = f'({text}) AND phase:{filters["phase"][0]} AND organisation:"{filters["organisation"][0]}"'
        fuzzy_fields = {f: (False, 2 if len(words[0]) > 5 else 1, True) for f in self.FIELDS} if fuzzy else {}
        query = self.index.parse_query(text, self.FIELDS, fuzzy_fields=fuzzy_fields, conjunction_by_default=True)
        return int(self.searcher.search(query, 10).count)


def measure(run: Callable[[str, dict[str, list[str]]], int], cases: list[Case]) -> tuple[list[float], list[int]]:
    times, totals = [], []
    for q, filters in cases:
        start = time.perf_counter()
        totals.append(run(q, filters))
        times.append(time.perf_counter() - start)
    return times, totals


def after_writes(app: Any, cases: list[Case]) -> list[float]:
    """The first search after each of len(cases) one-document writes (a service renamed, as an edit does)."""
    times = []
    run = ours(app)
    for number, (q, filters) in enumerate(cases):
        with app.app_context(), db.transaction() as session:
            version = session.get(ServiceVersion, number + 1)
            assert version is not None
            version.name = f"{version.name} {number}"
            session.add(Event(kind="version.edited", service_id=version.service_id, version_id=version.id, data={}))
        # As after a write through the registry (events.record marks the session): the follower applies it.
        follower_of(app).wake()
        assert follower_of(app).idle()
        start = time.perf_counter()
        run(q, filters)
        times.append(time.perf_counter() - start)
    return times


def profile(app: Any, cases: list[Case]) -> str:
    """The top of a cProfile of our search over cases, by cumulative time."""
    run = ours(app)
    profiler = cProfile.Profile()
    profiler.enable()
    for q, filters in cases:
        run(q, filters)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(22)
    return out.getvalue()


def _ratio(a: float, b: float | None) -> str:
    return f"{a / b:.1f}" if b else "—"


def _rebuilt(app: Any) -> float:
    """Seconds to rebuild app's index as `catalogue reindex` does (progress bar included)."""
    start = time.perf_counter()
    result = app.test_cli_runner().invoke(cli.main, ["reindex"])
    assert result.exit_code == 0, result.output
    return time.perf_counter() - start


def prepared(size: int, folder: Path, words: Words, keep: Path | None) -> tuple[Any, list[dict[str, Any]], float]:
    """(app, descriptors, rebuild seconds) of a catalogue of size services with its index, in folder: built there,
    or with keep, built once in keep/<size> and copied."""
    if keep is None:
        start = time.perf_counter()
        app, contents = build_catalogue(size, folder, words)
        print(f"\n== {size} services (database built in {time.perf_counter() - start:.1f} s)")
        return app, contents, _rebuilt(app)
    kept = keep / str(size)
    ready = kept / "rebuild-seconds"
    if not ready.exists():
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir(parents=True)
        app, _contents = build_catalogue(size, kept, words)
        seconds = _rebuilt(app)
        follower_of(app).stop()
        app.extensions["catalogue.search"].index.close()
        database_of(app).engine.dispose()
        ready.write_text(f"{seconds:.3f}\n")
    for database in kept.glob("bench.sqlite3*"):
        shutil.copy2(database, folder / database.name)
    shutil.copytree(kept / "index", folder / "index")
    print(f"\n== {size} services (kept catalogue and index, copied)")
    return bench_app(folder), generated(size, words), float(ready.read_text())


def rebuild_only(size: int, words: Words, keep: Path | None) -> None:
    """Time `catalogue reindex` alone on the catalogue of size (with keep: a copy of the kept one, not built)."""
    with tempfile.TemporaryDirectory() as tmp:
        app, _contents, _rebuild = prepared(size, Path(tmp), words, keep)
        print(f"index rebuild: ours {_rebuilt(app):.1f} s")
        follower_of(app).stop()
        app.extensions["catalogue.search"].index.close()
        database_of(app).engine.dispose()


def bench_size(size: int, count: int, words: Words, show_profile: bool, keep: Path | None, kinds: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app, contents, rebuild = prepared(size, folder, words, keep)
        fts = Fts5(folder, contents)
        peer = Tantivy(folder, contents) if tantivy is not None else None
        print(
            f"index rebuild: ours {rebuild:.1f} s, FTS5 {fts.build_seconds:.2f} s"
            + (f", tantivy {peer.build_seconds:.2f} s" if peer else ", tantivy not installed")
        )
        cases = queries(words, contents, count, random.Random(7 + size))
        warm = queries(words, contents, 5, random.Random(1))  # first-use costs are not what is measured
        mine = ours(app)
        for kind in KINDS:
            measure(mine, warm[kind])
        print(
            f"{'query':8} {'hits p50':>8} {'ours p50':>9} {'ours p95':>9} {'cold p95':>9} {'FTS5 p50':>9}"
            f" {'FTS5 p95':>9} {'tant p50':>9} {'tant p95':>9} {'ours/FTS5':>10} {'ours/tant':>10}"
        )
        p95: dict[str, float] = {}
        for kind in kinds:
            times, totals = measure(mine, cases[kind])
            o50, o95 = percentiles(times)
            p95[kind] = o95
            _c50, c95 = percentiles(measure(ours(app, cold=True), cases[kind])[0])
            f50, f95 = percentiles(measure(fts.run, cases[kind])[0])
            t50 = t95 = None
            if peer is not None:
                fuzzy = kind == "fuzzy"
                t50, t95 = percentiles(measure(functools.partial(peer.run, fuzzy=fuzzy), cases[kind])[0])
            print(
                f"{kind:8} {statistics.median(totals):>8.0f} {o50:>9.1f} {o95:>9.1f} {c95:>9.1f} {f50:>9.1f}"
                f" {f95:>9.1f} {t50 or 0:>9.1f} {t95 or 0:>9.1f} {_ratio(o95, f95):>10} {_ratio(o95, t95):>10}"
            )
        fresh = queries(words, contents, count, random.Random(99 + size))["term"]
        w50, w95 = percentiles(after_writes(app, fresh))
        versus = f" ({w95 / p95['term']:.1f} times a term's p95; target: at most 2)" if "term" in p95 else ""
        print(
            f"after write (term, first search after a one-document write): p50 {w50:.1f} ms, p95 {w95:.1f} ms{versus}"
        )
        if show_profile:
            print(profile(app, queries(words, contents, 30, random.Random(5))["words"]))
        follower_of(app).stop()
        app.extensions["catalogue.search"].index.close()
        database_of(app).engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--queries", type=int, default=60, help="queries of each kind")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of 30 several-word queries")
    parser.add_argument("--keep", type=Path, help="build each size's catalogue and index once in this folder")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="query kinds measured")
    parser.add_argument(
        "--rebuild-only", action="store_true", help="only time a rebuild of each catalogue (with --keep: a copy)"
    )
    args = parser.parse_args()
    words = Words(vocabulary())
    print(f"vocabulary: {len(words.words)} words (seed descriptors and synonyms file)")
    for size in args.sizes:
        if args.rebuild_only:
            rebuild_only(size, words, args.keep)
            continue
        bench_size(size, args.queries, words, args.profile, args.keep, args.kinds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
