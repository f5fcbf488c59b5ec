"""Sections of the CSPA 2.0 document in the index beside services: found by name, kept apart, re-indexed on change."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalogue.document import content
from catalogue.search.index import plain_text
from tests.search.test_consistency import _submit

PRINCIPLES = content.chapter("principles")


def _principle(anchor: str) -> content.Section:
    assert PRINCIPLES is not None
    section = PRINCIPLES.section(anchor)
    assert section is not None, anchor
    return section


def _search(client: FlaskClient, **params: object) -> dict:
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.json
    return response.json


@pytest.mark.parametrize(
    "anchor",
    [
        "principle-loose-coupling",
        "principle-reuse",
        "principle-technology-neutral",
        "principle-configurable",
        "principle-discoverable",
    ],
)
def test_a_principle_searched_by_name_is_the_first_section(client: FlaskClient, anchor: str) -> None:
    section = _principle(anchor)
    body = _search(client, q=section.title, kind="section")
    first = body["hits"][0]
    assert first["kind"] == "section"
    assert first["id"] == f"principles#{anchor}"
    assert first["url"] == f"/document/principles#{anchor}"
    assert first["name"] == section.title
    assert first["purpose"] == PRINCIPLES.title
    assert first["audiences"] == list(section.audiences)
    assert "<mark" in first["highlights"]["name"]


def test_sections_are_apart_from_services_and_out_of_their_facets(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        _submit("coupling-tool", "Loose coupling helper")
    services = _search(client, q="loose coupling")
    assert [h["id"] for h in services["hits"]] == ["coupling-tool"]
    assert {h["kind"] for h in services["hits"]} == {"service"}
    assert sum(f["count"] for f in services["facets"]["organisation"]) == services["total"] == 1
    everything = _search(client, q="loose coupling", kind="all", per_page=50)
    kinds = {h["id"]: h["kind"] for h in everything["hits"]}
    assert kinds["coupling-tool"] == "service" and kinds["principles#principle-loose-coupling"] == "section"
    assert everything["total"] == len(kinds) > 2
    assert everything["facets"] == services["facets"]
    # Sections have no facets: a filter narrows services and leaves the sections out.
    assert {h["kind"] for h in _search(client, q="loose coupling", kind="all", organisation="ISTAT")["hits"]} == {
        "service"
    }
    # Browsing without text counts services only.
    assert _search(client)["total"] == 1


def test_sections_are_visible_to_everyone(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    token = make_user("reader@cbs.example", "CBS", "submitter")
    anonymous = _search(client, q="stateless", kind="section")
    member = client.get("/api/v1/search?q=stateless&kind=section", headers={"Authorization": f"Bearer {token}"}).json
    assert anonymous["total"] == member["total"] > 0
    assert anonymous["hits"][0]["id"] == "principles#principle-stateless"


def test_a_bad_kind_is_problem_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/search?kind=chapter")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


def test_section_text_is_plain_words() -> None:
    markdown = "See [[gsbpm:5.1|integrate data]] and [[term:statistical service]], **bold** `code` [a link](https://x.example)\n::: gsbpm-figure\n<abbr>GSIM</abbr>"
    assert plain_text(markdown) == "See integrate data and statistical service, bold code a link GSIM"


@pytest.fixture
def edited_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the document's content the test may edit, loaded in place of the real one."""
    folder = tmp_path / "content"
    shutil.copytree(content.CONTENT_DIR, folder)
    monkeypatch.setattr(content, "CONTENT_DIR", folder)
    content.chapters.cache_clear()
    content.glossary.cache_clear()
    yield folder
    monkeypatch.undo()
    content.chapters.cache_clear()
    content.glossary.cache_clear()


def test_a_content_change_is_indexed_before_the_next_search(
    app: Flask, client: FlaskClient, edited_content: Path
) -> None:
    assert _search(client, q="quagga", kind="section")["total"] == 0
    search_index = app.extensions["catalogue.search"].index
    with search_index.lock:
        before = search_index.searcher().document(key="__state__")["content_hash"]
    path = edited_content / "03-principles.md"
    text = path.read_text("utf-8")
    title = _principle("principle-loose-coupling").title
    path.write_text(re.sub(rf"^## {re.escape(title)} ", "## Loose quagga coupling ", text, flags=re.MULTILINE), "utf-8")
    content.chapters.cache_clear()  # as a new release of the application would load it
    body = _search(client, q="quagga", kind="section")
    assert [(h["id"], h["name"]) for h in body["hits"]] == [
        ("principles#principle-loose-coupling", "Loose quagga coupling")
    ]
    with search_index.lock:
        state = search_index.searcher().document(key="__state__")
        assert state["content_hash"] != before
        assert search_index.count("section") == sum(len(c.sections) for c in content.chapters())
    # A second instance opening the same index folder sees the new sections without rebuilding.
    search_index.close()
    assert _search(client, q="quagga", kind="section")["total"] == 1


def test_search_page_lists_document_sections_beside_services(client: FlaskClient) -> None:
    html = client.get("/search?q=loose+coupling").get_data(as_text=True)
    assert "In the CSPA 2.0 document" in html
    assert 'href="/document/principles#principle-loose-coupling"' in html
    sections = client.get("/search?q=loose+coupling&kind=section").get_data(as_text=True)
    assert 'href="/document/principles#principle-loose-coupling"' in sections
    assert 'id="filters"' not in sections  # sections have no facets
