"""What the registry's own OpenAPI document (/api/openapi.json) says beyond its marshmallow schemas: who may
call what (the Bearer tokens), where the API is served, and a stable operationId on every operation.

flask-smorest builds the paths from the blueprints; the `SelfDescription` apispec plugin below completes each
operation as it is added, so a new route is described the same way without anyone remembering to.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

import yaml
from apispec import BasePlugin

BEARER = "bearerAuth"

TOKEN_REQUIRED = frozenset(
    {
        "submit_service",
        "transition_version",
        "review_version",
        "review_queue",
        "list_tokens",
        "create_token",
        "revoke_token",
    }
)
"""The API views that refuse a request without a Bearer token (they call request_actor(required=True));
tests/api/test_openapi.py checks each against an anonymous request. Every other operation takes a token
optionally: with one, a member of the owning organisation also sees drafts and versions under review."""

DESCRIPTOR_SCHEMA = "/schemas/cspa-service-descriptor.schema.json"
DESCRIPTOR_BODIES = frozenset({"submit_service", "validate_descriptor"})
"""The views that take a CSPA descriptor as their body (JSON or YAML)."""

JSON_EXAMPLES: dict[str, dict[str, Any]] = {
    "transition_version": {"to": "in_review", "comment": ""},
    "review_version": {
        "decision": "changes_requested",
        "comment": "The GSBPM sub-process does not match the operations.",
        "items": [{"criterion": "gsbpm-aligned", "verdict": "fail", "comment": "Record linkage is 5.1, not 5.4"}],
    },
    "create_token": {"name": "ci-pipeline", "days": 90, "scopes": ["read", "submit"]},
}
"""An example JSON body of each view that takes one (other than a descriptor)."""

_CHANGE = {
    "type": "object",
    "description": "One field that changed: where (a JSON pointer), how (added, removed, changed), from and to what",
    "required": ["pointer", "kind"],
    "properties": {
        "pointer": {"type": "string"},
        "kind": {"type": "string"},
        "old": {"description": "The value before (absent when added)"},
        "new": {"description": "The value after (absent when removed)"},
        "layer": {"type": ["string", "null"]},
        "label": {"type": ["string", "null"]},
    },
}
_OPERATION = {
    "type": "object",
    "required": ["method", "path"],
    "properties": {
        "method": {"type": "string"},
        "path": {"type": "string"},
        "operation_id": {"type": ["string", "null"]},
    },
}
VERSION_DIFF = {
    "type": "object",
    "description": "What changed between two versions: descriptor fields, and OpenAPI operations (breaking flagged)",
    "required": ["from", "to", "breaking", "summary", "descriptor", "interface"],
    "properties": {
        "from": {"type": "string", "description": "The earlier version"},
        "to": {"type": "string", "description": "This version"},
        "breaking": {"type": "boolean"},
        "summary": {"type": "string", "examples": ["1 operation removed (breaking); 3 field changes"]},
        "descriptor": {
            "type": "object",
            "properties": {
                "changes": {"type": "array", "items": _CHANGE},
                "layers": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"layer": {"type": "string"}, "changes": {"type": "array", "items": _CHANGE}},
                    },
                },
            },
        },
        "interface": {
            "type": "object",
            "properties": {
                "breaking": {"type": "boolean"},
                "added": {"type": "array", "items": _OPERATION},
                "removed": {"type": "array", "items": _OPERATION},
                "changed": {
                    "type": "array",
                    "items": {
                        **_OPERATION,
                        "properties": {
                            **_OPERATION["properties"],  # type: ignore[dict-item]
                            "old_operation_id": {"type": ["string", "null"]},
                            "breaking": {"type": "boolean"},
                            "changes": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                },
            },
        },
    },
}
"""The shape of GET .../diff, documented here: its view returns a plain dict (catalogue.services.diff)."""
RESPONSE_SCHEMAS = {"diff_version": "VersionDiff"}
"""Views whose 200 answer has no marshmallow schema, and the component that describes it."""

_OPTIONAL_TOKEN: list[dict[str, list[str]]] = [{BEARER: []}, {}]
_REQUIRED_TOKEN: list[dict[str, list[str]]] = [{BEARER: []}]


def operation_id(endpoint: str) -> str:
    """The operationId of a view: its function name in lower camel case (submit_service: submitService)."""
    first, *rest = endpoint.rsplit(".", 1)[-1].split("_")
    return first + "".join(word.capitalize() for word in rest)


@cache
def example_descriptor() -> str:
    """A small valid descriptor, the example of every operation that takes one."""
    return resources.files("catalogue").joinpath("openapi-example.yaml").read_text("utf-8")


@cache
def _example_descriptor_data() -> Any:
    """The example descriptor read once per process (parsing it took a quarter of each app's start)."""
    return yaml.safe_load(example_descriptor())


def _examples(endpoint: str, operation: dict[str, Any]) -> None:
    content = operation.get("requestBody", {}).get("content", {})
    if endpoint in DESCRIPTOR_BODIES:
        operation.setdefault(
            "externalDocs",
            {"description": "The full contract: the CSPA service descriptor's JSON Schema", "url": DESCRIPTOR_SCHEMA},
        )
        text = example_descriptor()
        if "application/yaml" in content:
            content["application/yaml"].setdefault("example", text)
        if "application/json" in content:
            content["application/json"].setdefault("example", copy.deepcopy(_example_descriptor_data()))
    elif endpoint in JSON_EXAMPLES and "application/json" in content:
        content["application/json"].setdefault("example", JSON_EXAMPLES[endpoint])


class SelfDescription(BasePlugin):
    """Adds operationId, security and the 401 and 404 answers to each operation flask-smorest registers."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        rule = kwargs.get("rule")
        if rule is None or operations is None:
            return
        endpoint = rule.endpoint.rsplit(".", 1)[-1]
        for method, operation in operations.items():
            operation.setdefault("operationId", operation_id(endpoint))
            _examples(endpoint, operation)
            required = endpoint in TOKEN_REQUIRED
            operation.setdefault("security", _REQUIRED_TOKEN if required else _OPTIONAL_TOKEN)
            responses = operation.setdefault("responses", {})
            ok = responses.get(200, responses.get("200"))  # flask-smorest keys its responses by number
            if endpoint in RESPONSE_SCHEMAS and isinstance(ok, dict):
                schema = {"$ref": f"#/components/schemas/{RESPONSE_SCHEMAS[endpoint]}"}
                ok.setdefault("content", {"application/json": {"schema": schema}})
            # request_actor refuses an unknown, expired or malformed token on every operation, even a read.
            responses.setdefault("401", "UNAUTHORIZED")
            if rule.arguments:  # a path parameter names something that may not exist (or not be visible)
                responses.setdefault("404", "NOT_FOUND")
            if method == "post" and required:
                responses.setdefault("403", "FORBIDDEN")


def spec_options(base_url: str) -> dict[str, Any]:
    """flask-smorest's API_SPEC_OPTIONS: the servers, the Bearer scheme, and the document's info."""
    return {
        "servers": [
            {
                "url": base_url.rstrip("/") or "/",
                "description": "This catalogue (its CATALOGUE_BASE_URL, or the host that served this document)",
            }
        ],
        "info": {
            "description": (
                "The CSPA Catalogue's REST API: read, search, submit and review statistical services described "
                "by CSPA 2.0 service descriptors (the descriptor's JSON Schema is served at "
                "/schemas/cspa-service-descriptor.schema.json). Errors are application/problem+json (RFC 9457)."
            ),
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "components": {
            "schemas": {"VersionDiff": VERSION_DIFF},
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "An API token made on the Account page or with POST /api/v1/tokens, sent as "
                        "Authorization: Bearer <token>. Its scopes (read, submit) limit what it may do."
                    ),
                }
            },
        },
    }
