"""Seed services of every kind in a real browser: the "Get it" box shows a real install line, and the
Specification tab shows the service's interface, as a statistician opening the page sees it. The kinds are
those the seeds have: web services with an OpenAPI document, SOAP web services with a WSDL document (the SDMX-RI's
NSI web service and the SDMX Converter web service), libraries (R, Python, JavaScript, Java) and command-line
programs. No seed publishes an AsyncAPI document (no statistical service was found to publish its messaging);
tests/browser/test_interface_kinds.py and the interface tests cover that kind."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from tests.browser.test_pages import SEEDS, seed_operations

# Page renderings of the seed catalogue: in CI, one of the two passes runs them (tests/conftest.py).
pytestmark = pytest.mark.database_independent

# (seed, what the Get it box's first line starts with; None: the seed has no distribution)
OPENAPI = [
    ("pxwebapi", None),
    ("pxstat", None),
    ("arc", None),
    ("dotstat-suite", None),
    ("eno", None),
    ("sdmx-ri", None),
]
LIBRARY = [
    ("sdcmicro", 'install.packages("sdcMicro")'),
    ("splink", "pip install splink"),
    ("lunatic", "npm install"),
    ("trevas", "<dependency>"),
]
COMMAND_LINE = [("x13arima-seats", None), ("jdemetra-plus", None), ("banff-processor", "pip install banffprocessor")]
WSDL = [("sdmx-converter", None), ("sdmx-ri", None)]
WSDL_NS = "{http://schemas.xmlsoap.org/wsdl/}"


def _interface(slug: str) -> dict[str, Any]:
    content = yaml.safe_load((SEEDS / f"{slug}.yaml").read_text("utf-8"))
    return content["specification"]["interface"]


def _get_it(page: Any, slug: str, starts: str | None) -> None:
    page.goto(f"/services/{slug}")
    distributions = yaml.safe_load((SEEDS / f"{slug}.yaml").read_text("utf-8"))["implementation"].get("distributions")
    box = page.locator("#get-it")
    if not distributions:
        assert box.count() == 0
        return
    assert box.is_visible()
    first = box.locator("code").first.inner_text() if box.locator("code").count() else box.inner_text()
    assert first.strip(), slug
    if starts is not None:
        assert first.startswith(starts), first


@pytest.mark.parametrize(("slug", "starts"), OPENAPI)
def test_a_web_service_seed_shows_get_it_and_every_operation(page: Any, slug: str, starts: str | None) -> None:
    _get_it(page, slug, starts)
    page.get_by_role("tab", name="Specification").click()
    # The OpenAPI operations: a seed may also show another kind's operations (the SDMX-RI's WSDL), which have no method.
    operations = page.locator(".operation:has(h4 .method)")
    shown = [(op.locator(".method").first.inner_text(), op.locator(".path").inner_text()) for op in operations.all()]
    assert shown == seed_operations(slug) and shown


@pytest.mark.parametrize(("slug", "starts"), LIBRARY)
def test_a_library_seed_shows_get_it_and_its_functions(page: Any, slug: str, starts: str | None) -> None:
    _get_it(page, slug, starts)
    library = _interface(slug)["library"]
    page.get_by_role("tab", name="Specification").click()
    section = page.get_by_role("region", name=f"Library: {library['package']} ({library['language']})")
    assert section.is_visible()
    assert section.locator(".operation").count() >= 1


@pytest.mark.parametrize(("slug", "starts"), COMMAND_LINE)
def test_a_command_line_seed_shows_get_it_and_its_commands(page: Any, slug: str, starts: str | None) -> None:
    _get_it(page, slug, starts)
    program = _interface(slug)["command_line"]["program"]
    page.get_by_role("tab", name="Specification").click()
    section = page.locator("section.interface-kind", has=page.locator("#command-line-title"))
    assert section.is_visible() and program in section.locator("h3").inner_text()
    assert section.locator(".operation").count() >= 1


def _port_type_operations(slug: str) -> list[str]:
    """The operations of the portTypes of the seed's WSDL, read from the seed file itself (a trusted file)."""
    root = ElementTree.fromstring(_interface(slug)["wsdl"].encode("utf-8"))
    return [op.get("name", "") for pt in root.iter(f"{WSDL_NS}portType") for op in pt.iter(f"{WSDL_NS}operation")]


@pytest.mark.parametrize(("slug", "starts"), WSDL)
def test_a_soap_seed_shows_get_it_and_every_wsdl_operation(page: Any, slug: str, starts: str | None) -> None:
    _get_it(page, slug, starts)
    page.get_by_role("tab", name="Specification").click()
    section = page.locator("section.interface-kind", has=page.locator("#wsdl-title"))
    assert section.is_visible()
    shown = section.locator(".operation h4 code").all_inner_texts()
    assert shown == _port_type_operations(slug) and shown
