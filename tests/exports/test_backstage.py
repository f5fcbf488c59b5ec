"""Backstage entities: the whole catalogue as multi-document YAML, and each service's catalog-info.yaml."""

from __future__ import annotations

import yaml

REQUIRED = {"apiVersion", "kind", "metadata", "spec"}


def _entities(client) -> list[dict]:
    response = client.get("/api/v1/export/backstage.yaml")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    return list(yaml.safe_load_all(response.get_data(as_text=True)))


def test_lifecycle_follows_maturity_and_drafts_are_not_exported(client, workflow, good_text):
    workflow.submit(good_text.replace("maturity: pilot", "maturity: production"))
    workflow.approve("demo-linkage", "1.0.0")
    workflow.submit(good_text.replace("id: demo-linkage", "id: draft-only"), status="draft")
    group, component, api = _entities(client)
    assert group["kind"] == "Group" and group["metadata"]["name"] == "istat"
    assert group["spec"] == {
        "type": "organization",
        "profile": {"displayName": "Italian National Institute of Statistics"},
        "children": [],
    }
    assert component["spec"]["owner"] == api["spec"]["owner"] == "group:default/istat"
    assert component["kind"] == "Component" and api["kind"] == "API"
    assert component["spec"]["lifecycle"] == api["spec"]["lifecycle"] == "production"
    assert api["spec"]["type"] == "openapi"
    assert component["spec"]["providesApis"] == ["api:default/demo-linkage"]
    assert client.get("/services/draft-only/catalog-info.yaml").status_code == 404
