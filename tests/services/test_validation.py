"""The one validator: every kind of error with pointer and line, the OpenAPI corpus verdicts,
references never fetched or opened, and flat memory."""

from __future__ import annotations

import gc
import json
import os
import socket
import sys
from typing import ClassVar

import psutil
import pytest
import yaml
from pytest_socket import SocketBlockedError

from catalogue.services import descriptors, validation
from tests.conftest import CORPUS, DATA

VERDICTS = json.loads((CORPUS / "verdicts.json").read_text("utf-8"))["files"]


def _with_interface(doc: dict, operations: list | None = None) -> dict:
    content = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    content["specification"]["interface"] = {"openapi": doc}
    if operations is None:
        content["specification"].pop("operations")
    else:
        content["specification"]["operations"] = operations
    return content


def _report(text: str) -> validation.Report:
    return validation.validate(descriptors.parse(text))


def _errors(report: validation.Report) -> set[tuple[str, int | None, str]]:
    return {(p.pointer, p.line, p.source) for p in report.errors}


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_corpus_verdicts(name):
    doc = descriptors.load_yaml((CORPUS / name).read_text("utf-8"), descriptors.Limits())
    report = validation.validate(descriptors.Descriptor(_with_interface(doc)))
    assert report.valid is VERDICTS[name]["valid"], [p.message for p in report.errors]


def test_sdmx_defect_reported_at_the_operation():
    doc = descriptors.load_yaml((CORPUS / "sdmx-rest-v2.2.2.yaml").read_text("utf-8"), descriptors.Limits())
    report = validation.validate(descriptors.Descriptor(_with_interface(doc)))
    pointers = {p.pointer for p in report.errors if "registrationID" in p.message}
    assert pointers == {"/specification/interface/openapi/paths/~1registration~1id~1{registrationID}/get"}
    assert {p.source for p in report.errors} == {"openapi-semantics"}


def test_every_problem_reported_at_once_with_lines(good_text):
    text = (
        good_text.replace("id: demo-linkage", "id: Demo Linkage")
        .replace('gsbpm: ["5.1"]', 'gsbpm: ["5.1", "9.9", "4.8"]')
        .replace("{gsim: DataSet,", "{gsim: Data-Sett,")
        .replace("- {id: runLinkage,", "- {id: runLinkages,")
        .replace("  maturity: pilot\n", "  maturity: pilot\n  colour: blue\n")
    )
    report = _report(text)
    found = {(p.pointer, p.line, p.source) for p in report.errors}
    assert ("/id", 2, "schema") in found
    assert ("/definition/gsbpm/1", 7, "schema") in found
    assert ("/definition/gsbpm/2", 7, "reference") in found
    assert ("/definition/gsbpm/1", 7, "reference") not in found  # malformed: reported once, by the schema
    assert ("/definition/outputs/0/gsim", 13, "reference") in found
    assert ("/specification/operations/0/id", 28, "reference") in found
    assert ("/implementation/colour", 39, "schema") in found
    messages = {p.pointer: p.message for p in report.errors}
    assert "did you mean 'Data Set'" in messages["/definition/outputs/0/gsim"]
    assert "did you mean 'runLinkage'" in messages["/specification/operations/0/id"]
    assert "unknown field 'colour'" in messages["/implementation/colour"]
    # runLinkage is in the OpenAPI document but no longer listed: a warning, not an error.
    assert [(w.pointer, w.line) for w in report.warnings] == [
        ("/specification/interface/openapi/paths/~1linkages/post", 22)
    ]


def test_gsim_names_ignore_case_spaces_and_hyphens(good_text):
    for spelling in ("DataSet", "data set", "Data-Set", "DATA_SET"):
        assert _report(good_text.replace("{gsim: DataSet,", f"{{gsim: {spelling},")).valid, spelling


def test_missing_required_fields_point_at_parent():
    report = _report('cspa: "2.0"\nid: x-y-z\nversion: 1.0.0\ndefinition: {name: ab}\n')
    messages = {(p.pointer, p.message) for p in report.errors}
    assert ("", "'implementation' is a required property") in messages
    assert ("/definition", "'purpose' is a required property") in messages


def test_openapi_semantic_errors_get_real_pointers():
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/a/{id}": {"get": {"operationId": "same", "responses": {"200": {"description": "ok"}}}},
            "/b": {
                "get": {
                    "operationId": "same",
                    "responses": {"200": {"description": "ok"}},
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                    ],
                }
            },
        },
    }
    report = validation.validate(descriptors.Descriptor(_with_interface(doc)))
    found = {(p.pointer, p.source) for p in report.errors}
    base = "/specification/interface/openapi/paths"
    assert (f"{base}/~1a~1{{id}}/get", "openapi-semantics") in found
    assert (f"{base}/~1b/get", "openapi-semantics") in found  # duplicate operationId
    assert (f"{base}/~1b/get/parameters", "openapi-semantics") in found  # duplicate parameter


def test_unknown_openapi_version():
    report = validation.validate(descriptors.Descriptor(_with_interface({"openapi": "4.0.0", "info": {}})))
    assert [p.pointer for p in report.errors] == ["/specification/interface/openapi"]
    assert "no recognised OpenAPI version" in report.errors[0].message


def test_library_exceptions_become_report_items():
    """A parameter without a name makes the library raise KeyError after its schema error."""
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {"/x": {"get": {"parameters": [{"in": "path"}], "responses": {"200": {"description": "ok"}}}}},
    }
    report = validation.validate(descriptors.Descriptor(_with_interface(doc)))
    assert not report.valid
    cycle = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": {"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}}},
    }
    report = validation.validate(descriptors.Descriptor(_with_interface(cycle)))
    assert any("cycle" in p.message for p in report.errors)


class _Watch:
    """Records every file opened and every socket connection attempted while active (audit hook)."""

    active = False
    opened: ClassVar[list[str]] = []
    connects: ClassVar[list[object]] = []

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if not cls.active:
            return
        if event == "open" and isinstance(args[0], str):
            cls.opened.append(args[0])
        elif event in ("socket.connect", "socket.getaddrinfo"):
            cls.connects.append(args)


sys.addaudithook(_Watch.hook)


def test_remote_and_file_refs_are_refused_without_access(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("root:x:0:0:secret-content\n")
    refs = [
        f"file://{secret}",
        "https://example.org/schemas.yaml#/Pet",
        "http://127.0.0.1:9/x.json",
        "secret.yaml",
        "../secret.yaml#/A",
        "ftp://example.org/a",
    ]
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/p": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"oneOf": [{"$ref": r} for r in refs]}}},
                        }
                    }
                }
            }
        },
    }
    before = os.getcwd()
    os.chdir(tmp_path)
    _Watch.opened.clear()
    _Watch.connects.clear()
    _Watch.active = True
    try:
        report = validation.validate(descriptors.Descriptor(_with_interface(doc)))
    finally:
        _Watch.active = False
        os.chdir(before)
    bad = [p for p in report.errors if "points outside the document" in p.message]
    assert len(bad) == len(refs)
    assert bad[0].pointer.endswith("/schema/oneOf/5/$ref") or bad[0].pointer.endswith("/$ref")
    assert not any("secret" in path for path in _Watch.opened), _Watch.opened
    assert _Watch.connects == []
    assert all("secret-content" not in p.message for p in report.errors)


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_network_is_blocked_in_this_suite():
    """pytest-socket is active: an accidental fetch fails loudly instead of going out."""
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


@pytest.mark.skipif(
    bool(os.environ.get("CATALOGUE_DATABASE_URL")), reason="database-independent; measured once, in the SQLite pass"
)
def test_memory_stays_flat_over_500_validations():
    docs = [descriptors.load_yaml((CORPUS / n).read_text("utf-8"), descriptors.Limits()) for n in sorted(VERDICTS)]
    process = psutil.Process()

    def run(rounds: int, start: int) -> None:
        for i in range(rounds):
            doc = json.loads(json.dumps(docs[i % len(docs)]))
            if isinstance(doc.get("info"), dict):
                doc["info"]["title"] = f"round {start + i}"  # new content each time: no cache hit
            validation.validate(descriptors.Descriptor(_with_interface(doc)))

    run(50, 0)  # warm up: meta-schemas, caches filled to their bounds
    gc.collect()
    before = process.memory_info().rss
    run(500, 1000)
    gc.collect()
    growth = process.memory_info().rss - before
    assert growth < 20 * 1024 * 1024, f"RSS grew by {growth / 1e6:.1f} MB"


def test_a_message_schema_given_inline_must_be_a_json_schema(good_text):
    """CSPA 2.0 Annex 1 messages may carry a schema: an inline one is checked against the JSON Schema 2020-12
    meta-schema, with pointers into it, and its references stay inside it; an address given instead of a schema
    is kept as written and never fetched."""
    content = descriptors.parse(good_text.encode(), "yaml").content
    content["specification"]["output_messages"] = [
        {
            "gsim": "Unit Data Set",
            "format": "text/csv",
            "schema": {"type": "table", "properties": {"n": {"minimum": "0"}}},
        },
        {"gsim": "Unit Data Set", "format": "application/json", "schema": {"type": "object", "$defs": {"x": {}}}},
        {
            "gsim": "Unit Data Set",
            "format": "text/csv",
            "schema": {"items": {"$ref": "#/$defs/row"}, "$defs": {"row": {}}},
        },
        {"gsim": "Unit Data Set", "format": "text/csv", "schema": {"items": {"$ref": "https://example.org/row.json"}}},
        {"gsim": "Unit Data Set", "format": "text/csv", "schema": {"items": {"$ref": "#/$defs/missing"}}},
        {"gsim": "Unit Data Set", "format": "application/json", "schema": "https://example.org/links.schema.json"},
    ]
    report = validation.validate(descriptors.Descriptor(content))
    assert sorted((p.pointer, p.message.split(";")[0]) for p in report.errors) == [
        (
            "/specification/output_messages/0/schema/properties/n/minimum",
            "not a valid JSON Schema: '0' is not of type 'number'",
        ),
        (
            "/specification/output_messages/0/schema/type",
            "not a valid JSON Schema: 'table' is not valid under any of the given schemas",
        ),
        (
            "/specification/output_messages/3/schema/items/$ref",
            "the reference 'https://example.org/row.json' points outside the schema",
        ),
        (
            "/specification/output_messages/4/schema/items/$ref",
            "the reference '#/$defs/missing' does not resolve to anything in the schema",
        ),
    ]
