"""`catalogue import <folder>`: each descriptor in its own transaction; refused files change nothing."""

from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import func, select

from catalogue.cli import main
from catalogue.db import database_of
from catalogue.events import Event
from catalogue.services.models import Service, ServiceVersion
from tests.conftest import running_app


def _counts() -> tuple[int, int, int]:
    with database_of(running_app()).transaction() as session:
        # Events of the versions; each new layer version's layer.stored event is counted in test_linked_layers.
        events = select(func.count()).select_from(Event).where(Event.kind != "layer.stored")
        counts = [session.scalar(select(func.count()).select_from(m)) for m in (Service, ServiceVersion)]
        return (*counts, session.scalar(events))


def _statuses() -> dict[str, list[tuple[str, str]]]:
    with database_of(running_app()).transaction() as session:
        return {s.slug: [(v.version, v.status) for v in s.versions] for s in session.scalars(select(Service))}


@pytest.fixture
def folder(tmp_path, good_text):
    """Good, invalid, unreadable and conflicting descriptors side by side, plus a file that is no descriptor."""
    folder = tmp_path / "descriptors"
    folder.mkdir()
    (folder / "a-good.yaml").write_text(good_text)
    second = yaml.safe_load(good_text) | {"id": "second-linkage"}
    (folder / "b-good.json").write_text(json.dumps(second))
    (folder / "c-invalid.yaml").write_text(
        good_text.replace("id: demo-linkage", "id: bad-one").replace("EUPL-1.2", "NOT-A-LICENCE")
    )
    (folder / "d-garbage.yml").write_bytes(b"a: [1, 2\n")
    # The same id and version as a-good with other content: versions are immutable.
    (folder / "e-conflict.yaml").write_text(good_text.replace("Demo record linkage", "Another name"))
    (folder / "notes.txt").write_text("not a descriptor")
    return folder


def test_good_files_are_stored_and_refused_ones_change_nothing(app, folder):
    result = app.test_cli_runner().invoke(main, ["import", str(folder)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    table = {
        line.split()[0]: line for line in lines if line.split() and line.split()[0].endswith((".yaml", ".yml", ".json"))
    }
    assert set(table) == {"a-good.yaml", "b-good.json", "c-invalid.yaml", "d-garbage.yml", "e-conflict.yaml"}
    assert " imported " in table["a-good.yaml"] and " imported " in table["b-good.json"]
    assert " refused " in table["c-invalid.yaml"] and " error" in table["c-invalid.yaml"]
    assert " refused " in table["d-garbage.yml"] and "could not be read" in table["d-garbage.yml"]
    assert " refused " in table["e-conflict.yaml"] and "immutable" in table["e-conflict.yaml"]
    # Each refusal's problems follow it: pointer (line) and message.
    assert any(line.strip().startswith("/implementation/licence (line 34):") for line in lines)
    assert lines[-1] == "2 imported, 0 unchanged, 3 refused"
    assert _statuses() == {"demo-linkage": [("1.0.0", "submitted")], "second-linkage": [("1.0.0", "submitted")]}
    assert _counts() == (2, 2, 2)  # two services, two versions, one event each: the refused files left nothing


def test_a_second_run_finds_the_good_files_unchanged(app, folder):
    runner = app.test_cli_runner()
    runner.invoke(main, ["import", str(folder)])
    before = _counts()
    for name in ("c-invalid.yaml", "d-garbage.yml", "e-conflict.yaml"):
        (folder / name).unlink()
    again = runner.invoke(main, ["import", str(folder)])
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1] == "0 imported, 2 unchanged, 0 refused"
    assert _counts() == before


def test_approved_imports_are_public(app, client, folder):
    result = app.test_cli_runner().invoke(main, ["import", str(folder), "--status", "approved"])
    assert result.exit_code == 1
    public = [s["id"] for s in client.get("/api/v1/export/catalogue.json").json["services"]]
    assert public == ["demo-linkage", "second-linkage"]


def test_import_as_a_user_applies_their_permissions(app, make_user, folder, good_text):
    make_user("submitter@istat.example", "ISTAT", "submitter")
    (folder / "f-other-org.yaml").write_text(
        good_text.replace("id: demo-linkage", "id: cbs-linkage").replace("owner: ISTAT", "owner: CBS")
    )
    runner = app.test_cli_runner()
    refused_approval = runner.invoke(
        main, ["import", str(folder), "--as", "submitter@istat.example", "--status", "approved"]
    )
    assert refused_approval.exit_code == 2 and "only the system" in refused_approval.output
    result = runner.invoke(main, ["import", str(folder), "--as", "submitter@istat.example", "--status", "draft"])
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if line.startswith("f-other-org.yaml"))
    assert " refused " in line and "own organisation" in line
    statuses = _statuses()
    assert statuses["demo-linkage"] == [("1.0.0", "draft")] and "cbs-linkage" not in statuses
    with database_of(app).transaction() as session:
        refusals = session.scalars(select(Event).where(Event.kind == "permission.denied")).all()
        assert [e.data["action"] for e in refusals] == ["submit"]
    unknown = runner.invoke(main, ["import", str(folder), "--as", "nobody@example.org"])
    assert unknown.exit_code == 1 and "no user" in unknown.output
