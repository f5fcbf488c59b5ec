"""The family view in a real browser, on the seed catalogue: JDemetra+ (NBB) describes the "Seasonal adjustment"
Definition; X-13ARIMA-SEATS (US Census Bureau), rjd3x13 and rjd3tramoseats (rjdverse) refer to it, and the
seed loader loads them after it.

A reader goes from the X-13ARIMA-SEATS page up to the Definition's page, and from there to the other
implementations, JDemetra+ among them, whose page names X-13ARIMA-SEATS among the other implementations.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

# Page renderings of the seed catalogue: in CI, one of the two passes runs them (tests/conftest.py).
pytestmark = pytest.mark.database_independent


def test_a_reader_walks_from_an_implementation_to_its_definition_to_another_implementation(
    page: Any, axe: Any, screenshot: Any
) -> None:
    page.goto("/services/x13arima-seats")
    page.get_by_role("tab", name="Family").click()
    family = page.locator("#family")
    family.get_by_role("link", name="Seasonal adjustment").click()
    page.wait_for_url(re.compile(r"/definitions/NBB/seasonal-adjustment$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Seasonal adjustment"
    # The definition's page shows every specification, each with its implementation.
    for implementation in ("jdemetra-plus", "x13arima-seats", "rjd3x13", "rjd3tramoseats"):
        assert page.get_by_role("link", name=re.compile(f"^{implementation}$")).count() == 1, implementation
    screenshot(page, "family-definition")
    assert axe(page) == []
    page.get_by_role("link", name=re.compile(r"^jdemetra-plus$")).click()
    page.wait_for_url(re.compile(r"/services/jdemetra-plus/versions/1.0.0$"))
    page.get_by_role("tab", name="Family").click()
    others = page.locator("#family")
    assert "Other implementations of this definition" in others.inner_text()
    others.get_by_role("link", name=re.compile(r"^x13arima-seats$")).click()
    page.wait_for_url(re.compile(r"/services/x13arima-seats/versions/1.0.0$"))
    assert page.console_errors == []
