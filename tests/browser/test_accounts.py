"""Accounts without a shell, in a real browser with real mail: an admin invites, the invited person sets a
password through the mailed link and signs in; someone who forgot their password gets a link and resets it.
axe-core finds no serious or critical violation on the new pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from catalogue.auth import accounts
from catalogue.db import db
from tests.browser.test_pages import PASSWORD, sign_in
from tests.mail_server import Inbox, app_sending_mail, body, link_in

ADMIN = "browser-admin@istat.example"
INVITED = "browser-invited@insee.example"


@pytest.fixture(scope="module")
def inbox(live_app: Flask) -> Iterator[Inbox]:
    """The live catalogue sends through a real SMTP server on the loopback for this module (its background
    sender delivers), with an admin who may invite."""
    with live_app.app_context(), db.transaction() as session:
        accounts.create_user(session, ADMIN, "ISTAT", "admin", password=PASSWORD, token_days=None)
    with app_sending_mail(live_app) as server_inbox:
        yield server_inbox


def _choose_password(page: Any, link: str, password: str) -> None:
    page.goto(urlsplit(link).path)
    page.get_by_label("New password").fill(password)
    page.get_by_label("The same password again").fill(password)
    page.click("button:has-text('Set my password')")
    page.wait_for_url(re.compile(r"/auth/sign-in$"))


def _sign_in_with(page: Any, email: str, password: str) -> None:
    page.goto("/auth/sign-in")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/$"))


def test_invite_then_set_a_password_then_sign_in(new_page: Any, axe: Any, inbox: Inbox) -> None:
    admin = new_page()
    sign_in(admin, ADMIN, "/admin/invitations")
    assert axe(admin) == []
    admin.get_by_label("E-mail address").fill(INVITED)
    admin.get_by_label("Display name").fill("Invited reviewer")
    admin.get_by_label("Organisation code").fill("INSEE")
    admin.get_by_label("Role").select_option("reviewer")
    admin.click("button:has-text('Send the invitation')")
    assert "is on its way by e-mail" in admin.locator(".flashes").inner_text()
    [mail] = inbox.wait_to(INVITED)
    assert "invited to the CSPA Catalogue as a reviewer" in body(mail)
    link = link_in(mail)
    person = new_page()
    person.goto(urlsplit(link).path)
    assert INVITED in person.locator("main").inner_text()
    assert axe(person) == []
    _choose_password(person, link, "an invited person's password")
    assert "Password set" in person.locator(".flashes").inner_text()
    _sign_in_with(person, INVITED, "an invited person's password")
    assert "Invited reviewer" in person.locator("header").inner_text()
    person.goto("/account/notifications")
    assert person.get_by_label(re.compile("waits for review")).is_checked()
    assert axe(person) == []
    # The link worked once.
    person.goto(urlsplit(link).path)
    assert "does not work any more" in person.locator("main").inner_text()
    assert axe(person) == []


def test_forgot_password_then_reset_it(new_page: Any, axe: Any, inbox: Inbox) -> None:
    page = new_page()
    page.goto("/auth/sign-in")
    assert "No account yet?" in page.locator("main").inner_text()
    page.click("a:has-text('Forgot your password?')")
    assert axe(page) == []
    page.get_by_label("E-mail address").fill(ADMIN)
    page.click("button:has-text('Send me a link')")
    assert "If an account uses this address" in page.locator(".flashes").inner_text()
    [mail] = inbox.wait_to(ADMIN)
    _choose_password(page, link_in(mail), "the admin's brand new password")
    _sign_in_with(page, ADMIN, "the admin's brand new password")
