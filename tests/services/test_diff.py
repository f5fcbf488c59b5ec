"""Differences between descriptor versions: fields, OpenAPI operations and the breaking-change rules."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from catalogue.services.descriptors import Limits, parse
from catalogue.services.diff import (
    OperationSummary,
    diff_descriptors,
    diff_interfaces,
    diff_versions,
)
from tests.conftest import CORPUS, DATA


def _load(path: Any) -> dict[str, Any]:
    return parse(path.read_bytes(), "yaml", Limits()).content


def _descriptor(openapi: Any = None) -> dict[str, Any]:
    content = _load(DATA / "good.yaml")
    if openapi is None:
        del content["specification"]["interface"]
    else:
        content["specification"]["interface"]["openapi"] = openapi
    return content


def _api(paths: dict[str, Any], components: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths}
    if components is not None:
        doc["components"] = components
    return doc


def _ok(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    if schema is None:
        return {"description": "ok"}
    return {"description": "ok", "content": {"application/json": {"schema": schema}}}


def _get(**operation: Any) -> dict[str, Any]:
    return {"responses": {"200": _ok()}, **operation}


def _changes(old: dict[str, Any], new: dict[str, Any]) -> set[tuple[str, str, str, bool]]:
    """(operation, kind, subject, breaking) for every change inside a changed operation."""
    return {
        (f"{op.method} {op.path}", c.kind, c.subject, c.breaking)
        for op in diff_interfaces(old, new).changed
        for c in op.changes
    }


# --- real documents ----------------------------------------------------------------------------


def test_petstore_to_petstore_expanded():
    old = _load(CORPUS / "oai-v3.0-petstore.yaml")
    new = _load(CORPUS / "oai-v3.0-petstore-expanded.yaml")
    diff = diff_interfaces(old, new)

    assert diff.added == (OperationSummary("DELETE", "/pets/{id}", "deletePet"),)
    # /pets/{petId} and /pets/{id} are one path template: GET on it is changed, not removed and added.
    assert diff.removed == ()
    assert [(op.method, op.path, op.old_operation_id, op.operation_id, op.breaking) for op in diff.changed] == [
        ("GET", "/pets", "listPets", "findPets", False),
        ("POST", "/pets", "createPets", "addPet", True),
        # Its path parameter was a string and is now an integer: a client calling /pets/rex is now refused.
        ("GET", "/pets/{id}", "showPetById", "find pet by id", True),
    ]
    assert _changes(old, new) == {
        ("GET /pets", "operation-id-changed", "operationId", False),
        ("GET /pets", "parameter-added", "query parameter tags", False),
        ("POST /pets", "operation-id-changed", "operationId", False),
        ("POST /pets", "response-removed", "response 201", True),
        ("POST /pets", "response-added", "response 200", False),
        ("GET /pets/{id}", "operation-id-changed", "operationId", False),
        ("GET /pets/{id}", "parameter-renamed", "path parameter petId", False),
        ("GET /pets/{id}", "parameter-type-changed", "path parameter petId", True),
    }
    # Pet became allOf(NewPet, {id}): the same three properties, so nothing removed from responses.
    assert diff.breaking is True


def test_petstore_expanded_back_to_petstore():
    old = _load(CORPUS / "oai-v3.0-petstore-expanded.yaml")
    new = _load(CORPUS / "oai-v3.0-petstore.yaml")
    diff = diff_interfaces(old, new)
    assert diff.added == ()
    assert diff.removed == (OperationSummary("DELETE", "/pets/{id}", "deletePet"),)
    assert ("POST /pets", "response-removed", "response 200", True) in _changes(old, new)
    assert ("GET /pets", "parameter-removed", "query parameter tags", False) in _changes(old, new)


def test_petstore_3_0_to_3_1_follows_the_path_item_reference():
    old = _load(CORPUS / "osv-v3.0-petstore.yaml")
    new = _load(CORPUS / "osv-v3.1-petstore.yaml")
    # 3.1 moves /pets/{petId} into components/pathItems; the operations are the same.
    for a, b in ((old, new), (new, old)):
        diff = diff_versions(_descriptor(a), _descriptor(b))
        assert diff.interface.added == diff.interface.removed == diff.interface.changed == ()
        assert diff.descriptor.changes == ()
        assert diff.breaking is False
        assert diff.summary() == "no changes"


def test_petstore_3_0_without_the_path_item_loses_an_operation():
    old = _load(CORPUS / "osv-v3.0-petstore.yaml")
    new = _load(CORPUS / "osv-v3.1-petstore.yaml")
    del new["components"]["pathItems"]
    diff = diff_interfaces(old, new)
    assert diff.removed == (OperationSummary("GET", "/pets/{petId}", "showPetById"),)
    assert diff.breaking is True


def test_swagger_2_0_response_properties_follow_definitions():
    old = _load(CORPUS / "osv-v2.0-petstore.yaml")
    new = copy.deepcopy(old)
    del new["definitions"]["Pet"]["properties"]["tag"]
    assert _changes(old, new) == {
        ("GET /pets", "response-property-removed", "response 200 property [].tag", True),
        ("GET /pets/{petId}", "response-property-removed", "response 200 property [].tag", True),
    }


def test_every_corpus_document_compared_with_itself_has_no_changes():
    for path in sorted(CORPUS.glob("*.yaml")):
        doc = _load(path)
        assert diff_interfaces(doc, doc) == diff_interfaces(None, None), path.name


# --- breaking rules, one by one ----------------------------------------------------------------


def test_removed_operation_is_breaking_added_is_not():
    old = _api({"/a": {"get": _get(operationId="getA"), "post": _get(operationId="postA")}})
    new = _api({"/a": {"get": _get(operationId="getA")}, "/b": {"get": _get(operationId="getB")}})
    diff = diff_interfaces(old, new)
    assert diff.removed == (OperationSummary("POST", "/a", "postA"),)
    assert diff.added == (OperationSummary("GET", "/b", "getB"),)
    assert diff.breaking is True
    assert diff_interfaces(old, _api({"/a": old["paths"]["/a"], "/b": {"get": _get()}})).breaking is False


def test_new_parameter_breaks_only_when_required():
    old = _api({"/a": {"get": _get()}})
    optional = _api({"/a": {"get": _get(parameters=[{"name": "q", "in": "query"}])}})
    required = _api({"/a": {"get": _get(parameters=[{"name": "q", "in": "query", "required": True}])}})
    assert _changes(old, optional) == {("GET /a", "parameter-added", "query parameter q", False)}
    assert _changes(old, required) == {("GET /a", "parameter-added", "query parameter q", True)}
    assert _changes(optional, required) == {("GET /a", "parameter-now-required", "query parameter q", True)}
    # Dropping a requirement, or a parameter, asks less of callers.
    assert _changes(required, optional) == set()
    assert _changes(required, old) == {("GET /a", "parameter-removed", "query parameter q", False)}


def test_parameters_are_identified_by_name_and_location():
    old = _api({"/a": {"get": _get(parameters=[{"name": "q", "in": "query"}])}})
    new = _api({"/a": {"get": _get(parameters=[{"name": "q", "in": "header", "required": True}])}})
    assert _changes(old, new) == {
        ("GET /a", "parameter-removed", "query parameter q", False),
        ("GET /a", "parameter-added", "header parameter q", True),
    }
    # Header names are case-insensitive in HTTP.
    lower = _api({"/a": {"get": _get(parameters=[{"name": "x-key", "in": "header", "required": True}])}})
    upper = _api({"/a": {"get": _get(parameters=[{"name": "X-Key", "in": "header", "required": True}])}})
    assert _changes(lower, upper) == set()


def test_path_level_parameter_applies_to_every_operation():
    old = _api({"/a": {"get": _get(), "delete": _get()}})
    new = copy.deepcopy(old)
    new["paths"]["/a"]["parameters"] = [{"name": "v", "in": "query", "required": True}]
    assert _changes(old, new) == {
        ("GET /a", "parameter-added", "query parameter v", True),
        ("DELETE /a", "parameter-added", "query parameter v", True),
    }
    # An operation may override a path-level parameter of the same name and location.
    new["paths"]["/a"]["get"]["parameters"] = [{"name": "v", "in": "query", "required": False}]
    assert _changes(old, new) == {
        ("GET /a", "parameter-added", "query parameter v", False),
        ("DELETE /a", "parameter-added", "query parameter v", True),
    }


def test_parameter_references_are_followed():
    components = {"parameters": {"Q": {"name": "q", "in": "query", "required": False}}}
    old = _api({"/a": {"get": _get(parameters=[{"$ref": "#/components/parameters/Q"}])}}, components)
    new = copy.deepcopy(old)
    new["components"]["parameters"]["Q"]["required"] = True
    assert _changes(old, new) == {("GET /a", "parameter-now-required", "query parameter q", True)}


def test_renamed_path_parameter_is_not_breaking():
    old = _api({"/a/{x}": {"get": _get(parameters=[{"name": "x", "in": "path", "required": True}])}})
    new = _api({"/a/{y}": {"get": _get(parameters=[{"name": "y", "in": "path", "required": True}])}})
    diff = diff_interfaces(old, new)
    assert (diff.added, diff.removed) == ((), ())
    assert _changes(old, new) == {("GET /a/{y}", "parameter-renamed", "path parameter x", False)}


def test_request_body_newly_required_is_breaking():
    body = {"content": {"application/json": {"schema": {"type": "object"}}}}
    none = _api({"/a": {"post": _get()}})
    optional = _api({"/a": {"post": _get(requestBody=body)}})
    required = _api({"/a": {"post": _get(requestBody={**body, "required": True})}})
    assert _changes(none, optional) == set()
    assert _changes(none, required) == {("POST /a", "request-body-now-required", "request body", True)}
    assert _changes(optional, required) == {("POST /a", "request-body-now-required", "request body", True)}
    assert _changes(required, optional) == set()


def test_request_body_through_a_reference():
    components = {"requestBodies": {"B": {"required": False, "content": {}}}}
    old = _api({"/a": {"post": _get(requestBody={"$ref": "#/components/requestBodies/B"})}}, components)
    new = copy.deepcopy(old)
    new["components"]["requestBodies"]["B"]["required"] = True
    assert _changes(old, new) == {("POST /a", "request-body-now-required", "request body", True)}


def test_swagger_2_0_body_parameter_is_the_request_body():
    def swagger(required: bool) -> dict[str, Any]:
        body = {"name": "pet", "in": "body", "required": required, "schema": {"type": "object"}}
        return {"swagger": "2.0", "paths": {"/a": {"post": _get(parameters=[body])}}}

    assert _changes(swagger(False), swagger(True)) == {("POST /a", "request-body-now-required", "request body", True)}


def test_removed_response_status():
    old = _api({"/a": {"get": {"responses": {"200": _ok(), "404": _ok(), "default": _ok()}}}})
    assert _changes(old, _api({"/a": {"get": {"responses": {"200": _ok(), "default": _ok()}}}})) == {
        ("GET /a", "response-removed", "response 404", True)
    }
    # default promises no particular status, so callers cannot depend on it.
    assert _changes(old, _api({"/a": {"get": {"responses": {"200": _ok(), "404": _ok()}}}})) == {
        ("GET /a", "response-removed", "response default", False)
    }
    # A range still documents the status.
    assert _changes(old, _api({"/a": {"get": {"responses": {"200": _ok(), "4xx": _ok(), "default": _ok()}}}})) == {
        ("GET /a", "response-removed", "response 404", False),
        ("GET /a", "response-added", "response 4XX", False),
    }


def test_removed_response_property_through_references():
    components = {
        "schemas": {
            "Pet": {
                "allOf": [
                    {"$ref": "#/components/schemas/Named"},
                    {"properties": {"id": {}, "owner": {"$ref": "#/components/schemas/Owner"}}},
                ]
            },
            "Named": {"properties": {"name": {"type": "string"}}},
            "Owner": {"properties": {"email": {}, "phone": {}}},
        },
        "responses": {"Pets": _ok({"type": "array", "items": {"$ref": "#/components/schemas/Pet"}})},
    }
    old = _api({"/pets": {"get": {"responses": {"200": {"$ref": "#/components/responses/Pets"}}}}}, components)

    new = copy.deepcopy(old)
    del new["components"]["schemas"]["Named"]["properties"]["name"]
    del new["components"]["schemas"]["Owner"]["properties"]["phone"]
    assert _changes(old, new) == {
        ("GET /pets", "response-property-removed", "response 200 property [].name", True),
        ("GET /pets", "response-property-removed", "response 200 property [].owner.phone", True),
    }
    # A property removed with everything under it is reported once, at its top.
    new = copy.deepcopy(old)
    del new["components"]["schemas"]["Pet"]["allOf"][1]["properties"]["owner"]
    assert _changes(old, new) == {("GET /pets", "response-property-removed", "response 200 property [].owner", True)}
    # Adding properties breaks nobody.
    new = copy.deepcopy(old)
    new["components"]["schemas"]["Owner"]["properties"]["fax"] = {}
    assert _changes(old, new) == set()


def test_request_schema_properties_are_not_response_properties():
    old = _api({"/a": {"post": _get(requestBody={"content": {"a/b": {"schema": {"properties": {"x": {}}}}}})}})
    new = _api({"/a": {"post": _get(requestBody={"content": {"a/b": {"schema": {"properties": {}}}}})}})
    assert _changes(old, new) == set()


def test_recursive_schemas_and_reference_cycles_terminate():
    components = {
        "schemas": {
            "Node": {
                "properties": {
                    "name": {},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                }
            },
            "Loop": {"$ref": "#/components/schemas/Loop2"},
            "Loop2": {"allOf": [{"$ref": "#/components/schemas/Loop"}], "properties": {"z": {}}},
        },
        "parameters": {"P": {"$ref": "#/components/parameters/P"}},
    }
    responses = {
        "200": _ok({"$ref": "#/components/schemas/Node"}),
        "201": _ok({"$ref": "#/components/schemas/Loop"}),
        "202": {"$ref": "#/components/responses/Nowhere"},
        "203": {"$ref": "https://example.org/api.yaml#/Pet"},
    }
    old = _api(
        {"/t": {"get": {"parameters": [{"$ref": "#/components/parameters/P"}], "responses": responses}}}, components
    )
    new = copy.deepcopy(old)
    del new["components"]["schemas"]["Node"]["properties"]["name"]
    del new["components"]["schemas"]["Loop2"]["properties"]["z"]
    assert _changes(old, new) == {
        ("GET /t", "response-property-removed", "response 200 property name", True),
        ("GET /t", "response-property-removed", "response 201 property z", True),
    }


def test_missing_or_odd_documents_degrade_gracefully():
    doc = _api({"/a": {"get": _get(operationId="a")}})
    assert diff_interfaces(None, doc).added == (OperationSummary("GET", "/a", "a"),)
    assert diff_interfaces(doc, "not a document").removed == (OperationSummary("GET", "/a", "a"),)
    odd = {
        "paths": {
            "/a": {"get": "text", "post": {"parameters": "x", "responses": [1]}, "parameters": [None, {"in": "query"}]},
            "/b": [],
            3: {"get": {}},
            "/c": {"$ref": "#/paths/~1c"},
            "/d": {
                "get": {
                    "responses": {"200": {"content": {"a/b": {"schema": {"properties": [], "items": [1], "allOf": 5}}}}}
                }
            },
        }
    }
    for a, b in ((odd, doc), (doc, odd), (odd, odd), ([], {"paths": None}), (1, True)):
        diff_interfaces(a, b)  # no exception
    assert diff_interfaces(odd, odd).breaking is False


# --- descriptor fields ---------------------------------------------------------------------------


def _fields(old: Any, new: Any) -> list[tuple[str, str, Any, Any]]:
    return [(c.pointer, c.kind, c.old, c.new) for c in diff_descriptors(old, new).changes]


def test_identical_descriptors_have_no_field_changes():
    content = _load(DATA / "good.yaml")
    assert _fields(content, copy.deepcopy(content)) == []
    for seed in sorted((DATA.parent.parent / "seed_services").glob("*.yaml")):
        content = _load(seed)
        assert diff_versions(content, copy.deepcopy(content)).summary() == "no changes", seed.name


def test_fields_added_removed_and_changed():
    old = _load(DATA / "good.yaml")
    new = copy.deepcopy(old)
    new["version"] = "1.1.0"
    del new["implementation"]["maturity"]
    new["definition"]["restrictions"] = "Only two files at a time."
    new["x-owner/team"] = {"a~b": 1}
    assert _fields(old, new) == [
        ("/version", "changed", "1.0.0", "1.1.0"),
        ("/definition/restrictions", "added", None, "Only two files at a time."),
        ("/implementation/maturity", "removed", "pilot", None),
        ("/x-owner~1team", "added", None, {"a~b": 1}),
    ]


def test_lists_of_values_report_items_added_and_removed():
    old = _load(DATA / "good.yaml")
    new = copy.deepcopy(old)
    new["definition"]["gsbpm"] = ["5.3", "5.1"]
    new["implementation"]["technology"] = ["R"]
    assert _fields(old, new) == [
        ("/definition/gsbpm/0", "added", None, "5.3"),
        ("/implementation/technology/0", "removed", "Java", None),
        ("/implementation/technology/0", "added", None, "R"),
    ]
    # Order alone is no change: these lists are sets.
    reordered = copy.deepcopy(new)
    reordered["definition"]["gsbpm"] = ["5.1", "5.3"]
    assert _fields(new, reordered) == []


def test_objects_in_lists_are_matched_by_their_key():
    old = _load(DATA / "good.yaml")
    old["specification"]["operations"] = [{"id": "a", "description": "A"}, {"id": "b", "description": "B"}, {"id": "c"}]
    new = copy.deepcopy(old)
    new["specification"]["operations"] = [
        {"id": "d"},
        {"id": "b", "description": "B!"},
        {"id": "a", "description": "A"},
    ]
    assert _fields(old, new) == [
        ("/specification/operations/1/description", "changed", "B", "B!"),
        ("/specification/operations/2", "removed", {"id": "c"}, None),
        ("/specification/operations/0", "added", None, {"id": "d"}),
    ]


def test_inputs_match_by_gsim_name_as_the_validator_reads_it():
    old = _load(DATA / "good.yaml")
    new = copy.deepcopy(old)
    new["definition"]["inputs"] = [
        {"gsim": "Parameter Input"},
        {"gsim": "unit-data-set", "description": "the files to link"},
    ]
    assert _fields(old, new) == [
        ("/definition/inputs/1/gsim", "changed", "Unit Data Set", "unit-data-set"),
        ("/definition/inputs/0", "added", None, {"gsim": "Parameter Input"}),
    ]


def test_the_openapi_document_is_left_to_the_interface_diff():
    old = _descriptor(_api({"/a": {"get": _get()}}))
    new = _descriptor(_api({"/b": {"get": _get()}}))
    assert _fields(old, new) == []
    assert _fields(_descriptor(), new) == []
    diff = diff_versions(_descriptor(), new)
    assert (len(diff.interface.added), diff.breaking) == (1, False)


@pytest.mark.parametrize("garbage", [None, 3, "text", [1, 2], {"definition": "text"}, {1: {2: [{}]}}, {"a": {1, 2}}])
def test_garbage_never_raises(garbage):
    good = _load(DATA / "good.yaml")
    for a, b in ((garbage, good), (good, garbage), (garbage, garbage)):
        diff_versions(a, b).summary()
    assert diff_descriptors(garbage, garbage).changes == ()
    assert diff_descriptors(good, garbage).changes  # something is reported


def test_deep_nesting_does_not_recurse_without_bound():
    deep: Any = "leaf"
    for _ in range(5000):
        deep = {"x": [deep]}
    other: Any = "other"
    for _ in range(5000):
        other = {"x": [other]}
    assert len(diff_descriptors({"x-deep": deep}, {"x-deep": other}).changes) == 1


# --- both together -------------------------------------------------------------------------------


def test_version_diff_summary_and_json():
    old = _descriptor(_load(CORPUS / "oai-v3.0-petstore.yaml"))
    new = _descriptor(_load(CORPUS / "oai-v3.0-petstore-expanded.yaml"))
    new["version"] = "2.0.0"
    diff = diff_versions(old, new)
    assert diff.breaking is True
    assert diff.summary() == "1 operation added, 3 changed (breaking); 1 field change"
    data = json.loads(json.dumps(diff.to_dict()))
    assert data["breaking"] is True
    assert data["descriptor"]["changes"] == [
        {
            "pointer": "/version",
            "kind": "changed",
            "old": "1.0.0",
            "new": "2.0.0",
            "layer": "Descriptor",
            "label": "version",
        }
    ]
    assert [op["operation_id"] for op in data["interface"]["added"]] == ["deletePet"]
    assert [(op["method"], op["path"], op["breaking"]) for op in data["interface"]["changed"]] == [
        ("GET", "/pets", False),
        ("POST", "/pets", True),
        ("GET", "/pets/{id}", True),
    ]
    assert diff_versions(new, old).summary() == "1 operation removed, 3 changed (breaking); 1 field change"


def test_summary_wording():
    one = _descriptor(_api({"/a": {"get": _get()}}))
    three = _descriptor(_api({"/a": {"get": _get()}, "/b": {"get": _get(), "put": _get()}}))
    assert diff_versions(one, three).summary() == "2 operations added"
    assert diff_versions(three, one).summary() == "2 operations removed (breaking)"


# --- per layer, in plain words ---------------------------------------------------------------------

ANNEX = DATA / "annex"


def test_changes_are_grouped_by_layer_with_the_new_fields_in_plain_words():
    old = _load(ANNEX / "sdcmicro-library.yaml")
    new = copy.deepcopy(old)
    new["definition"]["dependencies"].append("a C++ compiler")
    new["specification"]["methodologies"].append({"name": "Record swapping"})
    new["specification"]["input_messages"][0]["format"] = "text/csv"
    new["implementation"]["software_version"] = "5.7.9"
    new["implementation"]["builder"] = "Statistics Austria"
    new["implementation"]["distributions"].append({"kind": "pypi", "package": "sdcmicro"})
    new["contacts"] = [{"name": "sdcTools team", "url": "https://github.com/sdcTools"}]
    grouped = {
        layer: [(c.label, c.kind) for c in found] for layer, found in diff_versions(old, new).descriptor.by_layer()
    }
    assert list(grouped) == ["Definition", "Specification", "Implementation", "Contacts"]
    assert grouped["Definition"] == [("dependencies, item 2", "added")]
    assert ("input messages, item 1, format", "changed") in grouped["Specification"]
    assert ("applicable methodologies, item 3", "added") in grouped["Specification"]
    assert ("software version", "changed") in grouped["Implementation"]
    assert ("builder organisation", "changed") in grouped["Implementation"]
    assert ("distributions, item 2", "added") in grouped["Implementation"]
    assert grouped["Contacts"] == [("contacts", "added")]
    layers = diff_versions(old, new).to_dict()["descriptor"]["layers"]
    assert [group["layer"] for group in layers] == list(grouped)


def test_dependencies_moved_from_the_specification_to_the_definition_are_no_change():
    """CSPA 2.0 Annex 1 puts dependencies in the Definition; older descriptors wrote them in the Specification."""
    old = _load(ANNEX / "sdcmicro-library.yaml")
    new = copy.deepcopy(old)
    old["specification"]["dependencies"] = old["definition"].pop("dependencies")
    assert diff_versions(old, new).descriptor.changes == ()
