"""Every kind of interface a Specification may give: the checks of each, and the cross-check of the
Specification's operations against whichever interfaces are given."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalogue.resources import SCHEMA_FILE
from catalogue.services import descriptors, interface, interfaces, layers, validation
from catalogue.services.interfaces import asyncapi, wsdl
from tests.conftest import DATA

EXAMPLES = DATA / "interfaces"
BAD = Path(__file__).resolve().parents[1] / "corpus" / "bad"


def _load(name: str) -> dict[str, Any]:
    content: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text("utf-8"))
    return content


def _validate(content: dict[str, Any]) -> validation.Report:
    return validation.validate(descriptors.Descriptor(content))


def _errors(report: validation.Report) -> list[tuple[str, str]]:
    return [(p.pointer, p.message) for p in report.errors]


# --- the kinds ----------------------------------------------------------------------------------


def test_every_kind_of_the_schema_has_its_checker() -> None:
    """A kind added to the descriptor schema without a module here fails this test."""
    schema = json.loads(SCHEMA_FILE.read_text("utf-8"))
    in_schema = list(schema["properties"]["specification"]["properties"]["interface"]["properties"])
    assert list(interfaces.KINDS) == in_schema == list(layers.INTERFACE_KINDS)
    for kind, module in interfaces.KINDS.items():
        assert module.POINTER == f"/specification/interface/{kind}"
        assert module.LABEL and callable(module.problems) and callable(module.operations)
    protocols = schema["properties"]["specification"]["properties"]["protocol"]["enum"]
    assert set(interfaces.PROTOCOL_KINDS) <= set(protocols)
    assert set(interfaces.PROTOCOL_KINDS.values()) - {"openapi"} == set(interfaces.KINDS) - {"openapi"}


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_a_good_example_of_each_kind_passes_without_a_warning(name: str) -> None:
    report = validation.validate(descriptors.parse((EXAMPLES / name).read_bytes(), "yaml"))
    assert report.errors == [] and report.warnings == [], (report.errors, report.warnings)


def test_the_examples_cover_every_kind() -> None:
    kinds = {kind for path in EXAMPLES.glob("*.yaml") for kind in layers.interface_kinds(_load(path.name))}
    assert kinds | {"openapi"} == set(
        interfaces.KINDS
    )  # OpenAPI's good examples are tests/data/good.yaml and the corpus


# --- OpenAPI 3.1 against the current published schema -----------------------------------------


def _openapi_31(link: dict[str, Any]) -> dict[str, Any]:
    content = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    content["specification"]["interface"]["openapi"] = {
        "openapi": "3.1.1",
        "info": {"title": "Linkage", "version": "1.0"},
        "paths": {
            "/linkages": {
                "post": {
                    "operationId": "runLinkage",
                    "responses": {"200": {"description": "the linked pairs", "links": {"again": link}}},
                }
            }
        },
    }
    return content


def test_an_openapi_31_link_with_a_server_passes() -> None:
    """The 2022 schema bundled with openapi-spec-validator refuses a Link Object's `server`; the published one
    we ship accepts it."""
    link = {"operationId": "runLinkage", "server": {"url": "https://linkage.example.org"}}
    assert _errors(_validate(_openapi_31(link))) == []


def test_an_openapi_31_link_with_an_unknown_field_still_fails() -> None:
    link = {"operationId": "runLinkage", "body": {"url": "https://linkage.example.org"}}
    errors = _errors(_validate(_openapi_31(link)))
    pointer = "/specification/interface/openapi/paths/~1linkages/post/responses/200/links/again"
    assert [p for p, _m in errors] == [pointer], errors


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("oas31-*.yaml")))
def test_todays_bad_openapi_31_documents_still_fail(name: str) -> None:
    report = validation.validate(descriptors.parse((BAD / name).read_bytes(), "yaml"))
    assert any(p.pointer.startswith("/specification/interface/openapi") for p in report.errors), name


# --- WSDL ---------------------------------------------------------------------------------------


def test_wsdl_operations_are_those_of_its_port_types() -> None:
    text = _load("soap-wsdl.yaml")["specification"]["interface"]["wsdl"]
    (operation,) = wsdl.read(text).operations
    assert (operation.port_type, operation.name, operation.input, operation.output) == (
        "CodingPort",
        "CodeText",
        "CodeIn",
        "CodeOut",
    )
    assert operation.documentation == "Assigns a classification code to a text answer."
    assert [op.name for op in wsdl.operations(text)] == ["CodeText"]


def test_a_wsdl_error_names_the_xml_line_and_points_at_the_wsdl_key() -> None:
    text = (EXAMPLES / "soap-wsdl.yaml").read_text("utf-8").replace('message="tns:CodeOut"', 'message="tns:Nowhere"')
    report = validation.validate(descriptors.parse(text, "yaml"))
    (problem,) = report.errors
    wsdl_key_line = next(i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith("wsdl:"))
    assert problem.pointer == "/specification/interface/wsdl"
    assert problem.line == wsdl_key_line
    assert problem.message.startswith("line 17 of the WSDL: ")
    assert "'tns:Nowhere', which the WSDL does not define" in problem.message


@pytest.mark.parametrize(
    ("xml", "fragment"),
    [
        ('<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"/>', "no portType"),
        ('<description xmlns="http://www.w3.org/ns/wsdl"/>', "WSDL 2.0"),
        ("<html/>", "the root element is 'html'"),
        ('<definitions xmlns="http://schemas.xmlsoap.org/wsdl/">\n<portType>', "line 2 of the WSDL: not well-formed"),
        ("<a>" * 150 + "</a>" * 150, f"nests deeper than {wsdl.MAX_DEPTH}"),
        ("<a>" + "<b/>" * (wsdl.MAX_ELEMENTS + 1) + "</a>", f"more than {wsdl.MAX_ELEMENTS} elements"),
    ],
)
def test_what_is_not_a_readable_wsdl_11_document(xml: str, fragment: str) -> None:
    messages = [p.message for p in wsdl.problems(xml)]
    assert any(fragment in m for m in messages), messages


def test_hostile_wsdl_is_refused_before_anything_is_expanded_or_fetched() -> None:
    for path in sorted(BAD.glob("wsdl-*.yaml")):
        text = yaml.safe_load(path.read_text("utf-8"))["specification"]["interface"]["wsdl"]
        reading = wsdl.read(text)
        assert reading.problems and not reading.complete, path.name
        assert all(m.startswith("line ") for m in reading.problems), reading.problems


def test_an_unreadable_wsdl_does_not_also_report_every_operation_missing() -> None:
    report = validation.validate(descriptors.parse((BAD / "wsdl-billion-laughs.yaml").read_bytes(), "yaml"))
    assert [p.pointer for p in report.errors] == ["/specification/interface/wsdl"]


# --- AsyncAPI -----------------------------------------------------------------------------------

ASYNCAPI_2 = {
    "asyncapi": "2.6.0",
    "info": {"title": "Releases", "version": "1.0"},
    "channels": {
        "releases": {
            "subscribe": {
                "operationId": "onRelease",
                "message": {"payload": {"type": "object", "properties": {"table": {"type": "string"}}}},
            }
        },
        "corrections": {"publish": {"message": {"$ref": "#/components/messages/Correction"}}},
    },
    "components": {"messages": {"Correction": {"payload": {"type": "string"}}}},
}


def test_asyncapi_2_operations_are_operation_ids_or_else_channels() -> None:
    assert [(op.name, op.aliases) for op in asyncapi.operations(ASYNCAPI_2)] == [
        ("onRelease", ("releases",)),
        ("corrections", ()),
    ]
    assert asyncapi.problems(ASYNCAPI_2) == []


def test_asyncapi_3_operations_are_its_operation_keys_with_their_channels() -> None:
    doc = _load("messaging-asyncapi.yaml")["specification"]["interface"]["asyncapi"]
    assert [(op.name, op.aliases) for op in asyncapi.operations(doc)] == [
        ("onDatasetReceived", ("datasetReceived",)),
        ("publishValidation", ("validationDone",)),
    ]


def test_asyncapi_problems_point_into_the_document() -> None:
    doc = copy.deepcopy(_load("messaging-asyncapi.yaml")["specification"]["interface"]["asyncapi"])
    doc["info"].pop("title")
    doc["operations"]["publishValidation"]["action"] = "publish"
    doc["operations"]["onDatasetReceived"]["channel"] = {"$ref": "#/components/messages/DatasetReceived"}
    doc["components"]["messages"]["DatasetReceived"]["payload"]["properties"]["dataset"]["type"] = "text"
    base = "/specification/interface/asyncapi"
    assert {p.pointer for p in asyncapi.problems(doc)} == {
        f"{base}/info/title",
        f"{base}/operations/publishValidation/action",
        f"{base}/operations/onDatasetReceived/channel/$ref",
        f"{base}/components/messages/DatasetReceived/payload/properties/dataset/type",
    }


def test_asyncapi_versions_outside_2_and_3_0_are_refused() -> None:
    for value in ("1.2.0", "3.1.0", 3, None):
        (problem,) = asyncapi.problems({"asyncapi": value, "info": {}})
        assert problem.pointer == "/specification/interface/asyncapi/asyncapi"


def test_an_avro_payload_is_not_read_as_json_schema() -> None:
    doc = copy.deepcopy(ASYNCAPI_2)
    message = doc["channels"]["releases"]["subscribe"]["message"]
    message.update(schemaFormat="application/vnd.apache.avro;version=1.9.0", payload={"type": "record", "fields": []})
    assert asyncapi.problems(doc) == []


# --- command line and library --------------------------------------------------------------------


def test_a_file_naming_no_gsim_12_object_gets_a_hint() -> None:
    content = _load("command-line.yaml")
    files = content["specification"]["interface"]["command_line"]["commands"][0]["inputs"]
    files[0]["gsim"] = "Unit Data Sett"
    files.append({"name": "--codes", "format": "  "})
    errors = _errors(_validate(content))
    base = "/specification/interface/command_line/commands/0/inputs"
    assert (f"{base}/0/gsim", "'Unit Data Sett' is not a GSIM 1.2 object; did you mean 'Unit Data Set'?") in errors
    assert any(p == f"{base}/1/format" for p, _m in errors), errors


def test_duplicate_arguments_of_one_command_are_refused() -> None:
    content = _load("command-line.yaml")
    arguments = content["specification"]["interface"]["command_line"]["commands"][0]["arguments"]
    arguments.append({"name": "--rules"})
    pointers = [p for p, _m in _errors(_validate(content))]
    assert pointers == ["/specification/interface/command_line/commands/0/arguments/2/name"]


def test_library_names_must_be_unique_and_classes_count_by_their_methods() -> None:
    content = _load("library.yaml")
    library = content["specification"]["interface"]["library"]
    library["functions"].append({"name": "createSdcObj"})
    library["functions"].append({"name": "SdcReport"})
    library["classes"][0]["methods"].append({"name": "render"})
    pointers = [p for p, _m in _errors(_validate(content))]
    base = "/specification/interface/library"
    assert pointers == [f"{base}/functions/2/name", f"{base}/functions/3/name", f"{base}/classes/0/methods/1/name"]


def test_a_library_function_the_specification_does_not_list_is_a_warning_at_the_function() -> None:
    """The other direction of the cross-check: a library exports more than the Specification offers (helpers,
    print methods), so a function that is no operation is reported where it stands but does not refuse the
    descriptor, as for an OpenAPI, WSDL, AsyncAPI or command-line operation left unlisted."""
    content = _load("library.yaml")
    content["specification"]["interface"]["library"]["functions"].append({"name": "measureRisk"})
    report = _validate(content)
    assert report.errors == []
    assert [(p.pointer, p.message) for p in report.warnings] == [
        (
            "/specification/interface/library/functions/2",
            "the library operation 'measureRisk' is not listed in specification.operations",
        )
    ]


# --- the cross-check ------------------------------------------------------------------------------


def test_operations_may_come_from_any_interface_given() -> None:
    content = _load("library.yaml")
    content["specification"]["interface"]["command_line"] = _load("command-line.yaml")["specification"]["interface"][
        "command_line"
    ]
    content["specification"]["operations"].append({"id": "check"})
    report = _validate(content)
    assert report.errors == []
    assert [(p.pointer, p.message) for p in report.warnings] == [
        (
            "/specification/interface/command_line/commands/1",
            "the command-line operation 'correct' is not listed in specification.operations",
        )
    ]


def test_an_unknown_operation_names_every_interface_given_and_the_nearest_name() -> None:
    content = _load("library.yaml")
    content["specification"]["interface"]["wsdl"] = _load("soap-wsdl.yaml")["specification"]["interface"]["wsdl"]
    content["specification"]["operations"] = [{"id": "CodeTxt"}, {"id": "SdcReport"}]
    report = _validate(content)
    assert _errors(report) == [
        (
            "/specification/operations/0/id",
            "operation 'CodeTxt' is not an operation of the WSDL or library interface; did you mean 'CodeText'?",
        )
    ]


def test_an_operation_without_any_interface_is_an_error() -> None:
    content = _load("library.yaml")
    content["specification"].pop("interface")
    errors = _errors(_validate(content))
    assert (
        "/specification/operations/0/id",
        "operation 'createSdcObj' is listed but the specification has no interface to define it",
    ) in errors


@pytest.mark.parametrize(
    ("protocol", "example", "kind"),
    [
        ("SOAP", "library.yaml", "wsdl"),
        ("REST", "library.yaml", "openapi"),
        ("messaging", "library.yaml", "asyncapi"),
        ("command-line", "library.yaml", "command_line"),
        ("library", "command-line.yaml", "library"),
    ],
)
def test_a_protocol_without_its_kind_of_interface_is_a_warning(protocol: str, example: str, kind: str) -> None:
    content = _load(example)
    content["specification"]["protocol"] = protocol
    report = _validate(content)
    assert report.errors == []
    (warning,) = [p for p in report.warnings if p.pointer == "/specification/protocol"]
    assert f"specification.interface has no {kind}" in warning.message
    assert "CSPA 2.0 Implementation Guidance" in warning.message


def test_a_batch_service_is_not_told_to_give_an_interface() -> None:
    content = _load("command-line.yaml")
    content["specification"]["protocol"] = "batch"
    assert _validate(content).warnings == []


def test_a_message_that_is_one_of_itself_neither_loops_nor_fails_the_page() -> None:
    doc = copy.deepcopy(ASYNCAPI_2)
    doc["components"]["messages"]["Correction"] = {"oneOf": [{"$ref": "#/components/messages/Correction"}]}
    assert asyncapi.problems(doc) == []
    reading = interface.asyncapi_interface(doc)
    assert reading is not None and [op.name for op in reading.operations] == ["onRelease", "corrections"]
