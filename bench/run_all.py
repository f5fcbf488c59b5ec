"""Run every benchmark in bench/ and write bench/REPORT.md: the machine, the versions, each figure beside its target.

Each script is run as its own process, exactly as a reader would run it, and its printed output is read back:
bench/api.py ends with a JSON line; the tables of bench/validate.py, bench/search.py and bench/pages.py are read
by the patterns below. Nothing is measured here. A script that is missing, fails or prints something
unexpected leaves its figures "not measured" and the report says why; its whole output is appended.

The figures mean something only on a quiet machine: the report records the load average before and after.

    python bench/run_all.py [--quick] [--output bench/REPORT.md]

--quick runs every script at small sizes, to check that the report is produced, not to measure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LIBRARIES = (
    "flask",
    "werkzeug",
    "sqlalchemy",
    "marshmallow",
    "flask-smorest",
    "whoosh-reloaded",
    "openapi-spec-validator",
    "jsonschema",
    "jsonschema-rs",
    "gunicorn",
    "psycopg",
)

FULL = {
    "validate": ["--repeat", "5"],
    "search": ["--sizes", "1000", "10000", "30000", "--queries", "60"],
    "pages": ["--size", "10000", "--requests", "100"],
    "api": ["--size", "10000", "--seconds", "10", "--connections", "4", "--profile", "300"],
    "relevance": ["--size", "1000", "--queries", "40"],
}
QUICK = {
    "validate": ["--repeat", "1"],
    "search": ["--sizes", "300", "--queries", "10"],
    "pages": ["--size", "300", "--requests", "10"],
    "api": ["--size", "300", "--seconds", "3", "--connections", "4", "--profile", "50"],
    "relevance": ["--size", "1000", "--queries", "10"],
}


@dataclass
class Run:
    """One script's run: its output, how long it took, and why it has no figures if it has none."""

    name: str
    args: list[str]
    output: str = ""
    seconds: float = 0.0
    problem: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)


def run_script(name: str, args: list[str], timeout: float) -> Run:
    """Run bench/<name>.py with args and keep what it printed."""
    run = Run(name, args)
    script = BENCH / f"{name}.py"
    if not script.exists():
        run.problem = f"bench/{name}.py does not exist"
        return run
    print(f"== bench/{name}.py {' '.join(args)}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(script), *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        run.output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        run.problem = f"did not finish within {timeout:.0f} s"
        return run
    run.seconds = time.perf_counter() - start
    run.output = done.stdout + (f"\n--- stderr ---\n{done.stderr[-4000:]}" if done.returncode else "")
    if done.returncode:
        run.problem = f"exited with status {done.returncode}"
    return run


_NUMBER = r"([\d.]+)"


def parse_validate(output: str) -> dict[str, Any]:
    """The total row: bare, ours cold, ours warm (ms) and the two ratios."""
    found = re.search(rf"^total\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s*$", output, re.MULTILINE)
    if not found:
        return {}
    bare, cold, warm, cold_ratio, warm_ratio = map(float, found.groups())
    return {"bare_ms": bare, "cold_ms": cold, "warm_ms": warm, "cold_ratio": cold_ratio, "warm_ratio": warm_ratio}


def parse_search(output: str) -> dict[str, Any]:
    """Per size: the rebuild times and, per query kind, ours, FTS5's and tantivy's p50/p95 (ms)."""
    sizes: dict[str, Any] = {}
    for block in re.split(r"^== ", output, flags=re.MULTILINE)[1:]:
        size = re.match(r"(\d+) services", block)
        if not size:
            continue
        entry: dict[str, Any] = {"kinds": {}}
        rebuild = re.search(rf"index rebuild: ours {_NUMBER} s", block)
        if rebuild:
            entry["rebuild_s"] = float(rebuild.group(1))
        for kind, hits, o50, o95, cold, f50, f95, t50, t95 in re.findall(
            rf"^(term|words|phrase|fuzzy|faceted)\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}"
            rf"\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}",
            block,
            re.MULTILINE,
        ):
            entry["kinds"][kind] = {
                "hits": float(hits),
                "ours_p50": float(o50),
                "ours_p95": float(o95),
                "cold_p95": float(cold),
                "fts5_p50": float(f50),
                "fts5_p95": float(f95),
                "tantivy_p50": float(t50),
                "tantivy_p95": float(t95),
            }
        after = re.search(rf"^after write .*p50 {_NUMBER} ms, p95 {_NUMBER} ms", block, re.MULTILINE)
        if after:
            entry["after_write"] = {"ours_p50": float(after.group(1)), "ours_p95": float(after.group(2))}
        sizes[size.group(1)] = entry
    return {"sizes": sizes} if sizes else {}


def parse_pages(output: str) -> dict[str, Any]:
    """Per page: p50 and p95 (ms)."""
    pages = {
        name.strip(): {"p50": float(p50), "p95": float(p95)}
        for name, p50, p95 in re.findall(
            rf"^((?:home|search|search\+facet|service \([a-z]+\)))\s+{_NUMBER}\s+{_NUMBER}\s*$", output, re.MULTILINE
        )
    }
    size = re.search(r"^(\d+) synthetic", output, re.MULTILINE)
    return {"pages": pages, "size": int(size.group(1)) if size else None} if pages else {}


def parse_api(output: str) -> dict[str, Any]:
    """The JSON of the last line."""
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)  # type: ignore[no-any-return]
    return {}


def parse_relevance(output: str) -> dict[str, Any]:
    """nDCG@5 and MRR over the whole set, the queries missing their answer, and the precision at scale."""
    found = re.search(rf"^all\s+(\d+)\s+{_NUMBER}\s+{_NUMBER}\s*$", output, re.MULTILINE)
    missed = re.search(r"^answer missing from the top 5: (\d+)", output, re.MULTILINE)
    scale = re.search(r"^== precision at (\d+) generated.*\n.*: (\d+)/(\d+)\s*$", output, re.MULTILINE)
    if not (found and missed and scale):
        return {}
    return {
        "queries": int(found.group(1)),
        "ndcg5": float(found.group(2)),
        "mrr": float(found.group(3)),
        "missed": int(missed.group(1)),
        "size": int(scale.group(1)),
        "held": int(scale.group(2)),
        "checked": int(scale.group(3)),
    }


PARSERS = {
    "validate": parse_validate,
    "search": parse_search,
    "pages": parse_pages,
    "api": parse_api,
    "relevance": parse_relevance,
}


def machine() -> dict[str, str]:
    """CPU, cores, memory, OS, Python, libraries, load tool, code revision."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kilobytes = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        memory = f"{kilobytes / 2**20:.1f} GiB"
    except (OSError, AttributeError):
        pass
    system = platform.platform()
    try:
        pretty = re.search(r'^PRETTY_NAME="?([^"\n]+)', Path("/etc/os-release").read_text(), re.MULTILINE)
        if pretty:
            system = f"{pretty.group(1)}, kernel {platform.release()}"
    except OSError:
        pass
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    wrk = "not installed (bench/api.py uses its Python load generator)"
    if shutil.which("wrk"):
        wrk = (
            subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
            .stdout.split(" Copyright")[0]
            .strip()
            or "installed"
        )
    revision = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "CPU": f"{cpu}, {os.cpu_count()} logical cores",
        "Memory": memory,
        "OS": system,
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "Libraries": ", ".join(versions),
        "Load tool": wrk,
        "Code": f"commit {revision or 'unknown'}{' with uncommitted changes' if dirty else ''}",
    }


def _load() -> str:
    """The load average, and how long this machine takes to sum 100,000 numbers in Python (best of 5 runs of 50):
    the load average misses a virtual machine's CPU taken by its neighbours, which this shows."""
    timing = subprocess.run(
        [sys.executable, "-m", "timeit", "-n", "50", "sum(range(100000))"], capture_output=True, text=True, check=False
    ).stdout.strip()
    speed = re.search(r"best of \d+: ([\d.]+ \w+) per loop", timing)
    sums = f"; the sum of 100,000 numbers {speed.group(1)}" if speed else ""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + sums


def verdict(value: float | None, target: float, at_most: bool) -> str:
    """'met' or 'missed' against a target (or 'not measured')."""
    if value is None:
        return "not measured"
    return "met" if (value <= target if at_most else value >= target) else "**missed**"


def figure_rows(runs: dict[str, Run]) -> list[tuple[str, str, str, str]]:
    """(figure, measured, target, verdict) for the summary table."""
    rows: list[tuple[str, str, str, str]] = []
    missing = "not measured"

    validate = runs["validate"].figures
    if validate:
        rows.append(
            (
                (
                    "Validation, cold (empty report cache), total of the corpus + a 1 MB spec, as a ratio to bare "
                    "openapi-spec-validator"
                ),
                (f"{validate['cold_ratio']:.2f}× ({validate['cold_ms']:.0f} ms vs {validate['bare_ms']:.0f} ms)"),
                "≤ 1.0×",
                verdict(validate["cold_ratio"], 1.0, True),
            )
        )
        rows.append(
            (
                "Validation, warm (unchanged content, found by hash)",
                (f"{validate['warm_ratio']:.3f}× ({validate['warm_ms']:.1f} ms)"),
                "—",
                "—",
            )
        )
    else:
        rows.append(("Validation overhead vs bare openapi-spec-validator", missing, "≤ 1.0×", missing))

    search = runs["search"].figures.get("sizes", {})
    for size, entry in search.items():
        worst = max((k["ours_p95"] for k in entry["kinds"].values()), default=None)
        detail = ", ".join(
            f"{kind} {k['ours_p50']:.1f}/{k['ours_p95']:.1f} (FTS5 {k['fts5_p95']:.1f}, tantivy {k['tantivy_p95']:.1f})"
            for kind, k in entry["kinds"].items()
        )
        limit = 20.0 if int(size) >= 30_000 else 10.0
        target = f"p95 ≤ {limit:.0f} ms" if int(size) >= 10_000 else "— (target at 10,000)"
        rows.append(
            (
                f"Search p50/p95 ms at {int(size):,} services, never-seen queries, ours (peers' p95)",
                detail or missing,
                target,
                verdict(worst, limit, True) if int(size) >= 10_000 else "—",
            )
        )
        if "rebuild_s" in entry:
            rows.append(
                (
                    f"Index rebuild at {int(size):,} services (in-process, bench/search.py)",
                    f"{entry['rebuild_s']:.1f} s",
                    "≤ 15 s" if int(size) == 10_000 else "— (at 30,000: linear, below)",
                    verdict(entry["rebuild_s"], 15.0, True) if int(size) == 10_000 else "—",
                )
            )
    rows += scale_rows(search)
    if not search:
        rows.append(("Search p50/p95 vs bare whoosh at 1,000 and 10,000", missing, "p95 ≤ 20 ms", missing))

    pages = runs["pages"].figures
    if pages:
        worst_page = max(p["p95"] for p in pages["pages"].values())
        detail = ", ".join(f"{name} {p['p95']:.1f}" for name, p in pages["pages"].items())
        rows.append(
            (
                f"Page server time p95 ms at {pages.get('size') or '?'} services",
                detail,
                "p95 ≤ 50 ms",
                verdict(worst_page, 50.0, True),
            )
        )
    else:
        rows.append(("Page server time p95", missing, "p95 ≤ 50 ms", missing))

    api = runs["api"].figures
    if api:
        hello = api["hello"]["rps"]
        for name, label, target in (
            ("search", "search (`/api/v1/search?q=`)", 0.5),
            ("service", "service reads (`/api/v1/services/<id>`)", 0.5),
            ("service_token", "service reads by a client sending a token", 0.5),
            ("search_token", "searches by a client sending a token", 0.2),
            ("service_cookie", "service reads by a client sending a cookie", 0.5),
            ("search_cookie", "searches by a client sending a cookie", 0.2),
        ):
            if name in api:
                rows.append(
                    (
                        f"API throughput through gunicorn ({api['workers']} workers), {label}, ratio to bare Flask",
                        (
                            f"{api[f'{name}_ratio']:.2f} ({api[name]['rps']:.0f} vs {hello:.0f} req/s, "
                            f"{api['tool']}, {api['connections']} connections; non-200: {api[name]['non_200']})"
                        ),
                        f"≥ {target}",
                        verdict(api[f"{name}_ratio"], target, False),
                    )
                )
        rows += write_rows(api.get("write"))
        if "search_new" in api:
            rows.append(
                (
                    "API throughput, searches never asked before (none answered from memory), ratio to bare Flask",
                    (
                        f"{api['search_new_ratio']:.2f} ({api['search_new']['rps']:.0f} req/s, p99 "
                        f"{api['search_new']['p99_ms']} ms; non-200: {api['search_new']['non_200']})"
                    ),
                    "≥ 0.2",
                    verdict(api["search_new_ratio"], 0.2, False),
                )
            )
        if "search_stack" in api:
            rows.append(
                (
                    "API throughput, the same searches answered already (the web stack alone), ratio to bare Flask",
                    (
                        f"{api['search_stack_ratio']:.2f} ({api['search_stack']['rps']:.0f} req/s): the most a "
                        "never-seen search could reach if searching cost nothing"
                    ),
                    "—",
                    "—",
                )
            )
        validated = api.get("worker_rss_validated_mb") or []
        rows.append(
            (
                f"Memory per worker (RSS) at {api['size']:,} services, after the load and after validating descriptors",
                (
                    f"{api['max_worker_rss_mb']:.0f} MB (workers after the load: "
                    f"{', '.join(f'{x:.0f}' for x in api['worker_rss_mb'])}; after validating too: "
                    f"{', '.join(f'{x:.0f}' for x in validated) or 'not measured'}; "
                    f"after the first request {max(api.get('worker_rss_idle_mb') or [0]):.0f}; "
                    f"unshared (USS) after the load {max(api.get('worker_uss_mb') or [0]):.0f}; "
                    f"bare Flask {max(api['hello_worker_rss_mb']):.0f})"
                ),
                "≤ 150 MB",
                verdict(api["max_worker_rss_mb"], 150.0, True),
            )
        )
        reindex = api.get("reindex_s")
        rows.append(
            (
                f"`catalogue reindex` at {api['size']:,} services (the whole command, process start included)",
                f"{reindex:.1f} s" if reindex is not None else "not measured (a kept index was served)",
                "≤ 15 s",
                verdict(reindex, 15.0, True),
            )
        )
        rows.append(
            ("Cold start: gunicorn started to first 200 on `/`", f"{api['cold_start_s']:.1f} s", "— (none set)", "—")
        )
    else:
        rows.append(("API throughput, memory per worker, reindex, cold start", missing, "≥ 0.5, ≤ 150 MB", missing))
    rows += relevance_rows(runs["relevance"].figures if "relevance" in runs else {})
    return rows


def scale_rows(search: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows of bench/search.py beyond each size's own: the first search after a write against a term search, and
    how the cost grows from 10,000 to 30,000 services (queries and the rebuild)."""
    rows: list[tuple[str, str, str, str]] = []
    for size, entry in search.items():
        after, term = entry.get("after_write"), entry["kinds"].get("term")
        if int(size) >= 10_000 and after and term:
            ratio = after["ours_p95"] / term["ours_p95"]
            rows.append(
                (
                    f"First search after a one-document write at {int(size):,} services, p95, times a term's p95",
                    f"{ratio:.1f}× ({after['ours_p95']:.1f} ms vs {term['ours_p95']:.1f} ms)",
                    "≤ 2× at 30,000",
                    verdict(ratio, 2.0, True) if int(size) >= 30_000 else "—",
                )
            )
    small, big = search.get("10000"), search.get("30000")
    if small and big:
        kinds = [kind for kind in small["kinds"] if kind in big["kinds"] and small["kinds"][kind]["ours_p50"]]
        growth = {kind: big["kinds"][kind]["ours_p50"] / small["kinds"][kind]["ours_p50"] for kind in kinds}
        tails = {kind: big["kinds"][kind]["ours_p95"] / small["kinds"][kind]["ours_p95"] for kind in kinds}
        selective = [growth[kind] for kind in ("phrase", "faceted") if kind in growth]
        rows.append(
            (
                (
                    "Search cost at 30,000 services over 10,000 (3 times the catalogue), per kind: the median (p50), "
                    "and the p95, which rests on the 3 slowest of 60 queries"
                ),
                ", ".join(f"{kind} {growth[kind]:.1f}× (p95 {tails[kind]:.1f}×)" for kind in kinds),
                "median clearly less than 3× for selective queries (phrase, faceted): at most 2.5×",
                verdict(max(selective), 2.5, True) if selective else "not measured",
            )
        )
        if "rebuild_s" in small and "rebuild_s" in big:
            ratio = big["rebuild_s"] / small["rebuild_s"]
            rows.append(
                (
                    "Index rebuild at 30,000 services over 10,000 (3 times the catalogue)",
                    f"{ratio:.1f}× ({big['rebuild_s']:.1f} s vs {small['rebuild_s']:.1f} s)",
                    "linear: at most 3.3×",
                    verdict(ratio, 3.3, True),
                )
            )
    return rows


def write_rows(write: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    """Rows of bench/api.py's write path: the 201 against the server's own transaction, and the time until a
    search on either worker finds the new service."""
    if not write:
        return [("Submissions: the 201 and the time until found", "not measured", "≤ 2×, ≤ 1 s", "not measured")]
    return [
        (
            f"A submission's 201 over the server's transaction (validation and database write), p50 of {write['count']}",
            (
                f"{write['submit_to_transaction_p50']:.2f}× (201 p50 {write['submit_p50_ms']} ms; waited for: "
                f"{', '.join(write['waited_for']) or 'nothing'})"
            ),
            "≤ 2×",
            verdict(write["submit_to_transaction_p50"], 2.0, True),
        ),
        (
            "From a submission's 201 to a search on either worker finding it",
            f"p50 {write['findable_p50_ms']} ms, at most {write['findable_max_ms']} ms",
            "≤ 1 s",
            verdict(write["findable_max_ms"], 1000.0, True),
        ),
    ]


def relevance_rows(found: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The rows of bench/relevance.py: the relevance set's MRR and nDCG@5, and the precision rule at scale."""
    if not found:
        return [("Search relevance (MRR, nDCG@5) and precision at scale", "not measured", "MRR ≥ 0.9", "not measured")]
    met = found["mrr"] >= 0.9 and found["missed"] == 0
    return [
        (
            f"Search relevance over the seed catalogue, {found['queries']} graded queries (bench/relevance.py)",
            f"MRR {found['mrr']:.3f}, nDCG@5 {found['ndcg5']:.3f}; answer missing from the top 5: {found['missed']}",
            "MRR ≥ 0.9, none missing",
            "met" if met else "**missed**",
        ),
        (
            f"Multi-word queries at {found['size']:,} generated services whose top 10 all hold every word",
            f"{found['held']}/{found['checked']}",
            "all",
            "met" if found["held"] == found["checked"] else "**missed**",
        ),
    ]


def anonymise(text: str) -> str:
    """Output without this machine's paths: the checkout, the Python installation, temporary folders."""
    for prefix, name in ((sys.prefix, "<venv>"), (sys.base_prefix, "<python>"), (str(ROOT), ".")):
        text = text.replace(prefix + "/", name + "/")
    return re.sub(r"/tmp/tmp[\w-]+", "<tmp>", text)


def report(
    runs: dict[str, Run], info: dict[str, str], quick: bool, load_before: str, load_after: str, started: datetime
) -> str:
    """The Markdown of bench/REPORT.md."""
    lines = ["# Benchmark report", ""]
    if quick:
        lines += [
            (
                "> **Quick run at small sizes** (`--quick`): it checks that every script runs and the report is "
                "written. These are not the figures of record: run `make bench` on a quiet machine."
            ),
            "",
        ]
    lines += [
        (
            f"Written by `bench/run_all.py{' --quick' if quick else ''}` on {started:%Y-%m-%d %H:%M} UTC "
            f"(`make bench` runs it). Every figure comes from a script in `bench/` that anyone can run alone."
        ),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in info.items()]
    lines += [
        f"| Load average (1/5/15 min) | before {load_before}; after {load_after} |",
        "",
        (
            "A load average above the number of cores means other work shared the machine: throughput and "
            "latency figures are then pessimistic. So does a sum of 100,000 numbers slower than about 1.1 ms, "
            "which shows CPU taken by a virtual machine's neighbours that the load average does not."
        ),
        "",
        "## Figures and targets",
        "",
        "| Figure | Measured | Target | |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in figure_rows(runs)]
    lines += [
        "",
        (
            "Earlier measurements, what each round of work changed, and the profiles taken before those changes are "
            "in [HISTORY.md](HISTORY.md)."
        ),
    ]
    problems = [run for run in runs.values() if run.problem or not run.figures]
    if problems:
        lines += ["", "## Not measured", ""]
        lines += [
            f"- `bench/{run.name}.py`: {run.problem or 'its output did not have the expected figures'}"
            for run in problems
        ]
    api = runs["api"]
    profiles = re.findall(r"^== profile: (.*?)\n(.*?)^== end of profile", api.output, re.MULTILINE | re.DOTALL)
    if profiles:
        lines += [
            "",
            "## Where a worker's time and memory go",
            "",
            (
                "From `bench/api.py --profile`: requests of each kind through the whole Flask stack in one process "
                "(no network, no gunicorn) under cProfile, functions by cumulative time; then the memory a fresh "
                "app holds after serving them, by the line that allocated it (tracemalloc). This is the evidence to "
                "read when a throughput or memory target is missed."
            ),
            "",
        ]
        for title, body in profiles:
            lines += [f"### {title}", "", "```", body.rstrip(), "```", ""]
    lines += ["", "## Raw output", ""]
    for run in runs.values():
        lines += [
            (
                f"<details><summary><code>python bench/{run.name}.py {' '.join(run.args)}</code> "
                f"({run.seconds:.0f} s)</summary>"
            ),
            "",
            "```",
            run.output.strip() or "(nothing)",
            "```",
            "",
            "</details>",
            "",
        ]
    return anonymise("\n".join(lines).rstrip() + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: check the report, do not measure")
    parser.add_argument("--output", type=Path, default=BENCH / "REPORT.md")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per script (default 600 quick, 3600 full)")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    timeout = args.timeout or (600 if args.quick else 3600)
    started = datetime.now(UTC)
    load_before = _load()
    runs: dict[str, Run] = {}
    for name, script_args in plan.items():
        run = run_script(name, script_args, timeout)
        if not run.problem:
            try:
                run.figures = PARSERS[name](run.output)
            except (ValueError, KeyError) as exc:
                run.problem = f"its output could not be read ({type(exc).__name__}: {exc})"
        runs[name] = run
    text = report(runs, machine(), args.quick, load_before, _load(), started)
    args.output.write_text(text, "utf-8")
    print(text.split("\n## Raw output")[0])
    print(f"written to {args.output}", file=sys.stderr)
    return 1 if any(run.problem for run in runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
