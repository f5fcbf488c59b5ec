"""Property tests: whatever arrives, the parser gives a Descriptor or its own error, and the
validator gives a Report; neither ever raises anything else.

Derandomized, so CI runs the same examples each time; bounded, so the file runs in well under a
minute on a loaded machine.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalogue.exceptions import DescriptorError
from catalogue.services import validation
from catalogue.services.descriptors import Descriptor, Limits, parse

GOOD_TEXT = (Path(__file__).resolve().parent.parent / "data" / "good.yaml").read_text("utf-8")
GOOD = parse(GOOD_TEXT).content
LIMITS = Limits(max_bytes=64 * 1024, max_depth=30, max_nodes=20_000)

FUZZ = settings(
    derandomize=True,
    database=None,
    max_examples=400,
    deadline=None,  # a loaded CI machine must not turn a slow example into a failure
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- the parser -------------------------------------------------------------------------------

# Fragments that steer random text into YAML's and JSON's dark corners.
YAML_PIECES = [
    "a:",
    " b",
    "\n",
    "  ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    ": ",
    "&x ",
    "*x",
    "<<: ",
    "? ",
    "!!str ",
    "!!python/object:os.system",
    "!custom ",
    "---\n",
    "...\n",
    "'",
    '"',
    "\\u0000",
    "\\ud800",
    "#",
    "|\n",
    ">\n",
    "1e400",
    ".nan",
    "-.inf",
    "0x1F",
    "0o17",
    "2024-01-31",
    "~",
    "null",
    "true",
    "9" * 500,
    "\t",
    "%YAML 1.1\n",
    "%TAG ! tag:x:\n",
    "\x00",
    "\u202e",
    "\ufeff",
    "é",
    "\\",
    "&a [*a]",
]


def _assert_parses_or_refuses(data: bytes | str, fmt: str) -> None:
    try:
        descriptor = parse(data, fmt, LIMITS)
    except DescriptorError as error:
        assert error.status in (400, 413)
        assert isinstance(error.problem.message, str) and error.problem.message
        assert isinstance(error.problem.pointer, str)
        return
    assert isinstance(descriptor, Descriptor) and isinstance(descriptor.content, dict)
    json.dumps(descriptor.content, allow_nan=False).encode("utf-8")  # storable as JSON text, as is


@FUZZ
@given(data=st.binary(max_size=2048), fmt=st.sampled_from(["yaml", "json"]))
def test_any_bytes(data: bytes, fmt: str) -> None:
    _assert_parses_or_refuses(data, fmt)


@FUZZ
@given(text=st.text(max_size=1024), fmt=st.sampled_from(["yaml", "json"]))
def test_any_text(text: str, fmt: str) -> None:
    _assert_parses_or_refuses(text, fmt)


@FUZZ
@given(
    pieces=st.lists(st.sampled_from(YAML_PIECES) | st.text(max_size=8), max_size=60),
    fmt=st.sampled_from(["yaml", "json"]),
)
def test_yaml_shaped_text(pieces: list[str], fmt: str) -> None:
    _assert_parses_or_refuses("".join(pieces), fmt)


@FUZZ
@given(cut=st.integers(0, len(GOOD_TEXT)), insert=st.sampled_from(YAML_PIECES))
def test_damaged_good_text(cut: int, insert: str) -> None:
    _assert_parses_or_refuses(GOOD_TEXT[:cut] + insert + GOOD_TEXT[cut:], "yaml")
    _assert_parses_or_refuses(json.dumps(GOOD)[: cut % len(json.dumps(GOOD))] + insert, "json")


# --- the validator ----------------------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "cspa",
        "id",
        "version",
        "definition",
        "specification",
        "implementation",
        "contacts",
        "openapi",
        "swagger",
        "paths",
        "components",
        "$ref",
        "operationId",
        "responses",
        "parameters",
        "in",
        "name",
        "schema",
        "type",
        "gsbpm",
        "gsim",
        "licence",
        "/x/{id}",
        "get",
        "post",
        "200",
        "info",
        "title",
    ]
) | st.text(max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(
        ["#/components/schemas/A", "#", "http://x/y", "3.0.3", "3.1.0", "2.0", "5.1", "EUPL-1.2", "1.0.0"]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=40,
)


def _assert_reports(content: dict[str, Any]) -> None:
    report = validation.validate(Descriptor(content=content))
    assert isinstance(report, validation.Report)
    for problem in report.errors + report.warnings:
        assert isinstance(problem.pointer, str) and isinstance(problem.message, str)
    json.dumps(report.to_dict())  # the API and the database can keep it


@FUZZ
@given(content=st.dictionaries(KEYS, JSON, max_size=8))
def test_any_structure(content: dict[str, Any]) -> None:
    _assert_reports(content)


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into value, the root included."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _places(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _places(child, (*path, i))
    return found


PLACES = _places(GOOD)
OPENAPI = {
    "openapi": "3.1.0",
    "swagger": "2.0",
    "paths": {},
    "components": {"schemas": {"A": {"$ref": "#/components/schemas/A"}}},
}


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(PLACES),
            st.sampled_from(["delete", "replace", "insert"]),
            KEYS,
            JSON | st.sampled_from(list(OPENAPI.values())),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_good_descriptor(edits: list[tuple[tuple[Any, ...], str, str, Any]]) -> None:
    content = copy.deepcopy(GOOD)
    for path, action, key, shared in edits:
        value = copy.deepcopy(shared)  # strategies hand out the same objects again; no cycles
        parent: Any = content
        try:
            for part in path[:-1]:
                parent = parent[part]
            if path and not isinstance(parent, (dict, list)):
                raise TypeError(parent)
            target = parent[path[-1]] if path else content
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this place
        if action == "delete" and path:
            del parent[path[-1]]
        elif action == "replace" and path:
            parent[path[-1]] = value
        elif isinstance(target, dict):
            target[key] = value
        elif isinstance(target, list):
            target.insert(len(key) % (len(target) + 1), value)
    _assert_reports(content)
