"""Facets by interface kind and by distribution ecosystem, and the CSPA 2.0 Annex 1 fields as searchable text,
on a real on-disk whoosh index of the seeds plus descriptors submitted through the API."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from catalogue.auth import accounts
from catalogue.db import database_of
from catalogue.search.index import FACETS
from catalogue.search.views import FACET_LABELS
from catalogue.services import distributions, layers
from tests.test_seed import SEEDS

ANNEX = Path(__file__).parent.parent / "data" / "annex"
SUBMITTED = {
    "sdcmicro-library.yaml": "STATISTIK-AUSTRIA",
    "banffprocessor-cli.yaml": "STATCAN",
    "dotstat-container.yaml": "OECD",
}


@pytest.fixture(scope="module")
def tokens(seeded: Flask) -> dict[str, str]:
    """A submitter per owning organisation, whose drafts of the Annex 1 examples are in the index."""
    client = seeded.test_client()
    found = {}
    for name, org in SUBMITTED.items():
        with database_of(seeded).transaction() as session:
            _user, token = accounts.create_user(session, f"facets@{org.lower()}.example", org, "submitter")
        response = client.post(
            "/api/v1/services",
            query_string={"status": "draft"},
            data=(ANNEX / name).read_bytes(),
            content_type="application/yaml",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.json
        found[org] = token
    return found


def _search(client: FlaskClient, token: str | None = None, **params: object) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/api/v1/search", query_string=params, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def _ids(result: dict) -> set[str]:
    return {hit["id"] for hit in result["hits"]}


def test_every_interface_kind_and_ecosystem_can_be_a_facet_value() -> None:
    """Fails when a new interface kind or distribution kind is added without a facet."""
    assert {"interface", "distribution"} <= set(FACETS) and set(FACETS) == set(FACET_LABELS)
    assert set(layers.INTERFACE_LABELS) == set(layers.INTERFACE_KINDS)
    assert set(distributions.LABELS) == set(distributions.ECOSYSTEMS)


def _seeds_with(facet: str) -> dict[str, set[str]]:
    """Each facet value and the seed services that carry it, read from the seed files themselves."""
    found: dict[str, set[str]] = {}
    for path in SEEDS:
        content = yaml.safe_load(path.read_text("utf-8"))
        values = distributions.ecosystems(content) if facet == "distribution" else layers.interface_kinds(content)
        for value in values:
            found.setdefault(value, set()).add(path.stem)
    return found


def test_seed_distributions_are_facets(seeded: Flask) -> None:
    client = seeded.test_client()
    counts = {f["value"]: f["count"] for f in _search(client, per_page=1)["facets"]["distribution"]}
    expected = _seeds_with("distribution")
    assert counts == {kind: len(ids) for kind, ids in expected.items()}
    assert {"cran", "pypi", "maven"} <= set(counts)  # the seeds have packages of R, Python and Java
    assert _ids(_search(client, distribution="pypi", per_page=100)) == expected["pypi"]
    assert _ids(_search(client, distribution="maven", per_page=100)) == expected["maven"] >= {"jdemetra-plus"}
    both = _ids(_search(client, distribution=["cran", "maven"], per_page=100))
    assert both == expected["cran"] | expected["maven"]


def test_seed_openapi_documents_are_an_interface_facet(seeded: Flask) -> None:
    client = seeded.test_client()
    with_openapi = _search(client, interface="openapi", per_page=100)
    assert with_openapi["total"] >= 1 and "pxwebapi" in _ids(with_openapi)
    assert "sdcmicro" not in _ids(with_openapi)


def test_library_command_line_and_container_descriptors_are_found_by_their_facets(
    seeded: Flask, tokens: dict[str, str]
) -> None:
    client = seeded.test_client()
    austria, statcan, oecd = tokens["STATISTIK-AUSTRIA"], tokens["STATCAN"], tokens["OECD"]
    # Each organisation's draft is found among the seeds of that kind.
    seeds = _seeds_with("interface")
    found = _ids(_search(client, austria, interface="library", per_page=100))
    assert found == seeds["library"] | {"sdcmicro-library"}
    found = _ids(_search(client, statcan, interface="command_line", per_page=100))
    assert found == seeds.get("command_line", set()) | {"banffprocessor-cli"}
    assert _ids(_search(client, oecd, distribution="container")) == _seeds_with("distribution").get(
        "container", set()
    ) | {"dotstat-data-explorer"}
    assert "dotstat-data-explorer" in _ids(_search(client, oecd, distribution="download"))
    # A draft stays with its organisation: the facet counts of anonymous readers do not include it.
    anonymous = {f["value"]: f["count"] for f in _search(client, per_page=1)["facets"]["interface"]}
    assert anonymous["library"] == len(seeds["library"])
    assert anonymous.get("command_line", 0) == len(seeds.get("command_line", set()))


@pytest.mark.parametrize(
    ("q", "org", "expected"),
    [
        ("microaggregation", "STATISTIK-AUSTRIA", "sdcmicro-library"),  # a methodology
        ("sdcMicroObj", "STATISTIK-AUSTRIA", "sdcmicro-library"),  # an output message
        ("5.7.8", "STATISTIK-AUSTRIA", "sdcmicro-library"),  # the software version
        ("sdcTools contributors", "STATISTIK-AUSTRIA", "sdcmicro-library"),  # the builder
        ("Fellegi-Holt", "STATCAN", "banffprocessor-cli"),  # a methodology
    ],
)
def test_annex_1_fields_are_searchable_text(
    seeded: Flask, tokens: dict[str, str], q: str, org: str, expected: str
) -> None:
    assert expected in _ids(_search(seeded.test_client(), tokens[org], q=q))


def test_the_search_page_shows_the_new_facets_with_readable_labels(seeded: Flask) -> None:
    body = seeded.test_client().get("/search").get_data(as_text=True)
    assert "Get it from" in body and "CRAN (R)" in body and "Maven (Java)" in body
    assert "Interface" in body and "OpenAPI (REST)" in body
