"""The review workflow end to end in a real browser: submit, request changes, resubmit, approve, find.

A submitter of one organisation signs in and submits a service; a reviewer of another organisation asks
for changes; the submitter submits a new version; the reviewer approves it; an anonymous visitor then
finds it by search. Each step leaves a screenshot in tests/browser/artefacts/story-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from catalogue.auth import accounts, actors
from catalogue.db import db
from catalogue.services import reads
from tests.browser.conftest import sign_in_as

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
    sign_in_as(page, email, PASSWORD)


def _submit(page, version: str) -> None:
    page.goto("/submit")
    page.locator("#descriptor").fill(_descriptor(version))
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url(re.compile(rf"/services/{SLUG}"))


def _review(page, screenshot, step: str, decision: str, comment: str = "", axe=None) -> None:
    page.goto("/review/")
    if axe is not None:
        assert axe(page) == [], "the review queue"
        screenshot(page, "review-queue")
    page.get_by_role("link", name="Storybook editing and imputation").click()
    page.get_by_role("button", name="Start review").click()
    if axe is not None:
        assert axe(page) == [], "the review page"
        screenshot(page, "review-version")
        # The second version is compared with the one changes were requested on.
        assert "Compared with version 1.0.0 (changes requested; no version is approved yet)" in page.inner_text("main")
    page.get_by_role("radio", name=decision, exact=True).check()
    if comment:
        page.get_by_label(re.compile("^Comment to the submitters")).fill(comment)
    screenshot(page, f"story-{step}")
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_url(re.compile(r"/review/$"))


def test_submit_request_changes_resubmit_approve_then_find(live_app, new_page, screenshot, axe):
    with live_app.app_context(), db.transaction() as session:
        accounts.create_user(
            session, "story-submitter@ssb.example", "SSB", "submitter", password=PASSWORD, token_days=None
        )
        accounts.create_user(
            session, "story-reviewer@cbs.example", "CBS", "reviewer", password=PASSWORD, token_days=None
        )

    submitter, reviewer, visitor = new_page(), new_page(), new_page()
    submitter.goto("/auth/sign-in")
    assert axe(submitter) == [], "the sign-in page"
    screenshot(submitter, "sign-in")
    _sign_in(submitter, "story-submitter@ssb.example")
    submitter.goto("/submit/start")
    assert axe(submitter) == [], "the start-from-a-form page"
    screenshot(submitter, "submit-start-form")
    _submit(submitter, "1.0.0")
    screenshot(submitter, "story-1-submitted")

    _sign_in(reviewer, "story-reviewer@cbs.example")
    _review(reviewer, screenshot, "2-changes-requested", "Request changes", "Please name the GSIM outputs precisely.")

    visitor.goto(f"/search?q={SLUG.replace('-', '+')}")
    assert SLUG not in visitor.content()  # nothing approved yet, so nothing public

    _submit(submitter, "1.1.0")
    screenshot(submitter, "story-3-resubmitted")
    _review(reviewer, screenshot, "4-approved", "Approve", axe=axe)

    visitor.goto("/search?q=Storybook+editing")
    result = visitor.get_by_role("link", name=re.compile("Storybook editing and imputation"))
    assert result.count() >= 1
    screenshot(visitor, "story-5-found")
    result.first.click()
    visitor.wait_for_url(re.compile(rf"/services/{SLUG}$"))  # content() read mid-navigation is empty
    visitor.wait_for_load_state()
    assert "1.1.0" in visitor.content()

    # The whole trail as a reviewer sees it (the browser's API calls carry no token: it is read here).
    with live_app.app_context(), db.transaction() as session:
        events = reads.service_history(session, actors.SYSTEM, SLUG)
        kinds = [(event.kind, event.data.get("version")) for event in events]
    assert kinds == [
        ("version.submitted", "1.0.0"),
        ("version.in_review", "1.0.0"),
        ("version.changes_requested", "1.0.0"),
        ("version.submitted", "1.1.0"),
        ("version.in_review", "1.1.0"),
        ("version.approved", "1.1.0"),
    ]
    # Anonymous readers see only the public version's events.
    public = visitor.request.get(f"/api/v1/services/{SLUG}/history").json()
    assert [(e["kind"], e["version"]) for e in public] == kinds[3:]
    for page in (submitter, reviewer, visitor):
        assert page.console_errors == []
