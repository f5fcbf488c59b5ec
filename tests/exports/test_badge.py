"""The compliance badge: shields-style SVG of the public version, cached, and 404 problem+json when unknown."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from catalogue.exports.badge import GREY, colour

SVG = "{http://www.w3.org/2000/svg}"


def _texts(response) -> list[str]:
    root = ET.fromstring(response.data)
    assert root.tag == f"{SVG}svg"
    return [t.text for t in root.iter(f"{SVG}text")]


def test_unknown_and_unpublished_services_get_404_problem_json(client, workflow, good_text):
    response = client.get("/services/no-such/badge.svg")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404 and "<svg" not in response.get_data(as_text=True)
    workflow.submit(good_text)  # submitted, not approved: nothing public yet
    assert (
        client.get(
            "/services/demo-linkage/badge.svg", headers={"Authorization": f"Bearer {workflow.submitter}"}
        ).status_code
        == 404
    )


def test_badge_keeps_the_approved_version_while_a_new_one_is_reviewed(client, workflow, good_text):
    workflow.submit(good_text)
    workflow.approve("demo-linkage", "1.0.0")
    first = _texts(client.get("/services/demo-linkage/badge.svg"))[3]
    worse = good_text.replace("version: 1.0.0", "version: 2.0.0").replace(
        "  documentation: https://example.org/docs\n", ""
    )
    workflow.submit(worse)
    assert _texts(client.get("/services/demo-linkage/badge.svg"))[3] == first


def test_colour_by_status_and_score():
    assert colour("approved", 100) == "#4c1"
    assert colour("approved", 10) == "#e05d44"
    assert colour("approved", 80) != colour("approved", 50)
    assert colour("deprecated", 100) == GREY
