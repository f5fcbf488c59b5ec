"""The tokens and password pages in a real browser: a read-only token made by ticking boxes, and axe-core."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from catalogue.auth import accounts
from catalogue.db import db
from tests.browser.test_pages import PASSWORD, sign_in

EMAIL = "browser-tokens@istat.example"


@pytest.fixture(scope="module")
def person(live_app: Flask) -> str:
    """A submitter of ISTAT with a password and no token."""
    with live_app.app_context(), db.transaction() as session:
        accounts.create_user(session, EMAIL, "ISTAT", "submitter", password=PASSWORD, token_days=None)
    return EMAIL


def test_a_read_only_token_is_made_by_unticking_submit(page: Any, axe: Any, person: str) -> None:
    sign_in(page, person, "/auth/tokens")
    assert page.get_by_label("read").is_checked() and page.get_by_label("submit").is_checked()
    assert axe(page) == []
    page.get_by_label("Name").fill("read-only dashboard")
    page.get_by_label("submit").uncheck()
    page.click("button:has-text('Create token')")
    assert page.locator("#new-token").input_value().startswith("cspa_")
    row = page.locator("tr", has_text="read-only dashboard")
    assert row.locator("td").nth(2).inner_text() == "read"
    page.goto("/auth/password")
    assert "every API token of yours is revoked" in page.locator("main").inner_text()
    assert axe(page) == []
