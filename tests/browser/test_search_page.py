"""The search page in a real browser: ticking a facet applies it at once (the address, the hits and the counts
change, focus stays on the checkbox) and the form still works without JavaScript; titles are shown whole with
their matches marked; the partial-match notice; phase headings and an empty sub-process on the home page."""

from __future__ import annotations

import re
from typing import Any

import pytest

# Page renderings of the seed catalogue: in CI, one of the two passes runs them (tests/conftest.py).
pytestmark = pytest.mark.database_independent

SERVICE_HITS = ".results .hit:not(.doc-hit)"


def _total(page: Any) -> int:
    return int(re.match(r"(\d+)", page.locator(".results-bar .total").inner_text()).group(1))  # type: ignore[union-attr]


def test_ticking_a_facet_applies_it_at_once(page: Any, axe: Any) -> None:
    page.goto("/search?q=statistical+disclosure+control")
    before = _total(page)
    assert page.locator('.facet-actions button[type="submit"]').is_hidden()  # nothing to press any more
    box = page.locator('input[type=checkbox][name="organisation"]').first
    value = box.get_attribute("value")
    count = int(box.locator("xpath=..").locator(".count").inner_text().split()[-1])
    box.check()
    page.wait_for_url(re.compile(r"organisation=" + re.escape(value)))
    page.locator(f'.active-filters a:has-text("{value}")').wait_for()
    assert _total(page) == count < before
    assert page.locator(SERVICE_HITS).count() == count
    # Focus stays on the checkbox just ticked (the part of the page it was in was replaced).
    focused = page.evaluate(
        "[document.activeElement.name, document.activeElement.value, document.activeElement.checked]"
    )
    assert focused == ["organisation", value, True]
    assert "statistical disclosure control" in page.url.replace("+", " ")
    # Unticking widens the search again.
    page.locator(f'input[type=checkbox][name="organisation"][value="{value}"]').uncheck()
    page.wait_for_url(re.compile(r"^(?!.*organisation=)"))
    page.locator(".active-filters").wait_for(state="detached")
    assert _total(page) == before
    assert axe(page) == []
    assert page.console_errors == []


def test_without_javascript_the_facet_form_applies_with_its_button(new_page: Any) -> None:
    page = new_page(java_script_enabled=False)
    page.goto("/search?q=statistical+disclosure+control")
    before = _total(page)
    page.locator('input[type=checkbox][name="organisation"]').first.check()
    assert _total(page) == before  # nothing happens by itself
    page.locator('.facet-actions button[type="submit"]').click()
    page.wait_for_url(re.compile(r"organisation="))
    assert _total(page) < before


def test_titles_are_whole_with_the_matches_marked(page: Any) -> None:
    for q, title in [
        ("sdmx", "SDMX Reference Infrastructure (SDMX-RI)"),
        ("jdemetra", "JDemetra+"),
        ("beyond border", "btb (Beyond the Border)"),
        ("mu argus", "μ-ARGUS (Mu-Argus)"),
        ("x13", "X-13ARIMA-SEATS"),
    ]:
        page.goto(f"/search?q={q}")
        heading = page.locator(f"{SERVICE_HITS} h3", has_text=title).first
        assert heading.inner_text() == title, q
        assert heading.locator("mark").count() >= 1, q


def test_the_partial_match_notice_is_shown(page: Any) -> None:
    page.goto("/search?q=record+linkage+zebrafish")
    notice = page.locator(".partial-notice")
    assert notice.inner_text() == (
        "No service matches all of “record linkage zebrafish”; showing services that match some."
    )
    assert page.locator(SERVICE_HITS).count() >= 2


def test_phase_headings_link_to_their_phase_and_an_empty_sub_process_explains_itself(page: Any, axe: Any) -> None:
    page.goto("/")
    page.locator("#phase-6 a").click()
    page.wait_for_url(re.compile(r"/search\?phase=6$"))
    assert page.locator(".gsbpm-intro h2").inner_text() == "GSBPM phase 6 Analyse"
    assert _total(page) > 0
    page.goto("/")
    empty = page.locator(".gsbpm-matrix .cell.empty").first
    code = empty.get_attribute("data-code")
    empty.click()
    page.wait_for_url(re.compile(r"subprocess=" + re.escape(code)))
    intro = page.locator(".gsbpm-intro")
    assert intro.locator("h2").inner_text().startswith(f"GSBPM sub-process {code} ")
    assert intro.locator("a", has_text="GSBPM chapter").get_attribute("href") == f"/document/gsbpm?sp={code}#sp-{code}"
    assert intro.locator("a", has_text="submit").get_attribute("href") == "/submit/start"
    assert axe(page) == []
