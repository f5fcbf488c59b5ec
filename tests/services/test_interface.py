"""OpenAPI documents read as operations and schema trees: local references followed, cycles and depth
bounded, non-local references never followed, Swagger 2.0 as well as OpenAPI 3."""

from __future__ import annotations

from typing import Any

import yaml

from catalogue.services import interface
from catalogue.services.interface import SchemaNode
from tests.conftest import CORPUS


def _names(node: SchemaNode) -> list[str | None]:
    return [child.name for child in node.children]


def _doc(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas or {}},
    }


def test_a_self_referencing_schema_stops_at_the_cycle() -> None:
    document = _doc(
        {
            "/nodes": {
                "get": {
                    "operationId": "list",
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}},
                        }
                    },
                }
            }
        },
        {
            "Node": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                },
            }
        },
    )
    [operation] = interface.operations(document)
    root = operation.responses[0].content[0].schema
    assert root.ref == "Node" and _names(root) == ["name", "children"]
    assert root.children[0].required and not root.children[1].required
    items = root.children[1].children[0]
    assert items.ref == "Node" and items.children == [] and "refers back to Node" in items.note


def test_non_local_references_are_never_followed() -> None:
    document = _doc(
        {
            "/x": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "https://example.org/schema.json#/Thing"}}}
                    },
                    "responses": {},
                }
            }
        }
    )
    [operation] = interface.operations(document)
    body = operation.request_body[0].schema
    assert body.children == [] and "not local" in body.note


def test_a_dangling_reference_is_named_not_fatal() -> None:
    document = _doc(
        {
            "/x": {
                "get": {
                    "parameters": [{"$ref": "#/components/parameters/missing"}],
                    "responses": {"404": {"$ref": "#/components/responses/Gone"}},
                }
            }
        }
    )
    [operation] = interface.operations(document)
    assert operation.parameters == []
    assert operation.responses == [] or "points to nothing" in operation.responses[0].description


def test_deep_schemas_are_cut_at_the_depth_limit() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for level in range(interface.MAX_DEPTH + 5):
        schema = {"type": "object", "properties": {f"level{level}": schema}}
    document = _doc(
        {
            "/deep": {
                "get": {
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}
                }
            }
        }
    )
    node = interface.operations(document)[0].responses[0].content[0].schema
    depth = 0
    while node.children:
        node, depth = node.children[0], depth + 1
    assert depth == interface.MAX_DEPTH
    assert "this depth only" in node.note


def test_a_huge_fan_out_is_bounded_by_the_node_budget() -> None:
    document = _doc(
        {
            "/w": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outer"}}},
                        }
                    }
                }
            }
        },
        {
            "Outer": {
                "type": "object",
                "properties": {f"o{i}": {"$ref": "#/components/schemas/Wide"} for i in range(60)},
            },
            "Wide": {
                "type": "object",
                "properties": {f"w{i}": {"$ref": "#/components/schemas/Leaf"} for i in range(60)},
            },
            "Leaf": {"type": "object", "properties": {f"l{i}": {"type": "string"} for i in range(60)}},
        },
    )
    # Wide is repeated under each of Outer's 60 properties: 216,000 leaves if nothing bounded them.
    node = interface.operations(document)[0].responses[0].content[0].schema

    def count(n: SchemaNode) -> int:
        return 1 + sum(count(c) for c in n.children)

    assert count(node) <= interface.MAX_NODES + 10


def test_path_parameters_are_shared_and_an_operation_may_override_them() -> None:
    document = _doc(
        {
            "/items/{id}": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "lang", "in": "query", "schema": {"type": "string"}},
                ],
                "get": {
                    "parameters": [
                        {
                            "name": "lang",
                            "in": "query",
                            "description": "own",
                            "schema": {"type": "string", "enum": ["en", "fr"]},
                        }
                    ],
                    "responses": {"200": {"description": "ok"}},
                },
                "delete": {"responses": {"204": {"description": "gone"}}},
            }
        }
    )
    get, delete = interface.operations(document)
    assert (get.method, delete.method) == ("GET", "DELETE")
    assert [(p.name, p.description) for p in get.parameters] == [("id", ""), ("lang", "own")]
    assert get.parameters[1].schema.constraints == ["one of: en, fr"]
    assert [p.name for p in delete.parameters] == ["id", "lang"]


def test_swagger_2_body_parameters_and_response_schemas() -> None:
    document = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/pets": {
                "post": {
                    "operationId": "addPet",
                    "parameters": [
                        {"name": "pet", "in": "body", "required": True, "schema": {"$ref": "#/definitions/Pet"}},
                        {"name": "dry", "in": "query", "type": "boolean"},
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "schema": {"type": "array", "items": {"$ref": "#/definitions/Pet"}},
                        }
                    },
                }
            }
        },
        "definitions": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }
    [operation] = interface.operations(document)
    assert operation.request_body_required and operation.request_body[0].schema.ref == "Pet"
    assert [(p.name, p.schema.type) for p in operation.parameters] == [("dry", "boolean")]
    response = operation.responses[0].content[0].schema
    assert response.type == "array of Pet" and response.children[0].ref == "Pet"


def test_a_real_public_document_lists_every_operation() -> None:
    document = yaml.safe_load((CORPUS / "oai-v3.0-api-with-examples.yaml").read_text("utf-8"))
    expected = [(m.upper(), p) for p, item in document["paths"].items() for m in interface.METHODS if m in item]
    assert [(op.method, op.path) for op in interface.operations(document)] == expected
    assert len({op.anchor for op in interface.operations(document)}) == len(expected)


def test_no_document_means_no_operations() -> None:
    assert interface.operations(None) == []
    assert interface.operations({"openapi": "3.0.0"}) == []
