"""The problem type pages (/problems/ and /problems/<name>), where an API client's problem type URI leads: in
a real browser, light and dark, with no serious accessibility violation."""

from __future__ import annotations

from typing import Any

import pytest

# Page renderings of the seed catalogue: in CI, one of the two passes runs them (tests/conftest.py).
pytestmark = pytest.mark.database_independent


@pytest.mark.parametrize("path", ["/problems/", "/problems/validation-failed"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_problem_pages_have_no_serious_accessibility_violation(new_page: Any, axe: Any, path: str, scheme: str) -> None:
    page = new_page(color_scheme=scheme)
    page.goto(path)
    assert page.locator("h1").inner_text() in ("Problem types", "The descriptor is not valid")
    assert axe(page) == []
    assert page.console_errors == []


def test_the_index_leads_to_each_page(page: Any) -> None:
    page.goto("/problems/")
    page.get_by_role("link", name="Conflict").click()
    assert page.url.endswith("/problems/conflict")
    assert "409" in page.locator("dl").inner_text()
