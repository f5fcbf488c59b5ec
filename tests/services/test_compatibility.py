"""Compatibility (issue 14, item 2): every descriptor valid before linked layers stays valid and means the same,
read as a bundle of its three layers; `catalogue upgrade` rewrites one in the current form, keeping the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from catalogue.cli import main
from catalogue.db import database_of
from catalogue.services import descriptors, layers, upgrade, workflow
from catalogue.services.models import ServiceVersion

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted((ROOT / "seed_services").glob("*.yaml"))


def _of_todays_form(path: Path) -> bool:
    """Whether a descriptor is of the form before linked layers: no layer with an id of its own or a ref (the
    seeds that share a Definition use the new form; the seeded test below checks them)."""
    content = yaml.safe_load(path.read_text("utf-8"))
    return not any(isinstance(content.get(kind), dict) and {"id", "ref"} & set(content[kind]) for kind in layers.KINDS)


TODAYS = [
    *filter(_of_todays_form, SEEDS),
    ROOT / "tests" / "data" / "good.yaml",
    *sorted((ROOT / "tests" / "corpus").glob("good/*.yaml")),
]
IDENTITY = ("id", "version", "owner")


def _parse(text: str, fmt: str = "yaml") -> descriptors.Descriptor:
    return descriptors.parse(text.encode(), fmt, descriptors.Limits())


def _meaning(content: dict[str, Any]) -> dict[str, Any]:
    """What a descriptor of today's form says, written out by hand: each layer as written, the
    specification's dependencies counted with the definition's."""
    meant = json.loads(json.dumps(content))
    specification, definition = meant.get("specification") or {}, meant.get("definition") or {}
    moved = specification.pop("dependencies", [])
    if moved:
        definition["dependencies"] = [*definition.get("dependencies", []), *moved]
    return meant


def _without_identity(bundle: dict[str, Any]) -> dict[str, Any]:
    return {
        key: ({k: v for k, v in value.items() if k not in IDENTITY} if key in layers.KINDS else value)
        for key, value in json.loads(json.dumps(bundle)).items()
    }


def test_there_are_todays_descriptors_to_check():
    assert len(SEEDS) >= 33 and len(TODAYS) > 40


@pytest.mark.parametrize("path", TODAYS, ids=lambda p: p.name)
def test_todays_descriptors_validate_unchanged_and_bundle_to_the_same_meaning(path: Path):
    text = path.read_text("utf-8")
    descriptor = _parse(text)
    report, _assessment = workflow.check_descriptor(descriptor)
    assert report.valid, [p.to_dict() for p in report.errors]
    content = descriptor.content
    bundle = layers.bundle(content)
    assert _without_identity(bundle) == _meaning(content)
    owner = content["implementation"]["owner"]
    for kind in layers.KINDS:
        if kind in content:
            assert (bundle[kind]["id"], bundle[kind]["version"], bundle[kind]["owner"]) == (
                content[kind].get("id", content["id"]),
                content[kind].get("version", content["version"]),
                owner,
            )
    # Upgraded, it says the same.
    upgraded = upgrade.upgrade(text, "yaml")
    assert layers.bundle(_parse(upgraded.text).content) == bundle


def test_every_seed_version_is_linked_to_its_layers_with_its_bundle(seeded):
    with database_of(seeded).transaction() as session:
        versions = session.scalars(select(ServiceVersion)).all()
        assert len(versions) == len(SEEDS)
        for version in versions:
            # A layer referred to is the linked layer's content; the others are written in the descriptor.
            linked = {"definition": version.definition_version, "specification": version.specification_version}
            resolved = {ref.kind: linked[ref.kind].content for ref in layers.references(version.descriptor)}
            assert version.bundle == layers.bundle(version.descriptor, resolved), version.service.slug
            assert version.definition_version is not None
            assert version.definition_version.content == version.bundle["definition"]
            if "specification" in version.descriptor:
                assert version.specification_version is not None
                assert version.specification_version.specifies_id == version.definition_version_id


OLD_FORM = """\
# A descriptor of the earlier form: dependencies in the specification.
cspa: "2.0"
id: demo-linkage
version: 1.0.0
definition:
  name: Demo record linkage   # the name readers see
  purpose: Links records of two data sets that describe the same units.
  gsbpm: ["5.1"]
specification:
  protocol: REST
  dependencies:
    - A running linkage database
implementation:
  owner: ISTAT
  licence: EUPL-1.2
"""


def test_upgrade_moves_dependencies_and_keeps_comments_and_everything_else(tmp_path: Path):
    path = tmp_path / "linkage.yaml"
    path.write_text(OLD_FORM, "utf-8")
    before = layers.bundle(_parse(OLD_FORM).content)
    result = CliRunner().invoke(main, ["upgrade", str(path)])
    assert result.exit_code == 0, result.output
    assert "moved 1 dependency from specification.dependencies to definition.dependencies" in result.output
    assert "1 of 1 file upgraded" in result.output
    text = path.read_text("utf-8")
    assert "# A descriptor of the earlier form" in text and "# the name readers see" in text
    content = yaml.safe_load(text)
    assert content["definition"]["dependencies"] == ["A running linkage database"]
    assert "dependencies" not in content["specification"]
    assert layers.bundle(_parse(text).content) == before
    # Current now: a second run changes nothing.
    again = CliRunner().invoke(main, ["upgrade", "--check", str(path)])
    assert again.exit_code == 0 and "0 of 1 file would be upgraded, 1 already current" in again.output
    assert path.read_text("utf-8") == text


def test_upgrade_check_changes_nothing_and_exits_1_with_a_message(tmp_path: Path):
    path = tmp_path / "linkage.yaml"
    path.write_text(OLD_FORM, "utf-8")
    result = CliRunner().invoke(main, ["upgrade", "--check", str(path)])
    assert result.exit_code == 1
    assert f"{path}: would be upgraded: moved 1 dependency" in result.output
    assert "Run `catalogue upgrade`" in result.output
    assert path.read_text("utf-8") == OLD_FORM


def test_upgrade_keeps_json_as_json(tmp_path: Path):
    content = yaml.safe_load(OLD_FORM)
    path = tmp_path / "linkage.json"
    path.write_text(json.dumps(content, indent=2), "utf-8")
    assert CliRunner().invoke(main, ["upgrade", str(path)]).exit_code == 0
    upgraded = json.loads(path.read_text("utf-8"))
    assert list(upgraded) == list(content)  # key order kept
    assert upgraded["definition"]["dependencies"] == ["A running linkage database"]


def test_upgrade_shows_progress_for_many_files_and_reports_an_unreadable_one(tmp_path: Path):
    paths = []
    for index in range(25):
        path = tmp_path / f"d{index}.yaml"
        path.write_text(OLD_FORM if index % 2 else (ROOT / "tests" / "data" / "good.yaml").read_text("utf-8"))
        paths.append(str(path))
    broken = tmp_path / "broken.yaml"
    broken.write_text("definition: [unclosed", "utf-8")
    result = CliRunner().invoke(main, ["upgrade", *paths, str(broken)])
    assert result.exit_code == 2
    assert "Upgrading" in result.stderr
    assert "12 of 26 files upgraded, 13 already current" in result.output
    assert f"{broken}: cannot" in result.output


def test_the_offline_validator_warns_for_each_reference_and_does_not_fail(tmp_path: Path):
    content = yaml.safe_load(OLD_FORM)
    content["definition"] = {"ref": "seasonal-adjustment"}
    content["specification"] = {"ref": "x13-batch", "version": "1.0.0", "owner": "US-CENSUS"}
    path = tmp_path / "x13.yaml"
    path.write_text(yaml.safe_dump(content), "utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "refers to definition 'seasonal-adjustment'; the registry checks it when you submit" in result.output
    assert "refers to specification 'x13-batch' version 1.0.0 of US-CENSUS" in result.output
