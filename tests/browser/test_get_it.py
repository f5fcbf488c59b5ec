"""The "Get it" box and the starter form's new fields in a real browser: the copy button puts the command on
the clipboard and says so, the text is selectable without JavaScript, axe finds nothing serious, and a library
with a CRAN distribution goes from the starter form to its service page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from catalogue.auth import accounts
from catalogue.db import db

PASSWORD = "a long enough browser password"
STARTER = "browser-starter@statistik-austria.example"


@pytest.fixture(scope="module")
def starter(live_app: Flask) -> str:
    """A submitter of Statistics Austria who signs in with a password."""
    with live_app.app_context(), db.transaction() as session:
        accounts.create_user(session, STARTER, "STATISTIK-AUSTRIA", "submitter", password=PASSWORD, token_days=None)
    return STARTER


def _sign_in(page: Any, email: str, next_path: str) -> None:
    page.goto(next_path)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]:has-text('Sign in')")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def _implementation(page: Any, slug: str) -> Any:
    page.goto(f"/services/{slug}")
    page.get_by_role("tab", name="Implementation").click()
    box = page.locator("#get-it")
    box.wait_for(state="visible")
    return box


def test_the_copy_button_puts_the_command_on_the_clipboard_and_says_copied(new_page: Any) -> None:
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    box = _implementation(page, "sdcmicro")
    assert box.locator("code").inner_text() == 'install.packages("sdcMicro")'
    button = box.get_by_role("button", name=re.compile("^Copy"))
    button.click()
    status = box.get_by_role("status")
    status.wait_for()
    page.wait_for_function("() => document.querySelector('#get-it [role=status]').textContent === 'Copied'")
    assert page.evaluate("() => navigator.clipboard.readText()") == 'install.packages("sdcMicro")'
    assert page.console_errors == []


def test_a_maven_artefact_is_a_dependency_block(new_page: Any) -> None:
    box = _implementation(new_page(), "jdemetra-plus")
    # The seed's Maven distribution: JDemetra+'s seasonal-adjustment API at the seed's software version.
    block = box.locator("code").inner_text()
    assert "<groupId>eu.europa.ec.joinup.sat</groupId>" in block and "<version>3.7.1</version>" in block
    assert box.locator(".get-it-label").all_inner_texts() == ["Download", "Maven (Java)"]


def test_without_javascript_the_command_is_text_to_select_and_no_button_shows(new_page: Any) -> None:
    page = new_page(java_script_enabled=False)
    page.goto("/services/banff-processor")
    box = page.locator("#get-it")
    assert box.locator("code").inner_text() == "pip install banffprocessor"
    assert not box.locator("button").is_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violation_in_the_get_it_box(new_page: Any, axe: Any, scheme: str) -> None:
    page = new_page(color_scheme=scheme, permissions=["clipboard-read", "clipboard-write"])
    box = _implementation(page, "sdcmicro")
    box.get_by_role("button", name=re.compile("^Copy")).click()
    page.wait_for_function("() => document.querySelector('#get-it [role=status]').textContent === 'Copied'")
    assert axe(page) == []


def test_the_starter_form_makes_a_library_with_a_cran_distribution(new_page: Any, axe: Any, starter: str) -> None:
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    _sign_in(page, starter, "/submit/start")
    assert axe(page) == []
    page.fill("#f-id", "sdcmicro-browser")
    page.fill("#f-version", "1.0.0")
    page.fill("#f-name", "sdcMicro from the form")
    page.fill("#f-purpose", "Anonymises microdata and estimates disclosure risk in R.")
    page.fill("#f-business_function", "Disclosure control")
    page.fill("#f-outcomes", "Anonymised microdata")
    page.select_option("#f-gsbpm", ["6.4"])
    page.select_option("#f-inputs", ["Unit Data Set"])
    page.select_option("#f-outputs", ["Unit Data Set"])
    page.select_option("#f-protocol", "library")
    # Only the fields of the chosen kind show.
    assert page.locator("#f-openapi").is_visible()
    page.select_option("#f-interface_kind", "library")
    assert not page.locator("#f-openapi").is_visible() and page.locator("#f-library_package").is_visible()
    page.fill("#f-library_language", "R")
    page.fill("#f-library_package", "sdcMicro")
    page.fill("#f-library_functions", "createSdcObj: builds the object holding the data")
    page.fill("#f-licence", "GPL-2.0-only")
    page.select_option("#f-deployment", ["library"])
    page.fill("#f-software_version", "5.7.8")
    assert not page.locator("#f-distribution_package").is_visible()
    page.select_option("#f-distribution_kind", "cran")
    assert (
        page.locator("#f-distribution_package").is_visible() and not page.locator("#f-distribution_image").is_visible()
    )
    page.fill("#f-distribution_package", "sdcMicro")
    assert axe(page) == []
    page.click("button:has-text('Open in the editor')")
    page.get_by_text("every field is filled in correctly").wait_for()
    editor = page.locator("#descriptor").input_value()
    assert "kind: cran" in editor and "software_version: 5.7.8" in editor
    page.click("button[value=draft]")
    page.wait_for_url(re.compile(r"/services/sdcmicro-browser/versions/1\.0\.0\?saved=draft$"))
    box = _implementation(page, "sdcmicro-browser")
    assert box.locator("code").inner_text() == 'install.packages("sdcMicro")'
    assert page.get_by_text("Software version", exact=True).is_visible()  # the field, not the criterion
    page.get_by_role("tab", name="Specification").click()
    assert page.get_by_role("heading", name="Library: sdcMicro (R)").is_visible()  # as _interfaces.html names it
    assert axe(page) == []
    assert page.console_errors == []
