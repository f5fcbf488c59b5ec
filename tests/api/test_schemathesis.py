"""Schemathesis against the live app: every operation of /api/openapi.json, a bounded number of generated
requests each, with no server error and no response that breaks the document's own schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from catalogue.auth import accounts
from catalogue.cli import main
from catalogue.db import db
from tests.conftest import app_on_empty_database


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
    return schemathesis.openapi.from_wsgi("/api/openapi.json", seeded[0])


@pytest.fixture(scope="module")
def token(seeded: tuple[Flask, str]) -> str:
    return seeded[1]


def test_no_server_error_and_every_answer_matches_the_document(api_schema, token):
    # Each operation's generated cases run under hypothesis here rather than through schemathesis's pytest
    # plugin, which does not load under the pytest we pin; the checks and the strategies are the same.
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 19
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            check()
        except Exception as failure:  # noqa: BLE001 -- collect every operation's failure, then report them all
            failures[operation.label] = str(failure)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
