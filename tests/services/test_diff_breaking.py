"""The breaking changes the semantic-versioning guard relies on: types, required request fields, narrowed
enums, removed response fields, and the WSDL, command-line and library interfaces' own removals."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from catalogue.services.diff import diff_interfaces, diff_other_interfaces, diff_versions
from tests.conftest import DATA

INTERFACES = DATA / "interfaces"


def _api(paths: dict[str, Any]) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(parameters: list[Any] | None = None, body: Any = None, response: Any = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": "runIt",
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": response or {}}}}},
    }
    if parameters is not None:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = _body(body)
    return operation


def _breaking(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return diff_interfaces(_api({"/runs": {"post": old}}), _api({"/runs": {"post": new}})).breaking_changes()


def test_a_parameter_type_change_breaks_and_names_the_operation() -> None:
    query = {"name": "k", "in": "query", "schema": {"type": "integer"}}
    changed = {**query, "schema": {"type": "string"}}
    assert _breaking(_op([query]), _op([changed])) == [
        "POST /runs (runIt): query parameter k: type integer is now string"
    ]
    assert _breaking(_op([query]), _op([query])) == []


def test_a_narrowed_parameter_enum_breaks_a_widened_one_does_not() -> None:
    mode = {"name": "mode", "in": "query", "schema": {"type": "string", "enum": ["fast", "exact"]}}
    narrowed = {**mode, "schema": {"type": "string", "enum": ["exact"]}}
    widened = {**mode, "schema": {"type": "string", "enum": ["fast", "exact", "cheap"]}}
    assert _breaking(_op([mode]), _op([narrowed])) == [
        'POST /runs (runIt): query parameter mode no longer accepts "fast"'
    ]
    assert _breaking(_op([mode]), _op([widened])) == []


def test_a_new_required_request_body_field_breaks_an_optional_one_does_not() -> None:
    old = {"type": "object", "properties": {"data": {"type": "string"}}, "required": ["data"]}
    required = copy.deepcopy(old)
    required["properties"]["rules"] = {"type": "string"}
    optional = copy.deepcopy(required)
    required["required"].append("rules")
    assert _breaking(_op(body=old), _op(body=required)) == [
        "POST /runs (runIt): request body field rules is now required"
    ]
    assert _breaking(_op(body=old), _op(body=optional)) == []


def test_request_body_property_type_and_enum_changes_break() -> None:
    old = {"type": "object", "properties": {"size": {"type": "integer"}, "unit": {"enum": ["kb", "mb"]}}}
    new = {"type": "object", "properties": {"size": {"type": "string"}, "unit": {"enum": ["mb"]}}}
    assert _breaking(_op(body=old), _op(body=new)) == [
        "POST /runs (runIt): request body property size: type integer is now string",
        'POST /runs (runIt): request body property unit no longer accepts "kb"',
    ]


def test_response_property_type_change_and_removal_break() -> None:
    old = {"type": "object", "properties": {"id": {"type": "integer"}, "note": {"type": "string"}}}
    new = {"type": "object", "properties": {"id": {"type": "string"}}}
    assert set(_breaking(_op(response=old), _op(response=new))) == {
        "POST /runs (runIt): response 200 property id: type integer is now string",
        "POST /runs (runIt): property note removed from response 200",
    }


def _interface(path: str) -> dict[str, Any]:
    return yaml.safe_load((INTERFACES / path).read_text("utf-8"))


def test_removed_cli_commands_and_arguments_break() -> None:
    old = _interface("command-line.yaml")
    new = copy.deepcopy(old)
    commands = new["specification"]["interface"]["command_line"]["commands"]
    commands[0]["arguments"] = [a for a in commands[0]["arguments"] if a["name"] != "--rules"]
    commands[0]["arguments"].append({"name": "--year", "required": True})
    del commands[1]
    found = diff_versions(old, new)
    assert found.breaking
    assert [c.message for c in found.interface.other] == [
        "argument --rules of command check removed",
        "argument --year of command check added as required",
        "command correct removed",
    ]
    assert diff_versions(old, copy.deepcopy(old)).interface.other == ()


def test_removed_library_functions_methods_and_arguments_break() -> None:
    old = _interface("library.yaml")
    new = copy.deepcopy(old)
    library = new["specification"]["interface"]["library"]
    library["functions"] = [f for f in library["functions"] if f["name"] != "localSuppression"]
    library["functions"][0]["arguments"][1]["required"] = True  # already required: no change
    library["classes"][0]["methods"] = []
    messages = [c.message for c in diff_versions(old, new).interface.other]
    assert messages == ["function localSuppression removed", "method SdcReport.render removed"]


def test_removed_wsdl_operations_break() -> None:
    old = _interface("soap-wsdl.yaml")
    wsdl = old["specification"]["interface"]["wsdl"]
    names = [c.message for c in diff_other_interfaces(old["specification"]["interface"], {"wsdl": wsdl})]
    assert names == []
    start = wsdl.index('<operation name="CodeText">')
    end = wsdl.index("</operation>", start) + len("</operation>")
    removed = diff_other_interfaces({"wsdl": wsdl}, {"wsdl": wsdl[:start] + wsdl[end:]})
    assert [(c.message, c.breaking) for c in removed] == [("WSDL operation CodeText removed", True)]


def test_the_order_of_media_types_changes_nothing() -> None:
    """A response in JSON (an object) and in CSV (a string): PostgreSQL's JSONB gives the media types back in
    another order than the document had, and the same document must not look changed."""
    json_then_csv = {
        "application/json": {"schema": {"type": "object", "properties": {"id": {"type": "string"}}}},
        "text/csv": {"schema": {"type": "string"}},
    }
    csv_then_json = dict(reversed(list(json_then_csv.items())))
    old = {"operationId": "read", "responses": {"200": {"description": "ok", "content": json_then_csv}}}
    new = {"operationId": "read", "responses": {"200": {"description": "ok", "content": csv_then_json}}}
    assert _breaking(old, new) == []
    only_csv = {
        "operationId": "read",
        "responses": {"200": {"description": "ok", "content": {"text/csv": json_then_csv["text/csv"]}}},
    }
    assert any("type object or string is now string" in change for change in _breaking(old, only_csv))
