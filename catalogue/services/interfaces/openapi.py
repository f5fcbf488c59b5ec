"""OpenAPI (Swagger 2.0, OpenAPI 3.0, 3.1): its operations, and the checks of the document.

The checks themselves live in openapi_rules, imported on the first document to check: they pull
openapi_spec_validator, jsonschema-rs and pydantic (~21 MB), which a worker that only serves reads never needs.
"""

from __future__ import annotations

from typing import Any

from catalogue.exceptions import Problem
from catalogue.services.interfaces.declared import INTERFACE_POINTER, Operation
from catalogue.services.json_pointer import join as join_pointer

POINTER = f"{INTERFACE_POINTER}/openapi"
LABEL = "OpenAPI"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operations(doc: Any) -> list[Operation]:
    """Every operation with an operationId, in document order (the first of a repeated id)."""
    found: dict[str, Operation] = {}
    paths = doc.get("paths") if isinstance(doc, dict) else None
    if not isinstance(paths, dict):
        return []
    for url, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict) and isinstance(operation.get("operationId"), str):
                name = operation["operationId"]
                found.setdefault(name, Operation(name, join_pointer(POINTER, ("paths", url, method))))
    return list(found.values())


def problems(doc: Any) -> list[Problem]:
    """Every problem of the document; no reference in it is ever fetched or opened."""
    if not isinstance(doc, dict):
        return []  # the descriptor schema reports a document of the wrong type
    from catalogue.services.interfaces import openapi_rules

    return openapi_rules.problems(doc)
