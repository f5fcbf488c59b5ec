"""The service page and the review page show, next to each criterion, the CSPA 2.0 section it comes from;
`catalogue assess` prints each outcome and a summary table."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalogue.auth import accounts
from catalogue.cli import main
from catalogue.services import compliance
from tests.conftest import DATA, app_on_empty_database, database_of
from tests.test_cli import run

PASSWORD = "a long enough test password"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app holding the fully described REST service, approved, and a reviewer who can sign in."""
    folder = tmp_path_factory.mktemp("compliance-pages")
    seeds = folder / "seeds"
    seeds.mkdir()
    shutil.copy(DATA / "compliance" / "rest.yaml", seeds / "rest.yaml")
    with app_on_empty_database(folder) as app:
        result = app.test_cli_runner().invoke(main, ["seed", "--dir", str(seeds)])
        assert result.exit_code == 0, result.output
        with database_of(app).transaction() as session:
            accounts.create_user(session, "reviewer@cbs.example", "CBS", "reviewer", password=PASSWORD)
        yield app


def _citations(page: str) -> list[tuple[str, str]]:
    return re.findall(r'class="source">From <a href="([^"]+)">([^<]+)</a>', page)


def test_the_service_page_cites_each_criterion_source(published: Flask) -> None:
    page = published.test_client().get("/services/linkage-rest").get_data(as_text=True)
    cited = _citations(page)
    assert len(cited) == len(compliance.criteria())
    for criterion, (url, document) in zip(compliance.criteria(), cited, strict=True):
        assert (url, document) == (criterion["source"]["url"], criterion["source"]["document"])
    assert "Statistical Service Specification: input messages, output message" in page
    assert "100%" in page


def _sign_in(client: FlaskClient, email: str) -> None:
    token = _TOKEN.search(client.get("/auth/sign-in").get_data(as_text=True)).group(1)
    answer = client.post("/auth/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302


def test_the_review_page_cites_each_criterion_source(published: Flask) -> None:
    client = published.test_client()
    _sign_in(client, "reviewer@cbs.example")
    page = client.get("/review/linkage-rest/1.0.0").get_data(as_text=True)
    assert len(_citations(page)) == len(compliance.criteria())
    assert "§II Protocols for invoking service endpoints" in page


def test_assess_prints_every_outcome_with_its_reason(tmp_path: Path) -> None:
    result = run("assess", str(DATA / "compliance" / "rest.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("rest.yaml: 100% of the applicable criteria pass")
    assert [line.split()[1].rstrip(":") for line in lines[1:]] == [c["id"] for c in compliance.criteria()]
    assert "  pass            gsbpm-aligned: Serves 1 GSBPM 5.1 sub-process." in lines


def test_assess_summary_counts_each_outcome_and_names_the_failing_files(tmp_path: Path) -> None:
    broken = tmp_path / "no-contact.yaml"
    text = (DATA / "compliance" / "library.yaml").read_text("utf-8")
    broken.write_text(text.split("contacts:")[0], "utf-8")
    result = run("assess", "--summary", str(DATA / "compliance" / "rest.yaml"), str(broken), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert set(rows) == {c["id"] for c in compliance.criteria()}
    assert rows["contact"] == ["contact", "1", "1", "0", "no-contact"]
    assert rows["gsbpm-aligned"] == ["gsbpm-aligned", "2", "0", "0"]


def test_assess_reports_an_unreadable_file_and_exits_2(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("id: [unclosed\n", "utf-8")
    result = run("assess", str(garbage), str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{garbage}: error:" in result.stderr and "missing.yaml: error: cannot read the file" in result.stderr
