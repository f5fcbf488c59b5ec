"""The home, search, service and submit pages in a real browser: what a reader sees and can do, with the
keyboard alone, with JavaScript off, and what axe-core says about them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from catalogue.auth import accounts
from catalogue.db import db
from catalogue.services.interface import METHODS

# Page renderings of the seed catalogue: in CI, one of the two passes runs them (tests/conftest.py).
pytestmark = pytest.mark.database_independent

SEEDS = Path(__file__).resolve().parents[2] / "seed_services"
PASSWORD = "a long enough browser password"
SUBMITTER = "browser-submitter@istat.example"

SERVICE_HITS = ".results .hit:not(.doc-hit)"
PAGES = {
    "home": "/",
    "search": "/search?q=record+linkage",
    "service": "/services/pxwebapi",
    "submit": "/submit",
}


@pytest.fixture(scope="module")
def submitter(live_app: Flask) -> str:
    """A submitter of ISTAT who signs in with a password."""
    with live_app.app_context(), db.transaction() as session:
        accounts.create_user(session, SUBMITTER, "ISTAT", "submitter", password=PASSWORD, token_days=None)
    return SUBMITTER


def sign_in(page: Any, email: str, next_path: str) -> None:
    """Sign in through the sign-in form, landing on next_path."""
    page.goto(next_path)
    assert "/auth/sign-in" in page.url, "an anonymous reader is sent to sign in first"
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]:has-text('Sign in')")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def open_page(page: Any, name: str, submitter: str) -> None:
    if name == "submit":
        sign_in(page, submitter, PAGES["submit"])
    else:
        page.goto(PAGES[name])


def seed_operations(slug: str) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in a seed service's OpenAPI document, read from the file itself."""
    content = yaml.safe_load((SEEDS / f"{slug}.yaml").read_text("utf-8"))
    paths = content["specification"]["interface"]["openapi"]["paths"]
    return [(method.upper(), path) for path, item in paths.items() for method in METHODS if method in item]


# --- home ----------------------------------------------------------------------------------------


def test_gsbpm_matrix_counts_equal_the_api_facet_counts(page: Any) -> None:
    page.goto("/")
    shown = page.eval_on_selector_all(
        ".gsbpm-matrix .cell", "cells => cells.map(c => [c.dataset.code, +c.querySelector('.count').dataset.count])"
    )
    api = page.request.get("/api/v1/search?per_page=1").json()["facets"]["subprocess"]
    expected = {facet["value"]: facet["count"] for facet in api}
    assert len(shown) == 44  # the sub-processes of GSBPM 5.1's eight phases
    assert sum(count for _code, count in shown) > 0
    assert {code: count for code, count in shown if count} == expected
    assert page.locator(".gsbpm-matrix .phase").count() == 8


def test_clicking_a_matrix_cell_filters_the_search(page: Any) -> None:
    page.goto("/")
    cell = page.locator(".gsbpm-matrix .cell:not(.empty)").first
    code, count = cell.get_attribute("data-code"), int(cell.locator(".count").get_attribute("data-count"))
    cell.click()
    page.wait_for_url(re.compile(r"/search\?subprocess=" + re.escape(code)))
    assert page.locator(SERVICE_HITS).count() == min(count, 20)
    assert page.locator(".total").inner_text().startswith(f"{count} service")
    assert page.locator(f"input[type=checkbox][name=subprocess][value='{code}']").is_checked()


def test_search_for_a_seed_service_highlights_the_words(page: Any) -> None:
    page.goto("/")
    page.fill("#home-q", "record linkage")
    page.press("#home-q", "Enter")
    page.wait_for_url(re.compile(r"/search\?q=record\+linkage"))
    first = page.locator(SERVICE_HITS).first
    # Two seeds are record-linkage toolkits (Istat's RELAIS and Splink) implementing the one "Record linkage"
    # Definition, each shown by its own implementation name; either may rank first.
    assert first.get_by_role("heading").inner_text().upper() in {"RELAIS", "SPLINK"}
    marks = first.locator("mark")
    assert marks.count() >= 1
    # The index stems words, so "records" matches "record".
    assert all(m.lower().startswith(("record", "linkage")) for m in marks.all_inner_texts())


def test_autocomplete_is_a_combobox_that_opens_a_service(page: Any) -> None:
    page.goto("/")
    box = page.locator("#home-q")
    box.press_sequentially("relai", delay=30)
    # The answer to "relai" shown, not an earlier one to "re" (under load it can come first, and the answer to
    # "relai" then replaces the list while the arrow keys walk it).
    page.wait_for_function(
        """() => {
            const options = [...document.querySelectorAll("#home-q ~ [role=listbox] [role=option]")];
            return options.some(li => li.dataset.kind === "service")
                && options.every(li => li.dataset.value.toLowerCase().includes("relai"));
        }"""
    )
    assert box.get_attribute("aria-expanded") == "true"
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == page.locator("[role=option]").first.get_attribute("id")
    while page.locator("[role=option][aria-selected=true]").get_attribute("data-kind") != "service":
        box.press("ArrowDown")
    slug = page.locator("[role=option][aria-selected=true]").get_attribute("data-id")
    box.press("Enter")
    page.wait_for_url(re.compile(f"/services/{slug}$"))


def test_a_later_answer_keeps_the_suggestion_the_arrow_keys_chose(page: Any) -> None:
    # "rela" and "relai" both suggest the service RELAIS: the answer to "relai" arrives after the reader chose
    # RELAIS with the arrow keys (under load it may arrive late on its own, as one to a slower request would).
    page.goto("/")
    box = page.locator("#home-q")
    box.press_sequentially("rela", delay=30)
    page.locator("#home-q ~ [role=listbox] [role=option][data-kind=service]").first.wait_for()
    box.press("ArrowDown")
    chosen = page.locator("[role=option][aria-selected=true]")
    assert chosen.get_attribute("data-value") == "RELAIS"
    with page.expect_response(lambda response: "q=relai" in response.url):
        box.press("i")
    page.wait_for_timeout(200)  # the answer is rendered just after its response event
    assert chosen.get_attribute("data-value") == "RELAIS"
    assert box.get_attribute("aria-activedescendant") == chosen.get_attribute("id")


# --- service page -------------------------------------------------------------------------------


def test_service_page_shows_every_operation_of_its_openapi_document(page: Any) -> None:
    expected = seed_operations("pxwebapi")
    assert len(expected) >= 5
    page.goto("/services/pxwebapi")
    page.get_by_role("tab", name="Specification").click()
    operations = page.locator(".operation")
    shown = [(op.locator(".method").first.inner_text(), op.locator(".path").inner_text()) for op in operations.all()]
    assert shown == expected
    # $refs are followed: the TablesResponse schema of the first response shows its properties.
    assert operations.first.locator(".tree .prop").count() > 0
    assert operations.first.locator(".ref-name", has_text="TablesResponse").count() >= 1


def test_service_tabs_work_with_arrow_keys_and_links(page: Any) -> None:
    page.goto("/services/pxwebapi")
    tabs = page.get_by_role("tab")
    assert tabs.all_inner_texts()[:3] == ["Definition", "Specification", "Implementation"]
    assert page.locator("#definition").is_visible() and not page.locator("#specification").is_visible()
    tabs.first.focus()
    page.keyboard.press("ArrowRight")
    assert page.locator("#specification").is_visible() and not page.locator("#definition").is_visible()
    page.click("a[href='#compliance']")
    page.locator("#compliance").wait_for(state="visible")  # the tab follows the hashchange event
    assert not page.locator("#specification").is_visible()
    assert page.locator("#compliance .criterion").count() > 5


# --- submit -------------------------------------------------------------------------------------


def test_pasting_a_broken_descriptor_marks_the_right_line(page: Any, submitter: str) -> None:
    sign_in(page, submitter, "/submit")
    text = (Path(__file__).resolve().parents[1] / "data" / "good.yaml").read_text("utf-8")
    lines = text.splitlines()
    broken_line = next(n for n, line in enumerate(lines, 1) if line.strip().startswith("maturity:"))
    lines[broken_line - 1] = lines[broken_line - 1].replace("pilot", "experimental")
    page.fill("#descriptor", "\n".join(lines) + "\n")
    problem = page.locator(f"#problems .problem[data-line='{broken_line}']")
    problem.wait_for()
    assert "/implementation/maturity" in problem.inner_text()
    assert page.locator("#problems .problem").count() == 1
    assert page.locator(f".gutter .ln[data-line='{broken_line}']").get_attribute("class") == "ln error-line"
    assert page.locator(".backdrop .band").count() == 1
    assert "1 error" in page.locator("#problems-status").inner_text()
    # Following the problem's link puts the caret on that line of the editor.
    problem.locator(".line-link").click()
    caret_line = page.evaluate(
        "() => { const t = document.querySelector('#descriptor');"
        " return t.value.slice(0, t.selectionStart).split('\\n').length; }"
    )
    assert caret_line == broken_line
    # Fixed, the list empties and the descriptor can be saved as a draft.
    lines[broken_line - 1] = lines[broken_line - 1].replace("experimental", "pilot")
    page.fill("#descriptor", "\n".join(lines) + "\n")
    page.locator("#problems-status", has_text="No errors").wait_for()
    page.click("button[value=draft]")
    page.wait_for_url(re.compile(r"/services/demo-linkage/versions/1\.0\.0\?saved=draft"))
    assert page.locator(".badge.status-draft").count() == 1


def test_submit_without_javascript_shows_the_server_report(new_page: Any, submitter: str) -> None:
    page = new_page(java_script_enabled=False)
    sign_in(page, submitter, "/submit")
    page.fill("#descriptor", "cspa: '2.0'\nid: [unclosed\n")
    page.click("button[value=submit]")
    assert page.locator("#problems .problem").count() == 1
    assert page.locator("#problems .problem .line-link").inner_text().startswith("Line ")


# --- every page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["home", "service"])
def test_tab_key_reaches_every_control(page: Any, name: str, submitter: str) -> None:
    open_page(page, name, submitter)
    controls = page.evaluate("""() => {
        const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';
        const all = [...document.querySelectorAll(selector)].filter(el => !el.disabled && el.getClientRects().length
            && getComputedStyle(el).visibility !== 'hidden' && !el.closest('[hidden]'));
        all.forEach((el, i) => el.dataset.probe = i);
        // Of a tablist only the selected tab is a Tab stop (arrow keys move between the tabs).
        return all.filter(el => el.getAttribute('role') !== 'tab' || el.getAttribute('aria-selected') === 'true')
                  .map(el => el.dataset.probe);
    }""")
    assert len(controls) > 10
    reached = set()
    for _ in range(len(controls) + 5):
        page.keyboard.press("Tab")
        probe = page.evaluate("() => document.activeElement && document.activeElement.dataset.probe")
        if probe is not None:
            reached.add(probe)
    missing = [c for c in controls if c not in reached]
    assert not missing, page.evaluate(
        "ids => ids.map(i => document.querySelector(`[data-probe='${i}']`).outerHTML.slice(0, 120))", missing
    )


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violation(page: Any, axe: Any, name: str, submitter: str) -> None:
    open_page(page, name, submitter)
    assert axe(page) == []
    assert page.console_errors == []


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violation_in_dark_mode(new_page: Any, axe: Any, name: str, submitter: str) -> None:
    page = new_page(color_scheme="dark")
    open_page(page, name, submitter)
    assert axe(page) == []


def test_pages_read_without_javascript(new_page: Any) -> None:
    page = new_page(java_script_enabled=False)
    page.goto("/")
    assert page.locator(".gsbpm-matrix .cell").count() == 44
    assert page.locator(".recent .card").count() >= 1
    page.goto("/search?q=seasonal+adjustment")
    assert page.locator(SERVICE_HITS).count() >= 2
    page.goto("/services/pxwebapi")
    for panel in ("definition", "specification", "implementation", "compliance", "history"):
        assert page.locator(f"#{panel}").is_visible()
    assert page.locator(".operation").count() == len(seed_operations("pxwebapi"))
    assert page.locator("[role=tab]").count() == 0


def test_screenshots_of_every_page(new_page: Any, screenshot: Any, submitter: str) -> None:
    written = []
    for scheme in ("light", "dark"):
        page = new_page(color_scheme=scheme)
        suffix = "" if scheme == "light" else "-dark"
        for name in PAGES:
            open_page(page, name, submitter)
            if name == "submit":
                page.fill("#descriptor", "cspa: '2.0'\nid: demo\nversion: one\n")
                page.locator("#problems .problem").first.wait_for()
            written += screenshot(page, name + suffix)
        page.goto("/services/pxwebapi#specification")
        written += screenshot(page, "service-specification" + suffix)
        page.goto("/services/no-such-service")
        written += screenshot(page, "not-found" + suffix)
    assert all(path.stat().st_size > 5_000 for path in written)


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_fit_a_360_pixel_screen(new_page: Any, name: str, submitter: str) -> None:
    page = new_page(viewport={"width": 360, "height": 740})
    open_page(page, name, submitter)
    if name == "service":
        page.get_by_role("tab", name="Specification").click()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360


def test_print_shows_every_layer_without_navigation(page: Any) -> None:
    page.goto("/services/pxwebapi")
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible()
    assert not page.locator("[role=tablist]").is_visible()
    for panel in ("definition", "specification", "implementation", "compliance", "history"):
        assert page.locator(f"#{panel}").is_visible()
