"""One JSON-pointer resolver (RFC 6901, with URI fragments percent-decoded as RFC 3986 says), used alike by the
validator, the service page's reading of an OpenAPI document and the comparison of two versions."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from catalogue.auth import actors
from catalogue.db import db
from catalogue.services import descriptors, diff, interface, json_pointer, validation, workflow
from tests.conftest import DATA

# The example document of RFC 6901, section 5, with every pointer and value it lists.
RFC_DOCUMENT = {
    "foo": ["bar", "baz"],
    "": 0,
    "a/b": 1,
    "c%d": 2,
    "e^f": 3,
    "g|h": 4,
    "i\\j": 5,
    'k"l': 6,
    " ": 7,
    "m~n": 8,
}
RFC_POINTERS = [
    ("", RFC_DOCUMENT),
    ("/foo", ["bar", "baz"]),
    ("/foo/0", "bar"),
    ("/", 0),
    ("/a~1b", 1),
    ("/c%d", 2),
    ("/e^f", 3),
    ("/g|h", 4),
    ("/i\\j", 5),
    ('/k"l', 6),
    ("/ ", 7),
    ("/m~0n", 8),
]
# The same, written as URI fragments (section 6).
RFC_FRAGMENTS = [
    ("#", RFC_DOCUMENT),
    ("#/foo", ["bar", "baz"]),
    ("#/foo/0", "bar"),
    ("#/", 0),
    ("#/a~1b", 1),
    ("#/c%25d", 2),
    ("#/e%5Ef", 3),
    ("#/g%7Ch", 4),
    ("#/i%5Cj", 5),
    ("#/k%22l", 6),
    ("#/%20", 7),
    ("#/m~0n", 8),
]


@pytest.mark.parametrize(("pointer", "expected"), RFC_POINTERS)
def test_every_pointer_of_the_rfc_example_resolves(pointer: str, expected: Any) -> None:
    assert json_pointer.resolve(RFC_DOCUMENT, pointer) == expected


@pytest.mark.parametrize(("ref", "expected"), RFC_FRAGMENTS)
def test_every_fragment_of_the_rfc_example_resolves(ref: str, expected: Any) -> None:
    assert json_pointer.follow(RFC_DOCUMENT, ref) == expected


def test_escapes_are_undone_in_the_order_the_rfc_gives() -> None:
    # "~01" is "~" then "1" (the text "~1"), never "/": ~1 is undone before ~0.
    assert json_pointer.tokens("/a~1b/m~0n/~01") == ["a/b", "m~n", "~1"]
    assert json_pointer.escape("~1/") == "~01~1"
    assert json_pointer.join("/paths", ["/pets/{id}", "get", 0]) == "/paths/~1pets~1{id}/get/0"
    for token in ("plain", "a/b", "m~n", "~1", "~0/~1", ""):
        assert json_pointer.tokens(json_pointer.join("", [token])) == [token]


def test_a_percent_escape_is_decoded_before_the_pointer_is_read() -> None:
    document = {"components": {"responses": {"Ok Reply": "found", "a/b": "slash", "a~b": "tilde"}}}
    assert json_pointer.follow(document, "#/components/responses/Ok%20Reply") == "found"
    assert json_pointer.follow(document, "#/components/responses/a~1b") == "slash"
    assert json_pointer.follow(document, "#/components/responses/a%7E1b") == "slash"  # %7E is ~
    assert json_pointer.follow(document, "#/components/responses/a%7E0b") == "tilde"
    # Outside a fragment nothing is percent-decoded: "%20" is three characters of a key.
    with pytest.raises(json_pointer.PointerError):
        json_pointer.resolve(document, "/components/responses/Ok%20Reply")


def test_array_indexes_are_decimal_without_sign_or_leading_zero() -> None:
    document = {"list": ["a", "b", "c"]}
    assert json_pointer.resolve(document, "/list/2") == "c"
    for index in ("3", "-", "01", "-1", "+1", "1.0", "²", "١"):
        with pytest.raises(json_pointer.PointerError):
            json_pointer.resolve(document, f"/list/{index}")
    # A key that looks like an index is still a key of a mapping.
    assert json_pointer.resolve({"01": "kept"}, "/01") == "kept"


def test_missing_places_and_malformed_pointers_are_errors_not_values() -> None:
    document = {"a": {"b": None}, "s": "text"}
    assert json_pointer.resolve(document, "/a/b") is None  # a null found is not a miss
    for pointer in ("/a/c", "/a/b/c", "/s/0", "/x", "a", "/a~2", "/a~"):
        with pytest.raises(json_pointer.PointerError):
            json_pointer.resolve(document, pointer)
    with pytest.raises(json_pointer.PointerError):
        json_pointer.follow(document, "#/a%FF")  # not UTF-8 once decoded
    with pytest.raises(json_pointer.PointerError, match="nothing is at '/a/c'"):
        json_pointer.resolve(document, "/a/c/d")


def test_references_to_another_document_are_never_followed() -> None:
    for ref in ("https://example.org/api.yaml#/components", "other.yaml#/a", "other.yaml", ""):
        assert not json_pointer.is_local(ref)
        with pytest.raises(json_pointer.NotLocal):
            json_pointer.follow({"a": 1}, ref)


def test_the_name_a_reference_ends_with_is_decoded() -> None:
    assert json_pointer.last_token("#/components/schemas/Ok%20Reply") == "Ok Reply"
    assert json_pointer.last_token("#/definitions/a~1b") == "a/b"
    assert json_pointer.last_token("#") is None
    assert json_pointer.last_token("https://example.org/x.json#/Thing") is None


# --- through the entry points -------------------------------------------------------------------------

REFERENCED = "#/components/responses/Ok%20Reply"


def _openapi(ref: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Linkage", "version": "1.0"},
        "paths": {"/linkages": {"post": {"operationId": "runLinkage", "responses": {"200": {"$ref": ref}}}}},
        "components": {
            "responses": {
                "Ok Reply": {
                    "description": "the linked pairs, by reference",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Linked%20Pair"}}},
                }
            },
            "schemas": {"Linked Pair": {"type": "object", "properties": {"left_unit": {"type": "string"}}}},
        },
    }


def _descriptor_with(openapi: dict[str, Any]) -> dict[str, Any]:
    content = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    content["specification"]["interface"]["openapi"] = openapi
    return content


def _descriptor(ref: str) -> dict[str, Any]:
    return _descriptor_with(_openapi(ref))


def test_a_percent_encoded_reference_passes_validation_and_a_wrong_one_does_not(client: FlaskClient) -> None:
    report = validation.validate(descriptors.Descriptor(_descriptor(REFERENCED)))
    assert report.valid, report.errors
    answer = client.post(
        "/api/v1/validate", data=yaml.safe_dump(_descriptor(REFERENCED)), content_type="application/yaml"
    )
    assert answer.status_code == 200 and answer.json["valid"] is True, answer.json
    wrong = validation.validate(descriptors.Descriptor(_descriptor("#/components/responses/Ok%20Replies")))
    assert [p.message for p in wrong.errors if p.pointer.endswith("/200/$ref")] == [
        "the reference '#/components/responses/Ok%20Replies' does not resolve to anything in the document"
    ]


def test_the_service_page_follows_a_percent_encoded_reference_that_passed_validation(app: Flask) -> None:
    text = yaml.safe_dump(_descriptor(REFERENCED), sort_keys=False)
    descriptor = descriptors.parse(text.encode(), "yaml", descriptors.Limits())
    with app.app_context(), db.transaction() as session:
        workflow.submit_version(session, actors.SYSTEM, descriptor, "yaml", status="approved")
    page = app.test_client().get("/services/demo-linkage").get_data(as_text=True)
    assert "the linked pairs, by reference" in page
    assert "points to nothing" not in page
    assert 'class="ref-name">Linked Pair</span>' in page and '<code class="prop">left_unit</code>' in page


def test_validator_page_and_comparison_agree_on_which_references_lead_somewhere() -> None:
    """Each reference the validator accepts is followed by the page and the comparison; each it refuses is not."""
    written = {"Ok Reply": REFERENCED, "a/b": "#/components/responses/a~1b", "tilde": "#/components/responses/a%7E0b"}
    for key, ref in [*written.items(), ("missing", "#/components/responses/Ok%2520Reply"), ("root", "#/")]:
        document = _openapi(ref)
        document["components"]["responses"]["a/b"] = document["components"]["responses"]["Ok Reply"]
        document["components"]["responses"]["a~b"] = document["components"]["responses"]["Ok Reply"]
        accepted = not [
            p
            for p in validation.validate(descriptors.Descriptor(_descriptor_with(document))).errors
            if p.pointer.endswith("/$ref")
        ]
        [operation] = interface.operations(document)
        shown = operation.responses[0].description == "the linked pairs, by reference"
        # The comparison sees a property removed behind the reference only when it follows the reference.
        narrower = copy.deepcopy(document)
        del narrower["components"]["schemas"]["Linked Pair"]["properties"]["left_unit"]
        compared = bool(diff.diff_interfaces(document, narrower).changed)
        assert (accepted, shown, compared) == ((key in written),) * 3, key
