"""The family view in a real browser: JDemetra+ (NBB) and X-13ARIMA-SEATS (US Census Bureau) implement one
"seasonal adjustment" Definition, the second by reference, both stored and approved through the real API.

A reader goes from the X-13ARIMA-SEATS page up to the Definition's page, and from there to the other
implementation, JDemetra+, whose page names X-13ARIMA-SEATS among the other implementations.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from catalogue.auth import accounts
from catalogue.db import db

SEEDS = Path(__file__).resolve().parents[2] / "seed_services"


def _seed(slug: str) -> dict[str, Any]:
    return yaml.safe_load((SEEDS / f"{slug}.yaml").read_text("utf-8"))


def _submit_and_approve(client: Any, submitter: str, reviewer: str, content: dict[str, Any]) -> None:
    answer = client.post("/api/v1/services", json=content, headers={"Authorization": f"Bearer {submitter}"})
    assert answer.status_code == 201, answer.json
    base = f"/api/v1/services/{content['id']}/versions/{content['version']}"
    headers = {"Authorization": f"Bearer {reviewer}"}
    assert client.post(f"{base}/transitions", json={"to": "in_review"}, headers=headers).status_code == 200
    decided = client.post(f"{base}/reviews", json={"decision": "approved", "items": []}, headers=headers)
    assert decided.status_code == 201, decided.json


@pytest.fixture(scope="module")
def one_definition_two_implementations(live_app: Flask) -> None:
    with live_app.app_context(), db.transaction() as session:
        _user, nbb = accounts.create_user(session, "family@nbb.example", "NBB", "submitter")
        _user, census = accounts.create_user(session, "family@census.example", "US-CENSUS", "submitter")
        _user, reviewer = accounts.create_user(session, "family@cbs.example", "CBS", "reviewer")
    client = live_app.test_client()
    jdemetra = _seed("jdemetra-plus")
    jdemetra["version"] = "1.1.0"
    jdemetra["definition"].update(id="seasonal-adjustment", version="1.0.0", name="Seasonal adjustment")
    _submit_and_approve(client, nbb, reviewer, jdemetra)
    x13 = _seed("x13arima-seats")
    x13["version"] = "1.1.0"
    x13["definition"] = {"ref": "seasonal-adjustment", "owner": "NBB"}
    _submit_and_approve(client, census, reviewer, x13)


def test_a_reader_walks_from_an_implementation_to_its_definition_to_another_implementation(
    page: Any, axe: Any, screenshot: Any, one_definition_two_implementations: None
) -> None:
    page.goto("/services/x13arima-seats")
    page.get_by_role("tab", name="Family").click()
    family = page.locator("#family")
    family.get_by_role("link", name="Seasonal adjustment").click()
    page.wait_for_url(re.compile(r"/definitions/NBB/seasonal-adjustment$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Seasonal adjustment"
    # The definition's page shows both specifications, each with its implementation.
    assert page.get_by_role("link", name=re.compile("x13arima-seats version 1.1.0")).count() == 1
    screenshot(page, "family-definition")
    assert axe(page) == []
    page.get_by_role("link", name=re.compile(r"^jdemetra-plus$")).click()
    page.wait_for_url(re.compile(r"/services/jdemetra-plus/versions/1.1.0$"))
    page.get_by_role("tab", name="Family").click()
    others = page.locator("#family")
    assert "Other implementations of this definition" in others.inner_text()
    others.get_by_role("link", name=re.compile(r"^x13arima-seats$")).click()
    page.wait_for_url(re.compile(r"/services/x13arima-seats/versions/1.1.0$"))
    assert page.console_errors == []
