"""Browser tests: the real app, seeded with every seed service, served on a loopback port and driven by
Debian's headless chromium through Playwright.

Fixtures for every browser test module:
- `live_app` / `live_url`: the Flask app and the base URL of the server (session scope, one seeded database);
- `browser`: one chromium for the session; `page`: a fresh context and page per test, with the console
  errors it printed in `page.console_errors` (a refused inline script shows there);
- `axe(page)`: the serious and critical accessibility violations axe-core finds on the page;
- `screenshot(page, name)`: full-page PNGs at 1280 and 375 px in tests/browser/artefacts/.

Every test in this folder is marked `browser` (run them alone with `pytest -m browser`) and may use loopback
sockets. Without chromium they skip with the reason, except on CI, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import seeded_app

HERE = Path(__file__).parent
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
# One folder per database, so the SQLite and PostgreSQL passes that CI runs side by side never write one file.
ARTEFACTS = (
    HERE
    / "artefacts"
    / ("postgresql" if os.environ.get("CATALOGUE_DATABASE_URL", "").startswith("postgres") else "sqlite")
)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTHS = (1280, 375)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder `browser`, and let it open loopback sockets (the live server)."""
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.enable_socket)


def _require(path: Path, how: str) -> None:
    if path.exists():
        return
    message = f"{path} is missing: {how}"
    if os.environ.get("CI"):  # CI installs both, so a missing one there is a broken pipeline, not a skip
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The real app on a real database (SQLite file, or CATALOGUE_DATABASE_URL) with the seed services loaded."""
    with seeded_app(tmp_path_factory.mktemp("live")) as app:
        yield app


def _buffered(app: Any) -> Any:
    """app, with each response read whole (and its file closed) before werkzeug sends a byte of it.

    A browser that closes a page while a static file is still being sent drops the connection; werkzeug
    then leaves that file for the garbage collector, whose ResourceWarning would fail whichever test runs.
    """

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture(scope="session")
def live_url(live_app: Flask) -> Iterator[str]:
    """The base URL (no trailing slash) of werkzeug serving live_app on a free loopback port."""
    server = make_server("127.0.0.1", 0, _buffered(live_app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    """Playwright's driver for the session."""
    _require(CHROMIUM, "install Debian's chromium (apt-get install -y chromium); .ci/run does it on CI")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[Any]:
    """One headless chromium for the whole session (Playwright's own browser builds cannot be downloaded)."""
    chromium = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def new_page(browser: Any, live_url: str) -> Iterator[Callable[..., Any]]:
    """A factory of pages in fresh contexts (options as for browser.new_context, e.g. java_script_enabled)."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", {"width": WIDTHS[0], "height": 900})
        context = browser.new_context(base_url=live_url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A page in a fresh browser context whose relative URLs go to the live server."""
    return new_page()


@pytest.fixture(scope="session")
def axe() -> Callable[[Any], list[dict[str, Any]]]:
    """A function running axe-core on a page and returning its serious and critical violations."""
    _require(AXE_JS, "run `npm ci` in tests/browser (`make test` does it)")
    source = AXE_JS.read_text("utf-8")

    def run(page: Any) -> list[dict[str, Any]]:
        # Evaluated through the DevTools protocol rather than a <script> tag, so the page's
        # Content-Security-Policy (no inline scripts) stays as strict as in production.
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(source)
        results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        return [
            {
                "id": violation["id"],
                "impact": violation["impact"],
                "help": violation["help"],
                "targets": [node["target"] for node in violation["nodes"]][:5],
            }
            for violation in results["violations"]
            if violation["impact"] in ("serious", "critical")
        ]

    return run


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Any, str], list[Path]]:
    """A function writing full-page screenshots of a page at 1280 and 375 px; returns the PNG paths."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> list[Path]:
        original = page.viewport_size
        paths = []
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            path = ARTEFACTS / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        if original:
            page.set_viewport_size(original)
        return paths

    return take


def sign_in_as(page: Any, email: str, password: str) -> None:
    """Sign in through the sign-in form by the labels a person reads, and check the page let them in."""
    page.goto("/auth/sign-in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/auth/sign-in" not in page.url, page.content()
