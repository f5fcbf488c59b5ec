"""Fixtures of the export tests: a seeded app, and a helper driving the review workflow on a fresh app.

The app's database binding is process-wide, and on PostgreSQL every app shares one database, so a
module uses either the seeded app (module-scoped: seeding once keeps it quick) or fresh apps, never both.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient


@pytest.fixture
def seeded_client(seeded: Flask) -> FlaskClient:
    return seeded.test_client()


@pytest.fixture
def workflow(client: FlaskClient, make_user):
    """Submit, start a review of and decide on versions through the API, as users do."""

    class Workflow:
        submitter = make_user("submitter@istat.example", "ISTAT", "submitter")
        reviewer = make_user("reviewer@cbs.example", "CBS", "reviewer")

        def submit(self, text: str, status: str = "submitted") -> dict:
            response = client.post(
                "/api/v1/services",
                query_string={"status": status},
                data=text.encode(),
                content_type="application/yaml",
                headers=_bearer(self.submitter),
            )
            assert response.status_code in (200, 201), response.json
            return response.json

        def approve(self, slug: str, version: str) -> None:
            self.decide(slug, version, "approved")

        def decide(self, slug: str, version: str, decision: str, comment: str = "") -> None:
            base = f"/api/v1/services/{slug}/versions/{version}"
            started = client.post(f"{base}/transitions", json={"to": "in_review"}, headers=_bearer(self.reviewer))
            assert started.status_code == 200, started.json
            decided = client.post(
                f"{base}/reviews",
                json={"decision": decision, "comment": comment or "checked"},
                headers=_bearer(self.reviewer),
            )
            assert decided.status_code == 201, decided.json

    return Workflow()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
