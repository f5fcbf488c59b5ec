"""The catalogue behind gunicorn at 10,000 services: throughput against a bare Flask, memory per worker, cold start.

A SQLite catalogue of synthetic approved services (bench/search.py builds it) is indexed with `catalogue reindex`
(timed: the command as an operator runs it, process start included), then served by gunicorn with 2 sync
workers, as `gunicorn 'catalogue:create_app()'`. Cold start is the time from starting gunicorn to the first 200
on `/`. Throughput is measured for search (`/api/v1/search?q=<word>`, a few hundred different words) and for
service reads (`/api/v1/services/<id>`, random ids), then for a bare Flask hello-world (bench/hello.py) under the
same gunicorn settings and the same load tool; the figure is the ratio (target ≥ 0.5). The same reads are
measured again for a client that sends a token (an organisation member's, so answers are kept for that
organisation's audience) and for one that sends a cookie, and searches never asked before (none answered from
memory) beside the replayed ones, and the same searches as conditional requests, which AnswerCache passes on to
the app and the index answers from the few answers it keeps: the web stack alone, without the search, so the most a
never-seen search could reach if searching cost nothing. The write path: 20 submissions of new services, each timed as bare validation
(`/api/v1/validate`) and as the submission's 201, and the time from the 201 until a search on a new
connection (either worker) finds the service. The memory figure is
each worker's resident set (RSS) after the load (target ≤ 150 MB), beside its RSS after the first request.

The load tool is wrk when it is installed (Debian: `apt-get install wrk`), else a Python load generator of
several processes with keep-alive connections; a run says which it used, and ratios are only comparable
between runs of the same tool. The last line printed is the figures as JSON (bench/run_all.py reads it).

With --profile N, N requests of each kind are also run in-process under cProfile, and the functions that
take the time are printed, then again under tracemalloc, and the lines that allocated the memory a worker
still holds afterwards: the evidence for a missed target.

    python bench/api.py [--size 10000] [--seconds 10] [--connections 4] [--tool auto|wrk|python] [--profile N]
                        [--keep FOLDER]

With --keep, the catalogue and its index are read from FOLDER/<size> (as bench/search.py --keep keeps them:
bench.sqlite3 and the index folder) and copied into a temporary folder for the run, so that runs before and after
a change serve the same catalogue without minutes of building; the kept folder is never written to (when it holds
no catalogue yet, one is built there first). `catalogue reindex` is then not timed (reindex_s is null).
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import multiprocessing
import os
import pstats
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import psutil
from search import Words, build_catalogue, descriptor, vocabulary  # bench/search.py, beside this file

from catalogue import cli, create_app
from catalogue.auth import accounts
from catalogue.config import Config
from catalogue.db import database_of

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKERS = 2
THROUGHPUT_TARGET = 0.5
NEW_SEARCH_TARGET = 0.2  # never-seen searches, ratio to bare Flask (issue 20)
RSS_TARGET_MB = 150
STACK_PATHS = 32
"""Searches asked again with If-None-Match (the stack without the search): fewer than the answers each worker's
index keeps (Searching.CACHE_SIZE), so that every one is answered from there."""


def free_port() -> int:
    """A loopback TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Gunicorn:
    """A gunicorn of WORKERS sync workers on a free loopback port."""

    def __init__(self, app: str, env: dict[str, str], chdir: Path = ROOT) -> None:
        self.port = free_port()
        command = [
            str(BIN / "gunicorn"),
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            "--no-control-socket",
            "--chdir",
            str(chdir),
            app,
        ]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=chdir, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def first_200(self, path: str = "/", timeout: float = 120) -> float:
        """Seconds from starting the process to the first 200 on path."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            try:
                if get(self.port, path)[0] == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"no 200 on {path} within {timeout} s")

    def worker_rss_mb(self) -> list[float]:
        """Resident set size of each worker, in MB."""
        children = psutil.Process(self.process.pid).children()
        return sorted(round(child.memory_info().rss / 2**20, 1) for child in children)

    def worker_uss_mb(self) -> list[float]:
        """Memory of each worker that no other process shares (USS: RSS without shared libraries and file
        pages, such as the index files whoosh maps), in MB."""
        children = psutil.Process(self.process.pid).children()
        return sorted(round(child.memory_full_info().uss / 2**20, 1) for child in children)

    def stop(self) -> None:
        """Stop the master and its workers."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def get(port: int, path: str) -> tuple[int, bytes]:
    """One GET on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def validate_all(port: int, count: int = 20) -> None:
    """POST every seed descriptor to /api/v1/validate (count requests: both workers get some)."""
    seeds = sorted((ROOT / "seed_services").glob("*.yaml"))
    for i in range(count):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request(
                "POST",
                "/api/v1/validate",
                body=seeds[i % len(seeds)].read_bytes(),
                headers={"Content-Type": "application/yaml"},
            )
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, (response.status, body[:300])
        finally:
            connection.close()


def copy_kept(kept: Path, folder: Path, size: int, words: Words) -> None:
    """Copy the catalogue kept in kept (bench.sqlite3 and its index, as bench/search.py --keep leaves them) into
    folder; a kept folder without one gets one built first. A kept folder is only read after that."""
    if not (kept / "bench.sqlite3").exists():
        if kept.exists() and any(kept.iterdir()):
            raise SystemExit(f"{kept} holds something other than a kept catalogue: it is left alone")
        kept.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        app, _contents = build_catalogue(size, kept, words)
        result = app.test_cli_runner().invoke(cli.main, ["reindex"])
        assert result.exit_code == 0, result.output
        app.extensions["catalogue.search"].index.close()
        assert database_of(app).engine is not None
        database_of(app).engine.dispose()
        print(f"{size} synthetic services written and indexed in {kept} in {time.perf_counter() - start:.1f} s")
    if not (kept / "index").is_dir():
        raise SystemExit(f"{kept} has a catalogue but no index folder: run bench/search.py --keep first")
    for database in kept.glob("bench.sqlite3*"):
        shutil.copy2(database, folder / database.name)
    shutil.copytree(kept / "index", folder / "index")
    print(f"{size} services: kept catalogue and index copied from {kept}")


def _reader_token(folder: Path) -> str:
    """An API token (scopes read and submit) of a submitter of the first organisation, made in the database."""
    app = create_app(
        Config(
            instance_path=folder,
            database_url=f"sqlite:///{folder / 'bench.sqlite3'}",
            index_dir=folder / "index",
        )
    )
    with database_of(app).transaction() as session:
        _user, token = accounts.create_user(session, "bench@istat.example", "ISTAT", "submitter")
    database_of(app).engine.dispose()
    return str(token)


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, float, dict[str, float]]:
    """status, body and seconds of a POST, and the parts of its Server-Timing header (milliseconds)."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        seconds = time.perf_counter() - start
        parts = {}
        for part in (response.getheader("Server-Timing") or "").split(","):
            name, _, duration = part.strip().partition(";dur=")
            if duration:
                parts[name] = float(duration)
        return response.status, answer, seconds, parts
    finally:
        connection.close()


def write_path(port: int, token: str, words: Words, rng: random.Random, count: int = 20) -> dict[str, Any]:
    """count submissions of new services: bare validation of each, the submission's 201 and the parts of its
    work the server timed (Server-Timing: validation, the whole database transaction that includes it, and
    anything else the answer waited for), and the time from the 201 until a search (a new connection: either
    worker) finds the service."""
    validating, submitting, transactions, findable = [], [], [], []
    waited_for: set[str] = set()
    for number in range(count):
        slug = f"bench-new-{number}-{secrets.token_hex(3)}"
        content = descriptor(10**6 + number, rng, words)
        content["id"] = slug
        content["implementation"]["owner"] = "ISTAT"  # the submitter's organisation
        content["definition"]["name"] = f"Zyxwv {slug}"
        body = json.dumps(content).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        status, answer, seconds, _parts = _post(port, "/api/v1/validate", body, headers)
        assert status == 200, answer[:300]
        validating.append(seconds)
        status, answer, seconds, parts = _post(port, "/api/v1/services", body, headers)
        assert status == 201, answer[:300]
        submitting.append(seconds)
        transactions.append(parts["transaction"] / 1000)
        waited_for |= set(parts) - {"validate", "transaction", "total"}
        start = time.perf_counter()
        while True:
            status, found = get(port, f"/api/v1/search?q={slug}")
            if status == 200 and slug.encode() in found:
                break
            assert time.perf_counter() - start < 30, "a submitted service was not found within 30 s"
        findable.append(time.perf_counter() - start)

    def ms(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000, 1)

    ratios = sorted(total / transaction for total, transaction in zip(submitting, transactions, strict=True))
    return {
        "count": count,
        "validate_p50_ms": ms(validating, 0.5),
        "transaction_p50_ms": ms(transactions, 0.5),
        "submit_p50_ms": ms(submitting, 0.5),
        "submit_p95_ms": ms(submitting, 0.95),
        "submit_to_transaction_p50": round(ratios[len(ratios) // 2], 2),
        "submit_to_transaction_max": round(ratios[-1], 2),
        "waited_for": sorted(waited_for),
        "findable_p50_ms": ms(findable, 0.5),
        "findable_max_ms": ms(findable, 1.0),
    }


def _python_client(
    port: int, paths: list[str], start: float, seconds: float, results: Any, headers: dict[str, str]
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ok = bad = errors = 0
    latencies = []
    i = random.randrange(len(paths))
    while time.time() < start:
        time.sleep(0.001)
    end = start + seconds
    while (now := time.time()) < end:
        try:
            connection.request("GET", paths[i % len(paths)], headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append(time.time() - now)
            if response.status == 200:
                ok += 1
            else:
                bad += 1
            if response.getheader("Connection", "").lower() == "close":  # gunicorn's sync workers close each one
                connection.close()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
        i += 1
    results.put((ok, bad, errors, latencies))


def load_python(
    port: int, paths: list[str], seconds: float, connections: int, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Requests per second of `connections` processes, each one request at a time, for `seconds`."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start = time.time() + 0.5
    clients = [
        context.Process(target=_python_client, args=(port, paths, start, seconds, results, headers or {}))
        for _ in range(connections)
    ]
    for client in clients:
        client.start()
    parts = [results.get(timeout=seconds + 60) for _ in clients]
    for client in clients:
        client.join()
    ok, bad, errors = (sum(p[k] for p in parts) for k in range(3))
    latencies = sorted(x for p in parts for x in p[3])
    return {
        "rps": round(ok / seconds, 1),
        "non_200": bad,
        "socket_errors": errors,
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 2) if latencies else None,
    }


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def load_wrk(
    port: int, paths: list[str], seconds: float, connections: int, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Requests per second of wrk with `connections` connections, cycling through paths (with headers)."""
    seconds = max(1, round(seconds))  # wrk takes whole seconds
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "paths.lua"
        return _run_wrk(port, paths, seconds, connections, script, headers or {})


def _run_wrk(
    port: int, paths: list[str], seconds: int, connections: int, script: Path, headers: dict[str, str]
) -> dict[str, Any]:
    # Each wrk thread starts at its own place in the list, so with many distinct paths no two threads ask the
    # same one (which would let the second find the first one's answer in the cache).
    script.write_text(
        "local paths = {" + ",".join(json.dumps(p) for p in paths) + "}\nlocal threads = 0\nlocal i = 0\n"
        "local headers = {" + ",".join(f"[{json.dumps(k)}]={json.dumps(v)}" for k, v in headers.items()) + "}\n"
        "function setup(thread)\n  thread:set('number', threads)\n  threads = threads + 1\nend\n"
        "function init(args)\n  i = number * math.floor(#paths / 2)\nend\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i], headers)\nend\n"
    )
    output = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)

    def percentile(label: str) -> float | None:
        found = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        return round(float(found.group(1)) * _WRK_UNITS[found.group(2)], 2) if found else None

    non_200 = int(bad.group(1)) if bad else 0
    return {
        "rps": round((total - non_200) / seconds, 1),
        "non_200": non_200,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "p50_ms": percentile("50%"),
        "p99_ms": percentile("99%"),
    }


Scenario = tuple[list[str], dict[str, str]]
"""The paths of one kind of request, and the headers sent with them."""


def profile(folder: Path, scenarios: dict[str, Scenario], count: int) -> None:
    """Print where a worker spends its time: count requests of each kind through the whole Flask stack
    (the test client: no network, no gunicorn), under cProfile, functions by cumulative time."""
    app = create_app(
        Config(
            instance_path=folder,
            database_url=f"sqlite:///{folder / 'bench.sqlite3'}",
            index_dir=folder / "index",
            secret_key=secrets.token_urlsafe(32),
        )
    )
    client = app.test_client()
    for name, (paths, headers) in scenarios.items():
        for path in paths[:10]:
            client.get(path, headers=headers)
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        for path in (paths * (count // len(paths) + 1))[:count]:
            client.get(path, headers=headers)
        profiler.disable()
        elapsed = time.perf_counter() - start
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("cumulative").print_stats(25)
        lines = [line for line in text.getvalue().splitlines() if line.strip()]
        print(
            f"\n== profile: {name}, {count} requests in-process, {elapsed / count * 1000:.2f} ms each (under cProfile)"
        )
        print("\n".join(lines[lines.index(next(x for x in lines if x.lstrip().startswith("ncalls"))) :]))
        print("== end of profile")
    app.extensions["catalogue.search"].index.close()
    assert database_of(app).engine is not None
    database_of(app).engine.dispose()
    profile_memory(folder, scenarios, count)


def profile_memory(folder: Path, scenarios: dict[str, Scenario], count: int) -> None:
    """Print what a worker holds after serving: a fresh app serves count requests of each kind under
    tracemalloc, and the lines that allocated the memory still held are listed (imports are not counted:
    they were made before tracing starts)."""
    tracemalloc.start()
    app = create_app(
        Config(
            instance_path=folder,
            database_url=f"sqlite:///{folder / 'bench.sqlite3'}",
            index_dir=folder / "index",
            secret_key=secrets.token_urlsafe(32),
        )
    )
    client = app.test_client()
    for paths, headers in scenarios.values():
        for path in (paths * (count // len(paths) + 1))[:count]:
            client.get(path, headers=headers)
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    tracemalloc.stop()
    held = sum(stat.size for stat in snapshot.statistics("filename"))
    print(
        f"\n== profile: memory held after {count} requests of each kind, {held / 2**20:.1f} MB allocated since "
        f"the app was created (tracemalloc; process RSS {psutil.Process().memory_info().rss / 2**20:.0f} MB)"
    )
    print(f"{'MB':>8}  {'blocks':>8}  allocated at")
    for stat in snapshot.statistics("lineno")[:20]:
        frame = stat.traceback[0]
        where = frame.filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
        print(f"{stat.size / 2**20:>8.2f}  {stat.count:>8}  {where}:{frame.lineno}")
    print("== end of profile")
    app.extensions["catalogue.search"].index.close()
    assert database_of(app).engine is not None
    database_of(app).engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000, help="synthetic services in the catalogue")
    parser.add_argument("--seconds", type=float, default=10, help="length of each throughput run")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections of the load tool")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also profile N requests of each kind in-process (cProfile) and print where the time goes",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="FOLDER",
        help="copy the catalogue and index kept in FOLDER/<size> (built there once if missing) instead of building",
    )
    args = parser.parse_args()
    tool = ("wrk" if shutil.which("wrk") else "python") if args.tool == "auto" else args.tool
    words = Words(vocabulary())
    rng = random.Random(3)
    figures: dict[str, Any] = {
        "bench": "api",
        "size": args.size,
        "workers": WORKERS,
        "tool": tool,
        "connections": args.connections,
        "seconds": args.seconds,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.keep is not None:
            copy_kept(args.keep / str(args.size), folder, args.size, words)
        else:
            start = time.perf_counter()
            app, _contents = build_catalogue(args.size, folder, words)
            app.extensions["catalogue.search"].index.close()
            assert database_of(app).engine is not None
            database_of(app).engine.dispose()
            print(f"{args.size} synthetic services written in {time.perf_counter() - start:.1f} s")
        env = {
            **os.environ,
            "CATALOGUE_INSTANCE_PATH": str(folder),
            "CATALOGUE_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
            "CATALOGUE_INDEX_DIR": str(folder / "index"),
            "CATALOGUE_SECRET_KEY": secrets.token_urlsafe(32),
        }
        if args.keep is not None:
            figures["reindex_s"] = None  # the kept index is served as it is: not rebuilt, not timed
        else:
            start = time.perf_counter()
            subprocess.run([str(BIN / "catalogue"), "reindex"], cwd=ROOT, env=env, check=True, capture_output=True)
            figures["reindex_s"] = round(time.perf_counter() - start, 2)
            print(f"catalogue reindex: {figures['reindex_s']} s")

        token = _reader_token(folder)

        def measure(port: int, paths: list[str], headers: dict[str, str] | None = None) -> dict[str, Any]:
            if tool == "wrk":
                return load_wrk(port, paths, args.seconds, args.connections, headers)
            return load_python(port, paths, args.seconds, args.connections, headers)

        server = Gunicorn("catalogue:create_app()", env)
        try:
            figures["cold_start_s"] = round(server.first_200("/"), 2)
            figures["worker_rss_idle_mb"] = server.worker_rss_mb()
            print(f"cold start (gunicorn start to first 200 on /): {figures['cold_start_s']} s")
            scenarios = {
                "search": [f"/api/v1/search?q={rng.choice(words.words)}" for _ in range(300)],
                "service": [f"/api/v1/services/svc-{rng.randrange(args.size)}" for _ in range(300)],
            }
            # Searches never asked before (two words each: about 40,000 different ones), so none is answered
            # from memory: what a worker does for a new query. No target; beside the one above for comparison.
            fresh = sorted({f"/api/v1/search?q={a}+{b}" for a in words.words for b in words.words if a < b})
            rng.shuffle(fresh)
            for paths in scenarios.values():  # warm both workers: first-use costs are not throughput
                for path in paths[:20]:
                    status, body = get(server.port, path)
                    assert status == 200, (path, status, body[:300])
            for name, paths in scenarios.items():
                figures[name] = measure(server.port, paths)
            # The same reads by clients that send a token (an organisation member's) or a cookie.
            bearer = {"Authorization": f"Bearer {token}"}
            figures["service_token"] = measure(server.port, scenarios["service"], bearer)
            figures["search_token"] = measure(server.port, scenarios["search"], bearer)
            figures["service_cookie"] = measure(server.port, scenarios["service"], {"Cookie": "cspa_session=x"})
            figures["search_cookie"] = measure(server.port, scenarios["search"], {"Cookie": "cspa_session=x"})
            figures["search_new"] = measure(server.port, fresh[:40_000])
            # The web stack alone: these searches are answered already (from the answers the index keeps), and a
            # conditional request is never replayed by AnswerCache, so each goes through Flask, the view and the
            # catch-up with the database, without the search itself.
            figures["search_stack"] = measure(
                server.port, scenarios["search"][:STACK_PATHS], {"If-None-Match": '"not-the-answer"'}
            )
            figures["write"] = write_path(server.port, token, words, rng)
            figures["worker_rss_mb"] = server.worker_rss_mb()
            figures["worker_uss_mb"] = server.worker_uss_mb()
            # A worker that has also validated descriptors holds the OpenAPI validators too (imported on first use).
            validate_all(server.port)
            figures["worker_rss_validated_mb"] = server.worker_rss_mb()
        finally:
            server.stop()
        if args.profile:
            # The kinds measured above, with a token holder's service reads and new searches (beyond those the
            # load tool asked).
            profile(
                folder,
                {
                    **{name: (paths, {}) for name, paths in scenarios.items()},
                    "service_token": (scenarios["service"], bearer),
                    "search_new": (fresh[40_000:], {}),
                },
                args.profile,
            )
    hello = Gunicorn("hello:app", dict(os.environ), chdir=Path(__file__).resolve().parent)
    try:
        hello.first_200("/")
        figures["hello"] = measure(hello.port, ["/"])
        figures["hello_worker_rss_mb"] = hello.worker_rss_mb()
    finally:
        hello.stop()

    print(
        f"\nthroughput with {tool}, {args.connections} connections, {args.seconds:g} s each, gunicorn {WORKERS} sync workers"
    )
    print(f"{'endpoint':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8} {'errors':>7} {'ratio':>7}")
    names = (
        "hello",
        "search",
        "service",
        "search_token",
        "service_token",
        "service_cookie",
        "search_cookie",
        "search_new",
        "search_stack",
    )
    for name in names:
        run = figures[name]
        ratio = run["rps"] / figures["hello"]["rps"] if figures["hello"]["rps"] else 0.0
        if name != "hello":
            figures[f"{name}_ratio"] = round(ratio, 3)
        print(
            f"{name:10} {run['rps']:>9.1f} {run['p50_ms'] or 0:>8.2f} {run['p99_ms'] or 0:>8.2f} {run['non_200']:>8} "
            f"{run['socket_errors']:>7} {ratio:>7.2f}"
        )
    worst = max(figures["worker_rss_mb"] + figures["worker_rss_validated_mb"])
    figures["max_worker_rss_mb"] = worst
    print(
        f"worker RSS after the load: {figures['worker_rss_mb']} MB (target ≤ {RSS_TARGET_MB}; after one request "
        f"{figures['worker_rss_idle_mb']} MB; unshared (USS) {figures['worker_uss_mb']} MB; after validating "
        f"descriptors too {figures['worker_rss_validated_mb']} MB); "
        f"bare Flask workers: {figures['hello_worker_rss_mb']} MB"
    )
    for name in ("search", "service"):
        verdict = "meets" if figures[f"{name}_ratio"] >= THROUGHPUT_TARGET else "misses"
        print(f"{name}: {figures[f'{name}_ratio']:.2f} of bare Flask, {verdict} the {THROUGHPUT_TARGET} target")
    verdict = "meets" if figures["search_new_ratio"] >= NEW_SEARCH_TARGET else "misses"
    print(
        f"never-seen searches: {figures['search_new_ratio']:.2f} of bare Flask, {verdict} the {NEW_SEARCH_TARGET} "
        f"target; the web stack alone (the same requests with the search answered already): "
        f"{figures['search_stack_ratio']:.2f}, the most a never-seen search could reach if searching cost nothing"
    )
    write = figures["write"]
    print(
        f"write path ({write['count']} submissions, SQLite): validation p50 {write['validate_p50_ms']} ms, "
        f"submission (201) p50 {write['submit_p50_ms']} ms, p95 {write['submit_p95_ms']} ms; the server's "
        f"transaction (validation and database write, Server-Timing) p50 {write['transaction_p50_ms']} ms; "
        f"201 / transaction p50 {write['submit_to_transaction_p50']}, max {write['submit_to_transaction_max']} "
        f"(target <= 2); the answer also waited for: {', '.join(write['waited_for']) or 'nothing'}; "
        f"201 to found by a search on either worker: p50 {write['findable_p50_ms']} ms, "
        f"max {write['findable_max_ms']} ms"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
