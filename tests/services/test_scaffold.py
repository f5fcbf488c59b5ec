"""`catalogue scaffold`: a descriptor skeleton from a bare OpenAPI document; filled in, it validates."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.services import descriptors, validation
from catalogue.services.scaffold import (
    SKELETON_KINDS,
    ScaffoldRefused,
    Skeleton,
    scaffold,
    semantic_version,
    service_id,
    skeleton_for,
)
from tests.conftest import CORPUS

VERDICTS = json.loads((CORPUS / "verdicts.json").read_text("utf-8"))["files"]
VALID = sorted(name for name, verdict in VERDICTS.items() if verdict["valid"])
OUTSIDE_REFS = ["osv-v2.0-missing-reference.yaml", "osv-v3.0-property-missing-reference.yaml"]

# What a submitter would write in place of each TODO, by the field's name.
ANSWERS: dict[str, Any] = {
    "id": "scaffolded-service",
    "version": "1.0.0",
    "name": "A scaffolded service",
    "purpose": "Serves the operations of its OpenAPI document to statistical production.",
    "description": "Longer words.",
    "keywords": ["scaffold"],
    "gsbpm": ["5.1"],
    "business_function": "Integrate data",
    "outcomes": ["Linked data"],
    "inputs": [{"gsim": "Unit Data Set", "description": "records"}],
    "outputs": [{"gsim": "Data Set", "description": "results"}],
    "restrictions": "None known.",
    "dependencies": ["none"],
    "owner": "ISTAT",
    "owner_name": "Italian National Institute of Statistics",
    "country": "IT",
    "technology": ["Python"],
    "licence": "EUPL-1.2",
    "deployment": ["container"],
    "documentation": "https://example.org/docs",
    "source": "https://example.org/src",
    "maturity": "pilot",
    "email": "team@example.org",
    "operations": [],  # only when the document has no operationId at all: nothing to list yet
    "input_messages": [{"name": "records", "gsim": "Unit Data Set", "format": "text/csv"}],
    "output_messages": [{"name": "results", "gsim": "Data Set", "format": "application/json"}],
    "methodologies": [{"name": "Fellegi-Sunter record linkage"}],
    "builder": "Statistics Netherlands",
    "software_version": "2.1.0",
    "formats": {"accepts": ["text/csv"], "produces": ["application/json"]},
    "distributions": [{"kind": "container", "image": "registry.example.org/example/service:2.1.0"}],
    "language": "R",
    "package": "sdcMicro",
    "functions": [{"name": "createSdcObj", "description": "Builds the object holding the data."}],
    "program": "banffprocessor",
    "commands": [{"name": "banffprocessor", "usage": "banffprocessor JOB.json"}],
}


def fill(skeleton: Skeleton) -> dict[str, Any]:
    """The skeleton's content with every TODO answered, found by the pointers the skeleton reports."""
    content = yaml.safe_load(skeleton.text)
    for pointer in skeleton.todo:
        *parents, last = pointer.lstrip("/").split("/")
        target = content
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        assert target[last] is None, pointer  # a TODO is a null until answered
        target[last] = "Does what it says." if pointer.startswith("/specification/operations/") else ANSWERS[last]
    return content


@pytest.mark.parametrize("name", VALID)
def test_a_filled_skeleton_of_every_valid_corpus_document_validates(name):
    skeleton = scaffold((CORPUS / name).read_bytes(), "yaml", source=name)
    unfilled = validation.validate(descriptors.parse(skeleton.text, "yaml"))
    flagged = {p.pointer for p in unfilled.errors}
    # The validator flags every TODO left in place.
    assert all(any(f == t or f.startswith(t + "/") for f in flagged) for t in skeleton.todo), (skeleton.todo, flagged)
    content = fill(skeleton)
    report = validation.validate(descriptors.Descriptor(content=content))
    assert report.valid, [(p.pointer, p.message) for p in report.errors]
    # The document inline, as the registry reads it (keys such as 200: are the string "200").
    assert content["specification"]["interface"]["openapi"] == descriptors.parse((CORPUS / name).read_bytes()).content
    assert content["specification"]["protocol"] == "REST"
    listed = [op["id"] for op in content["specification"].get("operations") or []]
    assert sorted(listed) == sorted(validation.openapi_operations(content["specification"]["interface"]["openapi"]))


def test_name_version_operations_come_from_the_document():
    skeleton = scaffold((CORPUS / "oai-v3.0-petstore.yaml").read_bytes())
    content = yaml.safe_load(skeleton.text)
    assert (content["id"], content["version"], content["definition"]["name"]) == (
        "swagger-petstore",
        "1.0.0",
        "Swagger Petstore",
    )
    assert [op["id"] for op in content["specification"]["operations"]] == ["listPets", "createPets", "showPetById"]
    assert content["specification"]["operations"][0]["description"] == "List all pets"
    assert "/definition/purpose" in skeleton.todo and "/implementation/owner" in skeleton.todo
    assert "purpose: ~  # TODO:" in skeleton.text
    # The document names MIT: the hint says so, but the licence of the implementation is for the submitter.
    assert "(the OpenAPI document names 'MIT')" in skeleton.text


def test_operations_without_an_operation_id_are_listed_as_todo_comments_not_invented():
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "Mixed", "version": "1.0.0"},
        "paths": {
            "/a": {
                "get": {"operationId": "getA", "responses": {"200": {"description": "ok"}}},
                "post": {"responses": {"200": {"description": "ok"}}},
            },
            "/b": {"delete": {"responses": {"204": {"description": "gone"}}}},
        },
    }
    skeleton = scaffold(json.dumps(doc), "json")
    assert skeleton.unnamed_operations == ["POST /a", "DELETE /b"]
    for where in skeleton.unnamed_operations:
        assert f"# TODO: {where} has no operationId" in skeleton.text
    content = yaml.safe_load(skeleton.text)
    assert [op["id"] for op in content["specification"]["operations"]] == ["getA"]
    # With no operationId at all, the operations are one TODO the validator flags.
    callbacks = scaffold((CORPUS / "oai-v3.0-callback-example.yaml").read_bytes())
    assert "/specification/operations" in callbacks.todo
    assert "# TODO: POST /streams has no operationId" in callbacks.text


@pytest.mark.parametrize("name", OUTSIDE_REFS)
def test_references_outside_the_document_are_refused(name):
    with pytest.raises(ScaffoldRefused) as refused:
        scaffold((CORPUS / name).read_bytes())
    assert all(
        "points outside the document" in p.message and p.pointer.endswith("/$ref") for p in refused.value.problems
    )


def test_not_openapi_and_unsafe_yaml_are_refused():
    with pytest.raises(ScaffoldRefused):
        scaffold(b"title: not an api\n")
    with pytest.raises(descriptors.DescriptorError):
        scaffold(b"openapi: 3.0.3\ninfo: !!python/object:os.system {}\n")
    bomb = b'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n'
    with pytest.raises(descriptors.DescriptorError):
        scaffold(bomb, limits=descriptors.Limits(max_nodes=500))


def test_text_from_the_document_cannot_break_out_of_its_place():
    doc = {
        "openapi": "3.0.3",
        "info": {"title": 'Evil\nowner: HACK # "', "version": "1.0"},
        "paths": {"/a\nimplementation: {owner: HACK}": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }
    skeleton = scaffold(json.dumps(doc), "json")
    content = yaml.safe_load(skeleton.text)
    assert content["definition"]["name"] == 'Evil\nowner: HACK # "'
    assert content["implementation"]["owner"] is None
    assert content["specification"]["interface"]["openapi"] == doc


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.0", "1.0.0"),
        ("v2", "2.0.0"),
        ("2.2.2", "2.2.2"),
        ("0.1", "0.1.0"),
        ("1.0.0-beta.1", "1.0.0-beta.1"),
        (3, "3.0.0"),
        ("1.2.3.4", "1.2.3"),
        ("latest", None),
        (None, None),
    ],
)
def test_versions_become_semantic_versions(raw, expected):
    assert semantic_version(raw) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Swagger Petstore", "swagger-petstore"),
        ("SDMX RESTful API, v2.2.2", "sdmx-restful-api-v2-2-2"),
        ("Données épurées", "donnees-epurees"),
        ("!", None),
        (None, None),
    ],
)
def test_ids_from_titles(title, expected):
    assert service_id(title) == expected


def test_the_command_writes_the_skeleton_and_reports_refusals(tmp_path):
    # The command needs no database; the instance folder it would create goes to tmp_path.
    runner = CliRunner(env={"CATALOGUE_INSTANCE_PATH": str(tmp_path / "instance")})
    out = tmp_path / "cspa.yaml"
    result = runner.invoke(main, ["scaffold", str(CORPUS / "oai-v3.0-petstore.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text("utf-8"))["id"] == "swagger-petstore"
    printed = runner.invoke(main, ["scaffold", str(CORPUS / "oai-v3.0-petstore.yaml")])
    assert printed.exit_code == 0 and printed.output.startswith("# CSPA descriptor skeleton")
    refused = runner.invoke(main, ["scaffold", str(CORPUS / OUTSIDE_REFS[0]), "-o", str(tmp_path / "x.yaml")])
    assert refused.exit_code == 1 and "points outside the document" in refused.output
    assert not (tmp_path / "x.yaml").exists()
    # The unfilled skeleton does not pass `catalogue validate`.
    assert runner.invoke(main, ["validate", str(out)]).exit_code == 1


@pytest.mark.parametrize("kind", SKELETON_KINDS)
def test_a_library_or_command_line_skeleton_validates_once_filled(kind):
    skeleton = skeleton_for(kind)
    unfilled = validation.validate(descriptors.parse(skeleton.text, "yaml"))
    flagged = {p.pointer for p in unfilled.errors}
    assert all(any(f == t or f.startswith(t + "/") for f in flagged) for t in skeleton.todo), (skeleton.todo, flagged)
    assert f"/specification/interface/{kind}/{'package' if kind == 'library' else 'program'}" in skeleton.todo
    content = fill(skeleton)
    # Operations of a library or command line name its functions or commands; left empty here, since the
    # validator on this branch cross-checks operations against OpenAPI documents only.
    content["specification"].pop("operations")
    report = validation.validate(descriptors.Descriptor(content=content))
    assert report.valid, [(p.pointer, p.message) for p in report.errors]
    assert "/definition/dependencies" in skeleton.todo and "/implementation/distributions" in skeleton.todo


def test_the_scaffold_command_writes_a_library_skeleton(tmp_path):
    out = tmp_path / "library.yaml"
    result = CliRunner().invoke(main, ["scaffold", "--kind", "library", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text("utf-8"))["specification"]["protocol"] == "library"
    assert "TODOs to fill" in result.output
    assert CliRunner().invoke(main, ["scaffold"]).exit_code == 2  # neither a document nor a kind
