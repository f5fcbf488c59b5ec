"""The machine-readable interfaces a Specification may give, one module per kind, and the cross-check of the
Specification's operations against them.

Each kind's module has the same face: `POINTER` (where it is in a descriptor), `LABEL` (its name for people),
`problems(value)` (what is wrong with it, never fetching anything) and `operations(value)` (what it declares).
validation.py is the one entry point that calls them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from catalogue.exceptions import Problem
from catalogue.services.interfaces import asyncapi, command_line, library, openapi, wsdl
from catalogue.services.interfaces.declared import Operation

KINDS: dict[str, ModuleType] = {
    "openapi": openapi,
    "wsdl": wsdl,
    "asyncapi": asyncapi,
    "command_line": command_line,
    "library": library,
}
"""Every kind of interface, in the descriptor schema's order (tests check it against the schema)."""

PROTOCOL_KINDS = {
    "REST": "openapi",
    "SOAP": "wsdl",
    "messaging": "asyncapi",
    "command-line": "command_line",
    "library": "library",
}
"""The interface each protocol calls for. CSPA 2.0 Implementation Guidance §II: SOAP (WS-I) services are
described by WSDL, REST services by Swagger (OpenAPI); messaging, command-line and library services by the
form made for them."""

__all__ = ["KINDS", "PROTOCOL_KINDS", "Operation", "given", "operation_problems", "problems", "protocol_warnings"]


def given(specification: dict[str, Any]) -> dict[str, Any]:
    """kind → value for every kind of interface the Specification gives."""
    interface = specification.get("interface")
    if not isinstance(interface, dict):
        return {}
    return {kind: interface[kind] for kind in KINDS if kind in interface}


def problems(specification: dict[str, Any]) -> list[Problem]:
    """Every problem of every interface the Specification gives."""
    return [problem for kind, value in given(specification).items() for problem in KINDS[kind].problems(value)]


def _declared(specification: dict[str, Any]) -> list[tuple[str, Operation]]:
    return [(kind, op) for kind, value in given(specification).items() for op in KINDS[kind].operations(value)]


def _readable(kind: str, value: Any) -> bool:
    """Whether the interface could be read, so that what it declares is known (a WSDL refused for a DTD is
    not: its own error says why, and its operations are not reported missing on top)."""
    check = getattr(KINDS[kind], "readable", None)
    return check is None or bool(check(value))


def _unknown(op_id: str, kinds: list[str], names: list[str]) -> str:
    labels = " or ".join(dict.fromkeys(KINDS[kind].LABEL for kind in kinds))
    message = f"operation {op_id!r} is not an operation of the {labels} interface"
    hint = difflib.get_close_matches(op_id, names, n=1)
    return message + f"; did you mean {hint[0]!r}?" if hint else message


def operation_problems(specification: dict[str, Any]) -> tuple[list[Problem], list[Problem]]:
    """Errors for listed operations no interface given declares; warnings for declared operations left unlisted."""
    operations = specification.get("operations")
    if not isinstance(operations, list):
        return [], []
    kinds = list(given(specification))
    declared = _declared(specification)
    names = {name for _kind, op in declared for name in op.names}
    errors: list[Problem] = []
    listed: set[str] = set()
    for i, op in enumerate(operations):
        op_id = op.get("id") if isinstance(op, dict) else None
        if not isinstance(op_id, str):
            continue
        listed.add(op_id)
        pointer = f"/specification/operations/{i}/id"
        if not kinds:
            message = f"operation {op_id!r} is listed but the specification has no interface to define it"
            errors.append(Problem(pointer, message, "reference"))
        elif op_id not in names and all(_readable(kind, value) for kind, value in given(specification).items()):
            errors.append(Problem(pointer, _unknown(op_id, kinds, sorted(names)), "reference"))
    warnings = [
        Problem(
            op.pointer,
            f"the {KINDS[kind].LABEL} operation {op.name!r} is not listed in specification.operations",
            "reference",
        )
        for kind, op in declared
        if not listed.intersection(op.names)
    ]
    return errors, warnings


def protocol_warnings(specification: dict[str, Any]) -> Iterator[Problem]:
    """A warning when the protocol calls for a kind of interface the Specification does not give."""
    protocol = specification.get("protocol")
    kind = PROTOCOL_KINDS.get(protocol) if isinstance(protocol, str) else None
    if kind is None or kind in given(specification):
        return
    message = (
        f"the protocol is {protocol} but specification.interface has no {kind}: give the service's "
        f"{KINDS[kind].LABEL} description so that its operations can be checked (CSPA 2.0 Implementation Guidance, §II)"
    )
    yield Problem("/specification/protocol", message, "reference")
