"""Time our validator against bare openapi-spec-validator on the corpus and on a ~1 MB generated spec.

For each OpenAPI document: the median time of the bare library's `validate(spec)` with its defaults, of our
validator on a descriptor holding that document with an empty report cache (cold: everything is checked,
the descriptor schema and the reference models too), and of our validator on unchanged content (warm:
the report is found by content hash). Both are given the same parsed document; reading the text is not timed.
The ratio is ours / bare: at most 1.0 means ours is no slower although it does more.

    python bench/validate.py [--repeat N] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openapi_spec_validator

from catalogue.services import descriptors, validation
from catalogue.services.descriptors import Descriptor, Limits

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "corpus"


def generated_spec(target_bytes: int = 1_000_000) -> dict[str, Any]:
    """An OpenAPI 3.0 document of about target_bytes (as JSON): many paths, parameters and shared schemas."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    i = 0
    size = 0
    while size < target_bytes:
        name = f"Table{i}"
        schemas[name] = {
            "type": "object",
            "required": ["id", "title"],
            "properties": {
                "id": {"type": "string", "description": f"identifier of table {i}"},
                "title": {"type": "string", "maxLength": 200},
                "observations": {"type": "array", "items": {"type": "number", "format": "double"}},
                "dimensions": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}Dimension"}},
            },
        }
        schemas[f"{name}Dimension"] = {
            "type": "object",
            "properties": {"code": {"type": "string", "pattern": "^[A-Z0-9_]+$"}, "label": {"type": "string"}},
        }
        paths[f"/tables/{i}/{{tableId}}"] = {
            "parameters": [{"name": "tableId", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {
                "operationId": f"getTable{i}",
                "summary": f"Read table {i}",
                "parameters": [
                    {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["en", "fr", "de"]}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": {
                    "200": {
                        "description": "the table",
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
                    },
                    "404": {"description": "no such table"},
                },
            },
        }
        i += 1
        size += 1150  # about what one iteration adds as JSON; checked below
    return {
        "openapi": "3.0.3",
        "info": {"title": "Generated statistical tables API", "version": "1.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def descriptor_for(spec: dict[str, Any]) -> dict[str, Any]:
    """A complete CSPA descriptor whose interface is spec, listing every operation it has."""
    operations = validation.openapi_operations(spec) if isinstance(spec, dict) else {}
    return {
        "cspa": "2.0",
        "id": "bench-service",
        "version": "1.0.0",
        "definition": {
            "name": "Benchmark service",
            "purpose": "Carries an OpenAPI document through the whole validator.",
            "gsbpm": ["5.3", "7.2"],
            "inputs": [{"gsim": "Unit Data Set"}],
            "outputs": [{"gsim": "Dimensional Data Set"}],
        },
        "specification": {
            "protocol": "REST",
            "interface": {"openapi": spec},
            "operations": [{"id": o} for o in operations],
        },
        "implementation": {"owner": "BENCH", "licence": "EUPL-1.2", "technology": ["Python"], "maturity": "prototype"},
    }


def median_seconds(prepare: Callable[[], Callable[[], Any]], repeat: int) -> float:
    """Median time of repeat runs; prepare() makes each run's action outside the timed part."""
    times = []
    for _ in range(repeat):
        action = prepare()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare(spec: dict[str, Any]) -> Callable[[], Callable[[], None]]:
    def prepare() -> Callable[[], None]:
        fresh = copy.deepcopy(spec)  # a new object each run, so no cache of the library's can answer

        def run() -> None:
            # The bare library raises on an invalid document (and on some valid ones); it is timed either way.
            with warnings.catch_warnings(), contextlib.suppress(Exception):
                warnings.simplefilter("ignore")
                openapi_spec_validator.validate(fresh)

        return run

    return prepare


def ours(descriptor: Descriptor, cold: bool) -> Callable[[], Callable[[], None]]:
    def prepare() -> Callable[[], None]:
        if cold:
            validation.clear_cache()
        return lambda: validation.validate(descriptor)

    return prepare


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is shown")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()

    cases: list[tuple[str, int, dict[str, Any]]] = []
    for path in sorted(args.corpus.glob("*.yaml")):
        data = path.read_bytes()
        spec = descriptors.parse(data, "yaml", Limits()).content
        cases.append((path.name, len(data), spec))
    big = generated_spec()
    import json

    cases.append(("generated (3.0)", len(json.dumps(big)), big))

    header = f"{'document':38} {'bytes':>9} {'bare ms':>9} {'ours cold':>10} {'ours warm':>10} {'cold/bare':>10} {'warm/bare':>10}"
    print(header)
    print("-" * len(header))
    totals = [0.0, 0.0, 0.0]
    for name, size, spec in cases:
        repeat = max(1, args.repeat if size < 200_000 else min(args.repeat, 3))
        descriptor = Descriptor(descriptor_for(spec))
        bare_s = median_seconds(bare(spec), repeat)
        cold_s = median_seconds(ours(descriptor, cold=True), repeat)
        warm_s = median_seconds(ours(descriptor, cold=False), repeat)
        for k, v in enumerate((bare_s, cold_s, warm_s)):
            totals[k] += v
        print(
            f"{name:38} {size:>9} {bare_s * 1000:>9.1f} {cold_s * 1000:>10.1f} {warm_s * 1000:>10.2f} {cold_s / bare_s:>10.2f} {warm_s / bare_s:>10.3f}"
        )
    print("-" * len(header))
    print(
        f"{'total':38} {'':>9} {totals[0] * 1000:>9.1f} {totals[1] * 1000:>10.1f} {totals[2] * 1000:>10.2f} {totals[1] / totals[0]:>10.2f} {totals[2] / totals[0]:>10.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
