"""The service page shows every kind of interface: WSDL operations with their messages, AsyncAPI operations with
their payloads, command-line commands with arguments and files, library functions and classes."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from flask import Flask

from catalogue.auth import actors
from catalogue.db import db
from catalogue.services import descriptors, workflow
from tests.conftest import DATA, app_on_empty_database

EXAMPLES = DATA / "interfaces"


class _Text(HTMLParser):
    """The page's text as a reader sees it, one string with single spaces."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def _text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return parser.text


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with app_on_empty_database(tmp_path_factory.mktemp("interface-pages")) as app:
        with app.app_context():
            for path in sorted(EXAMPLES.glob("*.yaml")):
                with db.transaction() as session:
                    descriptor = descriptors.parse(path.read_bytes(), "yaml")
                    workflow.submit_version(session, actors.SYSTEM, descriptor, "yaml", "approved")
        yield app


def _page(app: Flask, slug: str) -> str:
    response = app.test_client().get(f"/services/{slug}")
    assert response.status_code == 200
    return _text(response.get_data(as_text=True))


def test_a_wsdl_interface_shows_its_port_type_operations_and_messages(app: Flask) -> None:
    text = _page(app, "demo-coding-soap")
    assert "SOAP operations (WSDL) 1" in text
    assert "CodeText portType CodingPort Codes one answer" in text
    assert "Input message CodeIn Output message CodeOut" in text
    assert "no machine-readable interface" not in text


def test_an_asyncapi_interface_shows_its_operations_and_payloads(app: Flask) -> None:
    text = _page(app, "demo-validation-events")
    assert "Messaging (AsyncAPI): Validation events 2" in text
    assert "receive onDatasetReceived on channel datasetReceived" in text
    assert "Message DatasetReceived" in text and "dataset string format: uri" in text
    assert "send publishValidation on channel validationDone" in text
    assert "datasets.validated" in text


def test_a_command_line_interface_shows_commands_arguments_and_files(app: Flask) -> None:
    text = _page(app, "demo-editing-batch")
    assert "Command line: demoedit 2" in text
    assert "Command check Lists the records that break a rule" in text
    assert "demoedit check --rules RULES --data DATA" in text
    assert "--rules required the edit rules" in text
    assert "Files read --data — text/csv (Unit Data Set)" in text
    assert "Files written report.csv — text/csv: one line per broken rule" in text


def test_a_library_interface_shows_functions_classes_and_methods(app: Flask) -> None:
    text = _page(app, "demo-sdc-library")
    assert "Library: demoSdc (R)" in text
    assert "createSdcObj(dat, keyVars) Prepares the data Wraps a data frame" in text
    assert "Returns: an sdc object" in text
    assert "Class SdcReport" in text and "SdcReport.render() Shows the risk report" in text
