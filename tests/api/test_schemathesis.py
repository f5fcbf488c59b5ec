"""Schemathesis against the live app: every operation of /api/openapi.json, with every check schemathesis has,
requests that follow the document and requests that break it, under several seeds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from catalogue.auth import accounts
from catalogue.cli import main
from catalogue.db import db
from tests.conftest import app_on_empty_database

# An outside tool's checks of the API against its own OpenAPI document: in `make test`, and in CI once, on
# SQLite, as its own step (what the database does behind the API is tested on both by the other tests).
pytestmark = pytest.mark.outside

SEEDS = (20261128, 1, 2)
"""The issue's seed and two more; each runs every operation in both modes."""

EXAMPLES = 6
"""Requests per operation, mode and seed: with three seeds and two modes about a minute for the whole run."""

# What the document cannot say, and why the answers differ from schemathesis's defaults:
# - a descriptor of the documented shape may still break the descriptor's rules (a GSBPM code that does not
#   exist, an operation id missing from its interface, YAML text that is not a mapping): 400 or 422, with
#   every problem;
# - /validate exists to report the problems of any descriptor: a broken one is answered 200, valid false;
# - a review's criteria must be the reviewed version's own, which only the stored version knows: 422;
# - a draft may be saved unfinished (?status=draft keeps a descriptor that breaks the document, with its report),
#   so a request that breaks the body's schema may be stored as a draft: 200 or 201.
_DEFAULT_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
_CONFIG = {
    "operations": [
        {
            "include-path": path,
            "include-method": "POST",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*_DEFAULT_ACCEPTED, "400", "422"]}},
        }
        for path in ("/api/v1/services", "/api/v1/validate", "/api/v1/services/{slug}/versions/{version}/reviews")
    ]
    + [
        {
            "include-path": "/api/v1/services",
            "include-method": "POST",
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": ["200", "201", "400", "401", "403", "404", "409", "415", "422"]
                }
            },
        },
        {
            "include-path": "/api/v1/validate",
            "include-method": "POST",
            "checks": {
                "negative_data_rejection": {"expected-statuses": ["200", "400", "401", "403", "404", "415", "422"]}
            },
        },
    ]
}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """The app with the seed services and an admin's token (so writes are exercised too)."""
    with app_on_empty_database(Path(tmp_path_factory.mktemp("fuzz"))) as app:
        assert app.test_cli_runner().invoke(main, ["seed"]).exit_code == 0
        with app.app_context(), db.transaction() as session:
            _user, token = accounts.create_user(session, "fuzz@unece.example", "UNECE", "admin")
        yield app, token or ""


@pytest.fixture(scope="module")
def api_schema(seeded: tuple[Flask, str]) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_wsgi("/api/openapi.json", seeded[0], config=SchemathesisConfig.from_dict(_CONFIG))


@pytest.fixture(scope="module")
def token(seeded: tuple[Flask, str]) -> str:
    return seeded[1]


def test_every_check_on_every_operation_under_several_seeds(api_schema, token):
    # Each operation's generated cases run under hypothesis here rather than through schemathesis's pytest
    # plugin, which does not load under the pytest we pin; the checks and the strategies are the same.
    load_all_checks()
    checks = CHECKS.get_all()
    assert len(checks) >= 14  # every built-in check, from not_a_server_error to allow_header_conformance
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 19
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for number in SEEDS:

                @seed(number)
                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
                def check(case: schemathesis.Case) -> None:
                    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks)

                try:
                    check()
                except Unsatisfiable:
                    continue  # an operation with nothing to break (no parameters, no body) has no negative case
                except Exception as failure:  # noqa: BLE001 -- collect every operation's failure, then report them all
                    failures[f"{operation.label} {mode.name} seed {number}"] = str(failure)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
