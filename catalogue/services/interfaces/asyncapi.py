"""AsyncAPI 2.x and 3.0 (messaging services): the checks of the parts the catalogue reads, and its operations.

CSPA 2.0 Implementation Guidance (§II.4) recommends asynchronous queuing and event-driven messaging; AsyncAPI is
how such a service describes its channels, operations and messages. No maintained Python package validates
AsyncAPI documents with pointers (the Pydantic models on the package index check shapes, not references, and
report no JSON pointers), so the catalogue checks what it reads: the `asyncapi` version, info (title,
version), channels, operations (3.0: action send or receive and a channel reference; 2.x: publish and
subscribe with their operationId), messages and their payloads (each a valid JSON Schema). Every `$ref`
must point inside the document (`#...`); remote and file references are refused and never fetched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from catalogue.exceptions import Problem
from catalogue.services import json_pointer
from catalogue.services.interfaces.declared import INTERFACE_POINTER, Operation
from catalogue.services.json_pointer import join as join_pointer
from catalogue.services.readable import brief, readable_message

POINTER = f"{INTERFACE_POINTER}/asyncapi"
LABEL = "AsyncAPI"
_JSON_SCHEMA_FORMATS = re.compile(
    r"^application/(schema\+json|schema\+yaml|vnd\.aai\.asyncapi(\+json|\+yaml)?)(;version=.*)?$"
)


def _at(*path: Any) -> str:
    return join_pointer(POINTER, path)


def version(doc: Any) -> str | None:
    """'2' or '3' for an AsyncAPI 2.x or 3.0 document, else None."""
    value = doc.get("asyncapi") if isinstance(doc, dict) else None
    if isinstance(value, str):
        if re.fullmatch(r"2\.\d+\.\d+", value):
            return "2"
        if re.fullmatch(r"3\.0\.\d+", value):
            return "3"
    return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ref_problems(doc: dict[str, Any]) -> list[Problem]:
    found = [
        Problem(_at(*path, "$ref"), message, "asyncapi")
        for path, message in json_pointer.unfollowed_references(doc, "document")
    ]
    return sorted(found, key=lambda p: p.pointer)


def _resolve(doc: dict[str, Any], value: Any) -> Any:
    """value with a local reference followed (a few steps at most); anything else as it is."""
    for _ in range(8):
        if not (isinstance(value, dict) and isinstance(value.get("$ref"), str)):
            return value
        try:
            value = json_pointer.follow(doc, value["$ref"])
        except json_pointer.PointerError:
            return None  # reported by _ref_problems
    return None


def _info_problems(doc: dict[str, Any]) -> Iterator[Problem]:
    info = doc.get("info")
    if not isinstance(info, dict):
        yield Problem(_at("info"), "the document has no info object (with a title and a version)", "asyncapi")
        return
    for key in ("title", "version"):
        if not isinstance(info.get(key), str) or not info[key].strip():
            yield Problem(_at("info", key), f"info.{key} is missing or not text", "asyncapi")


@cache
def _schema_checker() -> Any:
    # Imported here: only validation needs jsonschema (see validation's module docstring).
    import jsonschema

    return jsonschema.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA)


def _payload_problems(message: dict[str, Any], path: tuple[Any, ...]) -> Iterator[Problem]:
    if "payload" not in message:
        return
    schema_format = message.get("schemaFormat")
    payload = message["payload"]
    if isinstance(payload, dict) and "schemaFormat" in payload and "schema" in payload:  # 3.0 multi-format schema
        schema_format, payload, path = payload["schemaFormat"], payload["schema"], (*path, "payload", "schema")
    else:
        path = (*path, "payload")
    if isinstance(schema_format, str) and not _JSON_SCHEMA_FORMATS.match(schema_format):
        return  # Avro, RAML or Protobuf schemas are not checked here
    if not isinstance(payload, (dict, bool)):
        yield Problem(_at(*path), "a message payload must be a schema (an object)", "asyncapi")
        return
    for error in _schema_checker().iter_errors(payload):
        message_text = readable_message(f"the payload is not a valid JSON Schema: {error.message}", error.instance)
        yield Problem(_at(*path, *error.absolute_path), message_text, "asyncapi")


def _message_problems(doc: dict[str, Any], message: Any, path: tuple[Any, ...]) -> Iterator[Problem]:
    if isinstance(message, dict) and "$ref" in message:
        return  # checked where it is defined
    if isinstance(message, dict) and isinstance(message.get("oneOf"), list):  # 2.x: one of several messages
        for i, option in enumerate(message["oneOf"]):
            yield from _message_problems(doc, option, (*path, "oneOf", i))
        return
    resolved = message
    if not isinstance(resolved, dict):
        yield Problem(_at(*path), "a message must be an object", "asyncapi")
        return
    yield from _payload_problems(resolved, path)


def _v2_operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, tuple[Any, ...], dict[str, Any]]]:
    """(channel, publish or subscribe, path, operation) for every operation of a 2.x document."""
    for channel, item in _mapping(doc.get("channels")).items():
        resolved = _mapping(_resolve(doc, item))
        for action in ("publish", "subscribe"):
            if isinstance(resolved.get(action), dict):
                yield str(channel), action, ("channels", channel, action), resolved[action]


def _v2_problems(doc: dict[str, Any]) -> Iterator[Problem]:
    if not isinstance(doc.get("channels"), dict):
        yield Problem(_at("channels"), "an AsyncAPI 2 document must have channels (an object)", "asyncapi")
        return
    seen: dict[str, str] = {}
    for _channel, _action, path, operation in _v2_operations(doc):
        op_id = operation.get("operationId")
        if op_id is not None and not isinstance(op_id, str):
            yield Problem(_at(*path, "operationId"), "operationId must be text", "asyncapi")
        elif isinstance(op_id, str):
            if op_id in seen:
                yield Problem(_at(*path, "operationId"), f"operationId {op_id!r} is used twice", "asyncapi")
            seen.setdefault(op_id, _at(*path))
        if "message" in operation:
            yield from _message_problems(doc, operation["message"], (*path, "message"))
    for name, message in _mapping(_mapping(doc.get("components")).get("messages")).items():
        yield from _message_problems(doc, message, ("components", "messages", name))


def _channel_of(doc: dict[str, Any], operation: dict[str, Any]) -> str | None:
    """The key of the channel a 3.0 operation refers to (#/channels/NAME), if it does."""
    ref = _mapping(operation.get("channel")).get("$ref")
    if isinstance(ref, str) and ref.startswith("#/channels/"):
        return json_pointer.last_token(ref)
    return None


def _v3_operation_problems(doc: dict[str, Any], name: str, operation: Any) -> Iterator[Problem]:
    path = ("operations", name)
    operation = _resolve(doc, operation)
    if not isinstance(operation, dict):
        yield Problem(_at(*path), "an operation must be an object", "asyncapi")
        return
    if operation.get("action") not in ("send", "receive"):
        message = f"action must be 'send' or 'receive', not {brief(operation.get('action'))}"
        yield Problem(_at(*path, "action"), message, "asyncapi")
    if not isinstance(_mapping(operation.get("channel")).get("$ref"), str):
        yield Problem(_at(*path, "channel"), "an operation needs a channel: {$ref: '#/channels/NAME'}", "asyncapi")
    elif _channel_of(doc, operation) is None:
        message = "the channel must be a reference to one of the document's channels (#/channels/NAME)"
        yield Problem(_at(*path, "channel", "$ref"), message, "asyncapi")
    messages = operation.get("messages")
    if messages is not None and not isinstance(messages, list):
        yield Problem(_at(*path, "messages"), "messages must be a list of references", "asyncapi")


def _v3_problems(doc: dict[str, Any]) -> Iterator[Problem]:
    channels = doc.get("channels", {})
    if not isinstance(channels, dict):
        yield Problem(_at("channels"), "channels must be an object", "asyncapi")
        channels = {}
    operations = doc.get("operations", {})
    if not isinstance(operations, dict):
        yield Problem(_at("operations"), "operations must be an object", "asyncapi")
        operations = {}
    for name, operation in operations.items():
        yield from _v3_operation_problems(doc, str(name), operation)
    for channel, item in channels.items():
        for name, message in _mapping(_mapping(_resolve(doc, item)).get("messages")).items():
            yield from _message_problems(doc, message, ("channels", channel, "messages", name))
    for name, message in _mapping(_mapping(doc.get("components")).get("messages")).items():
        yield from _message_problems(doc, message, ("components", "messages", name))


def problems(doc: Any) -> list[Problem]:
    """Every problem of an AsyncAPI document in the parts the catalogue reads; nothing is fetched."""
    if not isinstance(doc, dict):
        return []  # the descriptor schema reports a document of the wrong type
    major = version(doc)
    if major is None:
        message = f"no recognised AsyncAPI version: give `asyncapi: 3.0.0` (or 2.x.y), not {brief(doc.get('asyncapi'))}"
        return [Problem(_at("asyncapi"), message, "asyncapi")]
    found = _ref_problems(doc)
    found.extend(_info_problems(doc))
    found.extend(_v3_problems(doc) if major == "3" else _v2_problems(doc))
    return found


def operations(doc: Any) -> list[Operation]:
    """3.0: the operations' keys (their channel as another name); 2.x: the operationIds, or the channel's
    name for an operation without one."""
    if not isinstance(doc, dict):
        return []
    found: dict[str, Operation] = {}
    if version(doc) == "3":
        for name, operation in _mapping(doc.get("operations")).items():
            channel = _channel_of(doc, _mapping(_resolve(doc, operation)))
            found.setdefault(str(name), Operation(str(name), _at("operations", name), (channel,) if channel else ()))
    elif version(doc) == "2":
        for channel, _action, path, operation in _v2_operations(doc):
            op_id = operation.get("operationId")
            if isinstance(op_id, str):
                found.setdefault(op_id, Operation(op_id, _at(*path), (channel,)))
            else:
                found.setdefault(channel, Operation(channel, _at(*path)))
    return list(found.values())
