"""The seed catalogue: every descriptor validates clean, loads as approved, and loads on first start."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
import pytest
import yaml
from sqlalchemy import func, select

from catalogue.cli import main, seed_order
from catalogue.db import database_of
from catalogue.events import Event
from catalogue.services import descriptors, layers, workflow
from catalogue.services.models import Service, ServiceVersion
from tests.conftest import running_app

SEED_DIR = Path(__file__).resolve().parents[1] / "seed_services"
SEEDS = sorted(SEED_DIR.glob("*.yaml"))


def test_there_are_at_least_50_seed_services_each_with_sources():
    assert len(SEEDS) >= 50
    sources = (SEED_DIR / "SOURCES.md").read_text("utf-8")
    missing = [p.stem for p in SEEDS if f"## {p.stem}\n" not in sources]
    assert missing == []


def _seed(path: Path) -> dict:
    data = yaml.safe_load(path.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def _bundle(path: Path) -> dict:
    """The seed with the layers it refers to taken from the seed file that describes them."""
    content = _seed(path)
    resolved = {}
    for ref in layers.references(content):
        for other in SEEDS:
            described = _seed(other)
            if layers.identity(described, ref.kind) is not None and layers.identity(described, ref.kind)[0] == ref.slug:
                resolved[ref.kind] = layers.bundle(described)[ref.kind]
    return layers.bundle(content, resolved)


def test_every_gsbpm_phase_from_design_to_disseminate_has_two_seeds_sampling_and_coding_included():
    services: dict[str, set[str]] = {}
    for path in SEEDS:
        for code in _bundle(path)["definition"]["gsbpm"]:
            services.setdefault(code, set()).add(path.stem)
            services.setdefault(code.split(".")[0], set()).add(path.stem)
    thin = {code: sorted(services.get(code, ())) for code in ("2", "3", "4", "5", "6", "7", "4.1", "5.2")}
    assert {code: ids for code, ids in thin.items() if len(ids) < 2} == {}


# The tools CSPA's own history names (the 2013 proof of concept; services named as CSPA-compliant or chosen for
# reuse) that a public source describes well enough to seed; GCode and the Stats NZ coding service are left out
# for want of one, as seed_services/SOURCES.md says.
CSPA_NAMED = {"editrules", "blaise", "canceis", "selemix", "selekt", "arc", "dotstat-suite", "sdmx-converter"}


def test_the_services_cspa_history_names_are_seeded_and_their_absentees_explained():
    assert CSPA_NAMED <= {p.stem for p in SEEDS}
    sources = (SEED_DIR / "SOURCES.md").read_text("utf-8")
    assert "GCode and the Stats NZ Statistical Coding Service are **not seeded**" in sources


def test_a_library_interface_names_the_package_its_distribution_installs():
    checked = 0
    for path in SEEDS:
        content = _seed(path)
        library = content.get("specification", {}).get("interface", {}).get("library")
        packages = {
            d["package"] for d in content["implementation"].get("distributions", []) if d["kind"] in ("cran", "pypi")
        }
        if library and packages:
            checked += 1
            assert packages == {library["package"]}, path.stem
    assert checked >= 25  # most seeds are R or Python packages: the rule must not pass by finding none


# The project names no package registry's host in any file, so the hosts this test looks for are kept as the
# first 16 hex digits of each host name's SHA-256 (the language indexes, Maven, NuGet and container registries).
_REGISTRY_HOSTS = frozenset(
    {
        "0fd460f0568e29c1",
        "271dacc9f4d0caf8",
        "3530c4415dd857fb",
        "3ca29e55be4befa4",
        "43c04ed1dabe979b",
        "8743857e3ea00fd1",
        "a4aa2ac280bb8d1a",
        "bb4897481ebc8b10",
        "e7fbfb5eb8b891d5",
        "e83cc4bcd94e4ed5",
        "f65219c547f9c032",
    }
)


def _hosts(text: str) -> set[str]:
    """Every host name in the text's addresses, and each of its parent domains."""
    found = set()
    for host in re.findall(r"[a-z][a-z0-9.-]*\.[a-z]{2,}", text.casefold()):
        parts = host.split(".")
        found.update(".".join(parts[i:]) for i in range(len(parts) - 1))
    return found


def test_no_seed_file_names_a_package_registry_host():
    for path in [*SEEDS, SEED_DIR / "SOURCES.md"]:
        digests = {hashlib.sha256(host.encode()).hexdigest()[:16] for host in _hosts(path.read_text("utf-8"))}
        assert not digests & _REGISTRY_HOSTS, path.name
    # The check can fail: a host and its parent domains are found in an address and compared by digest.
    example = hashlib.sha256(b"example.org").hexdigest()[:16]
    assert example in {hashlib.sha256(h.encode()).hexdigest()[:16] for h in _hosts("see https://files.example.org/x")}


@pytest.mark.parametrize("path", SEEDS, ids=[p.stem for p in SEEDS])
def test_seed_descriptor_is_valid(path: Path):
    descriptor = descriptors.parse(path.read_bytes(), "yaml", descriptors.Limits())
    assert descriptor.content["id"] == path.stem
    report, assessment = workflow.check_descriptor(descriptor)
    assert report.errors == [], [e.to_dict() for e in report.errors]
    assert 0 <= assessment.score <= 100


def _counts() -> tuple[int, int, int]:
    with database_of(running_app()).transaction() as session:
        # Events of the versions; each new layer version's layer.stored event is counted in test_linked_layers.
        events = select(func.count()).select_from(Event).where(Event.kind != "layer.stored")
        counts = [session.scalar(select(func.count()).select_from(m)) for m in (Service, ServiceVersion)]
        return (*counts, session.scalar(events))  # type: ignore[return-value]


def test_seed_command_loads_every_service_approved_once(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(main, ["seed"])
    assert first.exit_code == 0, first.output
    assert f"{len(SEEDS)} of {len(SEEDS)} seed services added" in first.output
    assert _counts() == (len(SEEDS), len(SEEDS), len(SEEDS))
    with database_of(app).transaction() as session:
        assert set(session.scalars(select(ServiceVersion.status))) == {"approved"}
    # Seeding again adds nothing and writes no new events.
    again = runner.invoke(main, ["seed"])
    assert "0 of" in again.output
    assert _counts() == (len(SEEDS), len(SEEDS), len(SEEDS))
    # Anonymous readers see every seed service through the API.
    listed = client.get("/api/v1/services?per_page=100").json
    assert listed["total"] == len(SEEDS)
    assert sorted(s["id"] for s in listed["items"]) == sorted(p.stem for p in SEEDS)
    phase5 = client.get("/api/v1/services?gsbpm=5&per_page=100").json
    assert 0 < phase5["total"] < len(SEEDS)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.enable_socket
def test_serve_on_first_start_creates_database_and_loads_seeds(tmp_path):
    """What the README's first command ends with: `catalogue serve` on an empty instance folder."""
    env = {**os.environ, "CATALOGUE_INSTANCE_PATH": str(tmp_path / "instance")}
    env.pop("CATALOGUE_DATABASE_URL", None)  # the embedded default: a SQLite file in the instance folder
    port = _free_port()
    log = tmp_path / "serve.log"
    with (
        log.open("w") as out,
        subprocess.Popen(
            [sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        ) as server,
    ):
        try:
            body = None
            deadline = time.monotonic() + 60
            while body is None and time.monotonic() < deadline and server.poll() is None:
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/api/v1/services?per_page=100", timeout=5
                    ) as response:
                        body = json.load(response)
                except OSError:
                    time.sleep(0.2)
            assert body is not None, log.read_text()
            assert body["total"] == len(SEEDS)
            assert (tmp_path / "instance" / "catalogue.sqlite3").is_file()
            assert f"{len(SEEDS)} of {len(SEEDS)} seed services loaded" in log.read_text()
        finally:
            server.terminate()
            server.wait(timeout=10)


# --- the order the seeds load in: a reference resolves only to a layer already in the catalogue ------------


def _described(slug: str, owner: str, definition_id: str | None = None) -> dict:
    definition = {"name": slug} if definition_id is None else {"id": definition_id, "name": slug}
    return {"id": slug, "version": "1.0.0", "definition": definition, "implementation": {"owner": owner}}


def _referring(slug: str, owner: str, ref: str, ref_owner: str | None = None) -> dict:
    definition = {"ref": ref} if ref_owner is None else {"ref": ref, "owner": ref_owner}
    return {"id": slug, "version": "1.0.0", "definition": definition, "implementation": {"owner": owner}}


def test_seeds_that_refer_to_a_layer_load_after_the_seed_that_describes_it():
    seeds = {
        "a.yaml": _referring("a", "B-ORG", "shared", "Z-ORG"),
        "b.yaml": _described("b", "B-ORG"),
        "c.yaml": _referring("c", "C-ORG", "b"),  # a descriptor's own id names its definition by default
        "z.yaml": _described("z", "Z-ORG", "shared"),
    }
    assert seed_order(seeds) == ["b.yaml", "c.yaml", "z.yaml", "a.yaml"]
    # Without references the order is the files' names.
    assert seed_order({"b.yaml": _described("b", "B-ORG"), "a.yaml": _described("a", "A-ORG")}) == ["a.yaml", "b.yaml"]


def test_the_real_seeds_load_each_definition_before_its_implementations_that_refer_to_it():
    order = seed_order({path.name: _seed(path) for path in SEEDS})
    for describer, referrers in FAMILIES.items():
        assert all(order.index(describer + ".yaml") < order.index(r + ".yaml") for r in referrers), describer


def test_a_reference_to_a_layer_no_seed_describes_is_named():
    seeds = {"a.yaml": _referring("a", "A-ORG", "shared", "Z-ORG"), "z.yaml": _described("z", "Y-ORG", "shared")}
    with pytest.raises(click.ClickException) as raised:
        seed_order(seeds)
    assert raised.value.message == "a.yaml refers to the definition 'shared' of Z-ORG, which no seed file describes"


def test_seeds_that_refer_to_each_other_in_a_cycle_are_named():
    # a describes its definition and refers to b's specification; b refers to a's definition.
    a = {**_described("a", "A-ORG"), "specification": {"ref": "b-interface"}}
    b = {**_referring("b", "B-ORG", "a"), "specification": {"id": "b-interface", "protocol": "library"}}
    seeds = {"a.yaml": a, "b.yaml": b, "c.yaml": _described("c", "C-ORG")}
    with pytest.raises(click.ClickException) as raised:
        seed_order(seeds)
    assert raised.value.message == "these seed files cannot be ordered, their references form a cycle: a.yaml, b.yaml"


# The shared Definitions: the seed that describes each one, and the seeds that refer to it.
FAMILIES = {
    "jdemetra-plus": ["rjd3tramoseats", "rjd3x13", "x13arima-seats"],
    "relais": ["splink"],
    "errorlocate": ["editrules"],
}


@pytest.mark.parametrize("describer", sorted(FAMILIES))
def test_each_shared_definition_lists_every_implementation_on_its_page(seeded, describer: str):
    content = _seed(SEED_DIR / f"{describer}.yaml")
    owner, slug = content["implementation"]["owner"], content["definition"]["id"]
    for referrer in FAMILIES[describer]:
        assert _seed(SEED_DIR / f"{referrer}.yaml")["definition"] == {"ref": slug, "owner": owner}
    page = seeded.test_client().get(f"/definitions/{owner}/{slug}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    linked = set(re.findall(r'href="/services/([a-z0-9-]+)/versions/1.0.0"', html))
    assert {describer, *FAMILIES[describer]} <= linked, linked


# --- each seed's compliance score, as SOURCES.md states it with its gaps -----------------------------------


def _stated_compliance() -> dict[str, str]:
    """Each seed's "Compliance: N%; ..." line in SOURCES.md, by seed id."""
    sections = re.split(r"^## ", (SEED_DIR / "SOURCES.md").read_text("utf-8"), flags=re.MULTILINE)
    stated = {}
    for section in sections[1:]:
        title, _, body = section.partition("\n")
        lines = re.findall(r"^- (Compliance: .*)$", body, flags=re.MULTILINE)
        if lines:
            assert len(lines) == 1, title
            stated[title.strip()] = lines[0]
    return stated


def test_sources_state_a_compliance_score_for_every_seed_and_only_for_seeds():
    assert sorted(_stated_compliance()) == sorted(p.stem for p in SEEDS)


_UNSOURCED = "; not yet sourced (gaps of this description, not of the service): "


def _named(line: str) -> set[str]:
    """The criteria a Compliance line names: "real gaps: id (why); id (why)" or "none", then optionally the
    criteria not yet sourced, "id, id"."""
    real, _, unsourced = line.removesuffix(".").partition("real gaps: ")[2].partition(_UNSOURCED)
    named = {item.split(" (")[0] for item in real.split("; ") if item != "none"}
    return named | {item for item in unsourced.split(", ") if item}


def test_a_compliance_line_names_real_gaps_with_their_reasons_and_the_criteria_not_yet_sourced():
    assert _named("Compliance: 100%; real gaps: none.") == set()
    line = (
        "Compliance: 68%; real gaps: contact (no tracker); open-licence (EUPL, no version)"
        + _UNSOURCED
        + "documentation."
    )
    assert _named(line) == {"contact", "open-licence", "documentation"}


@pytest.mark.parametrize("path", SEEDS, ids=[p.stem for p in SEEDS])
def test_seed_compliance_is_the_score_sources_states_with_every_failing_criterion_named(seeded, path: Path):
    line = _stated_compliance()[path.stem]
    stated = re.match(r"Compliance: (\d+)%; real gaps: ", line)
    assert stated, line
    with database_of(seeded).transaction() as session:
        service = session.scalar(select(Service).where(Service.slug == path.stem))
        assert service is not None and service.public_version is not None
        version = service.public_version
        failing = [item["id"] for item in version.compliance["items"] if item["outcome"] == "fail"]
        assert version.compliance_score == int(stated[1]), (path.stem, failing)
    assert set(failing) == _named(line), (path.stem, sorted(set(failing) ^ _named(line)))
    assert (version.compliance_score == 100) == (failing == [])


def test_implementations_of_one_definition_are_told_apart_by_their_own_names(seeded):
    # A Definition names a function (record linkage); each implementation is shown by its own name.
    client = seeded.test_client()
    shared: dict[str, list[str]] = {}
    for path in SEEDS:
        content = yaml.safe_load(path.read_text("utf-8"))
        definition = content.get("definition") or {}
        family = definition.get("ref") or definition.get("id")
        if family:
            shared.setdefault(family, []).append(content["id"])
            own = content["implementation"].get("name")
            assert own, f"{path.name} shares the Definition {family!r} but gives no implementation name"
            body = client.get(f"/api/v1/services/{content['id']}").get_json()
            assert body["name"] == own
    assert len(shared) >= 3 and all(len(ids) >= 2 for ids in shared.values()), shared
    page = client.get("/services/splink").get_data(as_text=True)
    assert "<h1>Splink</h1>" in page
