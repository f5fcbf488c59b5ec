"""The CSPA 2.0 document in a real browser: reading levels, the GSBPM figure against the API, glossary
tooltips, the contents that follow the reader, axe-core, and screenshots at 1280 and 375 px."""

from __future__ import annotations

import re
from typing import Any

import pytest

from catalogue.document import content

# Page renderings of the seed catalogue: in CI, one of the two passes runs them (tests/conftest.py).
pytestmark = pytest.mark.database_independent

PAGES = {
    "document-contents": "/document/",
    "document-chapter": "/document/principles",
    "document-chapter-overview": "/document/principles?level=overview",
    "document-template": "/document/descriptor-template",
    "document-glossary": "/document/glossary",
    "document-gsbpm": "/document/gsbpm?sp=5.4#sp-5.4",
    "document-gsim-index": "/document/gsim/",
    "document-gsim-object": "/document/gsim/Unit%20Data%20Set",
    "document-not-found": "/document/no-such-chapter",
}


def chapter(slug: str) -> content.Chapter:
    found = content.chapter(slug)
    assert found is not None
    return found


def visible_sections(page: Any) -> set[str]:
    return set(
        page.eval_on_selector_all(
            ".doc-body section[id]", "sections => sections.filter(s => s.offsetParent !== null).map(s => s.id)"
        )
    )


def expected_sections(slug: str, level: str) -> set[str]:
    return {s.anchor for s in chapter(slug).sections if level == "all" or level in s.audiences}


def api_services(page: Any, code: str) -> list[str]:
    response = page.request.get(f"/api/v1/search?subprocess={code}&status=approved&per_page=100")
    assert response.ok
    return sorted(f"/services/{hit['id']}" for hit in response.json()["hits"])


def test_switching_audience_hides_and_shows_the_right_sections(page: Any) -> None:
    page.goto("/document/principles")
    assert visible_sections(page) == expected_sections("principles", "all")
    page.evaluate("() => { window.stillHere = true; }")  # survives only an in-place switch
    for level in ("overview", "builder", "architect", "all"):
        page.click(f"#level-switch a[data-level={level}]")
        assert visible_sections(page) == expected_sections("principles", level), level
        assert page.evaluate("() => window.stillHere") is True
        assert re.search(rf"[?&]level={level}\b", page.url)
        assert page.get_attribute(f"#level-switch a[data-level={level}]", "aria-current") == "true"
        toc = set(
            page.eval_on_selector_all(
                "#doc-toc li", "items => items.filter(i => !i.hidden).map(i => i.querySelector('a').hash.slice(1))"
            )
        )
        assert toc == expected_sections("principles", level)
    assert page.console_errors == []


def test_the_level_is_remembered_across_chapters(page: Any) -> None:
    page.goto("/document/principles")
    page.click("#level-switch a[data-level=overview]")
    assert page.evaluate("() => localStorage.getItem('cspa-document-level')") == "overview"
    page.click("a.doc-next")  # the link now carries the level, and the server remembers it in a cookie
    page.wait_for_url(re.compile(r"/document/business-view\?level=overview$"))
    assert visible_sections(page) == expected_sections("business-view", "overview")
    page.goto("/document/roles")  # no level in the URL: the cookie (and localStorage) choose it
    assert visible_sections(page) == expected_sections("roles", "overview")
    assert "level=overview" in page.url  # and the script puts it back into the URL


def test_levels_work_without_javascript(new_page: Any) -> None:
    page = new_page(java_script_enabled=False)
    page.goto("/document/roles")
    page.click("#level-switch a[data-level=builder]")
    page.wait_for_url(re.compile(r"level=builder"))
    assert visible_sections(page) == expected_sections("roles", "builder")


@pytest.mark.parametrize("code", ["5.4", "5.3", "6.4", "2.1"])
def test_clicking_a_sub_process_lists_exactly_the_services_of_the_api(page: Any, code: str) -> None:
    page.goto("/document/gsbpm")
    page.evaluate("() => { window.stillHere = true; }")
    link = page.locator(f"[id='sp-{code}'] > a.gsbpm-sp-link")
    assert link.get_attribute("aria-expanded") == "false"
    link.click()
    detail = page.locator(f"[id='sp-detail-{code}']")
    detail.wait_for()
    listed = sorted(
        detail.locator("a.doc-service-name").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    )
    assert listed == api_services(page, code)
    count = int(link.locator(".gsbpm-count").inner_text().split()[0])
    assert count == len(listed)
    assert link.get_attribute("aria-expanded") == "true"
    assert page.evaluate("() => window.stillHere") is True  # expanded in place, no page load
    assert page.url.endswith(f"/document/gsbpm?sp={code}#sp-{code}")
    link.click()  # a second click folds it away
    assert page.locator(f"[id='sp-detail-{code}']").count() == 0
    assert page.console_errors == []


def test_the_figure_works_without_javascript(new_page: Any) -> None:
    page = new_page(java_script_enabled=False)
    page.goto("/document/gsbpm")
    page.click("[id='sp-5.4'] > a.gsbpm-sp-link")
    page.wait_for_url(re.compile(r"sp=5\.4"))
    listed = sorted(
        page.locator("[id='sp-detail-5.4'] a.doc-service-name").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
    )
    assert listed == api_services(page, "5.4")


def test_glossary_term_shows_its_definition_on_hover_and_focus(page: Any) -> None:
    page.goto("/document/statistical-service")
    term = page.locator("a.ref-term").first
    tip_id = term.get_attribute("aria-describedby")
    assert tip_id
    tip = page.locator(f"#{tip_id}")
    assert not tip.is_visible()
    term.hover()
    assert tip.is_visible() and len(tip.inner_text()) > 20
    page.mouse.move(0, 0)
    assert not tip.is_visible()
    term.focus()
    assert tip.is_visible()
    page.keyboard.press("Escape")
    assert not tip.is_visible()


def test_glossary_term_first_tap_shows_the_definition_second_tap_follows(new_page: Any) -> None:
    page = new_page(viewport={"width": 375, "height": 800}, has_touch=True, is_mobile=True)
    page.goto("/document/statistical-service")
    term = page.locator("a.ref-term").first
    href = term.get_attribute("href")
    tip = page.locator(f"#{term.get_attribute('aria-describedby')}")
    term.tap()
    assert tip.is_visible()
    assert "/document/statistical-service" in page.url
    term.tap()
    page.wait_for_url(re.compile(re.escape(href)))
    assert page.locator(f"[id='{href.split('#')[1]}']").is_visible()


def test_contents_follow_the_reader(page: Any) -> None:
    page.goto("/document/principles")
    sections = chapter("principles").sections
    for section in (sections[3], sections[-1]):
        page.evaluate("id => document.getElementById(id).scrollIntoView()", section.anchor)
        page.wait_for_function(
            "id => document.querySelector(`#doc-toc a[href='#${id}']`).getAttribute('aria-current') === 'location'",
            arg=section.anchor,
        )
        assert page.locator("#doc-toc a[aria-current=location]").count() == 1
    assert page.evaluate("() => getComputedStyle(document.querySelector('.doc-sidebar')).position") == "sticky"


def test_narrow_screens_do_not_scroll_sideways(new_page: Any) -> None:
    page = new_page(viewport={"width": 375, "height": 800})
    for path in PAGES.values():
        page.goto(path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, (path, width)


def test_print_hides_navigation_and_shows_link_addresses(page: Any) -> None:
    page.goto("/document/principles")
    page.emulate_media(media="print")
    assert not page.locator(".doc-sidebar").is_visible()
    assert not page.locator("#level-switch").is_visible()
    after = page.evaluate("() => getComputedStyle(document.querySelector('.doc-body a.ref-term'), '::after').content")
    assert "/document/glossary#term-" in after


@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_nothing_serious_and_screenshots(page: Any, axe: Any, screenshot: Any, name: str) -> None:
    page.goto(PAGES[name])
    assert axe(page) == [], name
    assert page.console_errors == [] or name == "document-not-found"  # the 404 response itself is logged
    for path in screenshot(page, name):
        assert path.stat().st_size > 10_000


@pytest.mark.parametrize("anchor", ["principle-loose-coupling", "principle-reuse", "principle-discoverable"])
def test_searching_the_document_for_a_principle_finds_its_section_first(page: Any, anchor: str) -> None:
    section = chapter("principles").section(anchor)
    assert section is not None
    page.goto("/document/principles")
    box = page.get_by_role("search").get_by_role("searchbox")
    box.fill(section.title)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?"))
    assert "kind=section" in page.url
    first = page.locator(".results h3 a").first
    assert first.get_attribute("href") == f"/document/principles#{anchor}"
    assert first.inner_text() == section.title
    first.click()
    page.wait_for_url(re.compile(f"/document/principles#{anchor}$"))
