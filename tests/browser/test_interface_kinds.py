"""A service page in a real browser showing a library interface and a command-line interface side by side."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from flask import Flask

from catalogue.auth import actors
from catalogue.db import db
from catalogue.services import descriptors, workflow
from tests.conftest import DATA

# Page renderings of the seed catalogue: in CI, one of the two passes runs them (tests/conftest.py).
pytestmark = pytest.mark.database_independent

SLUG = "demo-sdc-toolkit"


@pytest.fixture(scope="module")
def toolkit(live_app: Flask) -> str:
    """An approved service whose Specification gives both a library and a command-line interface."""
    content = yaml.safe_load((DATA / "interfaces" / "library.yaml").read_text("utf-8"))
    command_line = yaml.safe_load((DATA / "interfaces" / "command-line.yaml").read_text("utf-8"))
    content["id"] = SLUG
    content["specification"]["interface"]["command_line"] = command_line["specification"]["interface"]["command_line"]
    content["specification"]["operations"].append({"id": "check", "description": "Lists the records that break a rule"})
    with live_app.app_context(), db.transaction() as session:
        descriptor = descriptors.parse(yaml.safe_dump(content), "yaml")
        workflow.submit_version(session, actors.SYSTEM, descriptor, "yaml", "approved")
    return SLUG


def test_a_service_page_shows_its_library_and_command_line_interfaces(
    page: Any, axe: Any, screenshot: Any, toolkit: str
) -> None:
    page.goto(f"/services/{toolkit}")
    page.get_by_role("tab", name="Specification").click()
    library = page.get_by_role("region", name="Library: demoSdc (R)")
    assert library.is_visible()
    functions = library.locator(".operation h5").all_inner_texts()
    assert functions == ["createSdcObj(dat, keyVars)", "localSuppression(obj, k)", "SdcReport.render()"]
    assert library.get_by_role("cell", name="keyVars").is_visible()

    command_line = page.get_by_role("region", name="Command line: demoedit 2")
    assert command_line.is_visible()
    assert command_line.locator(".operation h4").all_inner_texts() == ["Command check", "Command correct"]
    assert "demoedit check --rules RULES --data DATA" in command_line.locator("pre.usage").first.inner_text()
    assert command_line.get_by_text("report.csv — text/csv: one line per broken rule").is_visible()
    assert axe(page) == []
    screenshot(page, "service-library-and-command-line")
