"""The document's pages over the seeded catalogue: every route, reading levels, live links and figure counts."""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalogue import reference, resources
from catalogue.document import content, live, template
from catalogue.document.content import Chapter
from catalogue.document.views import LEVEL_COOKIE, LEVELS
from catalogue.search import searching
from catalogue.search.query import SearchRequest
from catalogue.services import compliance
from catalogue.services.permissions import Visibility
from tests.document.pages import Page, parse

CHAPTERS = content.chapters()
WRITTEN = [c for c in CHAPTERS if c.slug != content.GLOSSARY_SLUG]
SUBPROCESSES = list(reference.gsbpm().subprocesses)


@pytest.fixture
def client(seeded: Flask) -> FlaskClient:
    return seeded.test_client()


@pytest.fixture(scope="module")
def pages(seeded: Flask) -> dict[str, Page]:
    """Every chapter page at level "all", parsed once."""
    client = seeded.test_client()
    found = {}
    for chapter in WRITTEN:
        response = client.get(f"/document/{chapter.slug}?level=all")
        assert response.status_code == 200, chapter.slug
        found[chapter.slug] = parse(response.data)
    return found


def get(client: FlaskClient, url: str, status: int = 200, **kwargs: Any) -> Page:
    response = client.get(url, **kwargs)
    assert response.status_code == status, (url, response.status_code)
    return parse(response.data)


def api(client: FlaskClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/search", query_string={**params, "per_page": 100})
    assert response.status_code == 200, response.json
    return response.json


def descriptor(client: FlaskClient, slug: str) -> dict[str, Any]:
    """The service's current descriptor with every layer inline (its bundle): a Definition it refers to counts."""
    service = client.get(f"/api/v1/services/{slug}").json
    return client.get(f"/api/v1/services/{slug}/versions/{service['version']}").json["bundle"]


def section_ids(chapter: Chapter) -> list[str]:
    if "descriptor-template" in chapter.directives:
        return [s.anchor for s in template.template_sections(template.load_schema())]
    return [s.anchor for s in chapter.sections]


def hidden_sections(page: Page) -> set[str]:
    return {e.attrs["id"] for e in page.find("section") if "hidden" in e.attrs and "id" in e.attrs}


# --- contents and chapters ------------------------------------------------------------------------


def test_contents_lists_every_chapter_with_its_summary(client: FlaskClient) -> None:
    page = get(client, "/document/")
    hrefs = {a.attrs["href"] for a in page.find("a")}
    text = page.by_id("main").text
    for chapter in CHAPTERS:
        expected = "/document/glossary" if chapter.slug == content.GLOSSARY_SLUG else f"/document/{chapter.slug}"
        assert expected in hrefs, chapter.slug
        assert " ".join(chapter.summary.split()) in " ".join(text.split()), chapter.slug
    assert [h.text.strip() for h in page.find("h1")] == ["CSPA 2.0, the interactive document"]


@pytest.mark.parametrize("chapter", [pytest.param(c, id=c.slug) for c in WRITTEN])
def test_chapter_page_has_title_every_section_anchor_and_toc(pages: dict[str, Page], chapter: Chapter) -> None:
    page = pages[chapter.slug]
    assert [h.text.strip() for h in page.find("h1")] == [chapter.title]
    anchors = section_ids(chapter)
    assert anchors and set(anchors) <= page.ids()
    toc = [a.attrs["href"] for a in page.find("a") if "doc-toc" in a.within]
    assert toc == [f"#{a}" for a in anchors]
    permanent = [a.attrs["href"] for a in page.find("a", "heading-anchor")]
    assert permanent == [f"#{a}" for a in anchors]  # every heading carries its own anchor link


def test_previous_and_next_follow_the_chapter_order(pages: dict[str, Page]) -> None:
    for index, chapter in enumerate(WRITTEN):
        page = pages[chapter.slug]
        previous = [a.attrs["href"] for a in page.find("a", "doc-previous")]
        following = [a.attrs["href"] for a in page.find("a", "doc-next")]
        assert previous == ([f"/document/{CHAPTERS[index - 1].slug}"] if index else []), chapter.slug
        nxt = CHAPTERS[index + 1]
        assert following == ["/document/glossary" if nxt.slug == content.GLOSSARY_SLUG else f"/document/{nxt.slug}"]


def test_every_page_has_the_document_search_form(client: FlaskClient) -> None:
    for url in ["/document/", "/document/principles", "/document/glossary"]:
        page = get(client, url)
        form = [f for f in page.find("form") if f.attrs.get("aria-label") == "Search the document"]
        assert len(form) == 1 and form[0].attrs["action"] == "/search" and form[0].attrs["method"] == "get"
        hidden = [i for i in page.find("input") if i.attrs.get("name") == "kind"]
        assert [(i.attrs["type"], i.attrs["value"]) for i in hidden] == [("hidden", "section")]
        assert page.by_id("doc-q").attrs["name"] == "q"


# --- reading levels -------------------------------------------------------------------------------


@pytest.mark.parametrize("level", content.AUDIENCES)
@pytest.mark.parametrize("chapter", [pytest.param(c, id=c.slug) for c in WRITTEN])
def test_level_in_the_query_shows_only_its_sections(client: FlaskClient, chapter: Chapter, level: str) -> None:
    response = client.get(f"/document/{chapter.slug}?level={level}")
    assert response.status_code == 200
    page = parse(response.data)
    audiences = {s.anchor: s.audiences for s in chapter.sections} or {
        a: chapter.audiences for a in section_ids(chapter)
    }
    expected_hidden = {anchor for anchor, aud in audiences.items() if level not in aud}
    assert hidden_sections(page) == expected_hidden
    toc_hidden = {
        e.attrs["data-audiences"] for e in page.find("li") if "data-audiences" in e.attrs and "hidden" in e.attrs
    }
    assert all(level not in entry.split() for entry in toc_hidden)
    assert len([e for e in page.find("li") if "data-audiences" in e.attrs and "hidden" in e.attrs]) == len(
        expected_hidden
    )
    empty = [p for p in page.find("p", "level-empty")]
    assert len(empty) == 1 and (("hidden" in empty[0].attrs) == (len(expected_hidden) < len(audiences)))
    cookie = response.headers.get("Set-Cookie", "")
    assert cookie.startswith(f"{LEVEL_COOKIE}={level};") and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_level_choice_actually_filters_something() -> None:
    # The filtering tests above would pass trivially if every section were for every audience.
    for level in content.AUDIENCES:
        assert any(level not in s.audiences for c in WRITTEN for s in c.sections), level


def test_level_is_remembered_by_cookie(client: FlaskClient) -> None:
    client.set_cookie(LEVEL_COOKIE, "overview", path="/document")
    response = client.get("/document/principles")
    principles = content.chapter("principles")
    assert principles is not None
    assert "Set-Cookie" not in response.headers  # nothing new to remember
    page = parse(response.data)
    assert hidden_sections(page) == {s.anchor for s in principles.sections if "overview" not in s.audiences}
    current = [
        a.attrs["data-level"]
        for a in page.find("a")
        if a.attrs.get("aria-current") == "true" and "data-level" in a.attrs
    ]
    assert current == ["overview"]
    # Links to other chapters carry the level, so it shows in the URL too.
    assert [a.attrs["href"] for a in page.find("a", "doc-next")] == ["/document/business-view?level=overview"]


def test_query_overrides_and_replaces_the_cookie(client: FlaskClient) -> None:
    client.set_cookie(LEVEL_COOKIE, "overview", path="/document")
    response = client.get("/document/principles?level=builder")
    assert response.headers["Set-Cookie"].startswith(f"{LEVEL_COOKIE}=builder;")
    assert client.get_cookie(LEVEL_COOKIE, path="/document").value == "builder"
    page = get(client, "/document/principles")
    principles = content.chapter("principles")
    assert principles is not None
    assert hidden_sections(page) == {s.anchor for s in principles.sections if "builder" not in s.audiences}


@pytest.mark.parametrize("value", ["manager", "", "ALL", "<script>"])
def test_unknown_level_shows_everything_and_is_not_remembered(client: FlaskClient, value: str) -> None:
    response = client.get("/document/principles", query_string={"level": value})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert hidden_sections(parse(response.data)) == set()


def test_level_switch_links_work_without_javascript(client: FlaskClient) -> None:
    page = get(client, "/document/roles?level=architect")
    links = {a.attrs["data-level"]: a.attrs["href"] for a in page.find("a") if "level-switch" in a.within}
    for level in LEVELS:
        assert parse_qs(urlsplit(links[level]).query)["level"] == [level]
        assert urlsplit(links[level]).path == "/document/roles"


def test_all_level_shows_every_section(client: FlaskClient) -> None:
    client.set_cookie(LEVEL_COOKIE, "builder", path="/document")
    assert hidden_sections(get(client, "/document/principles?level=all")) == set()


# --- glossary and links ---------------------------------------------------------------------------


def test_glossary_has_every_term_at_its_anchor(client: FlaskClient) -> None:
    page = get(client, "/document/glossary")
    for term in content.glossary().values():
        element = page.by_id(f"term-{term.anchor}")
        assert element.tag == "dt" and term.term in element.text


def links_of(pages: dict[str, Page], kind: str) -> list[tuple[str, str, str]]:
    return [
        (slug, a.attrs["href"], a.attrs.get("title", ""))
        for slug, page in pages.items()
        for a in page.find("a", f"ref-{kind}")
    ]


def test_every_glossary_link_in_every_chapter_resolves_to_an_anchor(
    client: FlaskClient, pages: dict[str, Page]
) -> None:
    glossary_ids = get(client, "/document/glossary").ids()
    found = links_of(pages, "term")
    assert len(found) >= 30
    for slug, href, title in found:
        parts = urlsplit(href)
        assert parts.path == "/document/glossary", (slug, href)
        assert parts.fragment in glossary_ids, (slug, href)
        assert title, (slug, href)  # the definition travels with the link as its tooltip
    # Links inside the glossary's own definitions (none today) would resolve the same way.
    inner = [a.attrs["href"] for a in get(client, "/document/glossary").find("a", "ref-term")]
    assert all(urlsplit(h).fragment in glossary_ids for h in inner)


def test_term_tooltip_is_the_start_of_its_definition(pages: dict[str, Page]) -> None:
    page = pages["statistical-service"]
    link = next(a for a in page.find("a", "ref-term") if a.attrs["href"].endswith("#term-statistical-service"))
    definition = content.glossary()["statistical service"].definition
    assert " ".join(definition.split()).startswith(link.attrs["title"].rstrip("."))


def test_every_gsbpm_link_resolves_to_the_figure(client: FlaskClient, pages: dict[str, Page]) -> None:
    figure_ids = get(client, "/document/gsbpm").ids()
    found = links_of(pages, "gsbpm")
    assert len(found) >= 10
    for slug, href, _ in found:
        parts = urlsplit(href)
        assert parts.path == "/document/gsbpm" and parts.fragment in figure_ids, (slug, href)


def test_every_gsim_link_resolves_to_an_object_page(client: FlaskClient, pages: dict[str, Page]) -> None:
    found = {href for _, href, _ in links_of(pages, "gsim")}
    assert len(found) >= 5
    for href in found:
        page = get(client, href)
        assert [h.text.strip() for h in page.find("h1")] == [unquote(href.rsplit("/", 1)[1])]


# --- the GSBPM figure -----------------------------------------------------------------------------


def figure_counts(page: Page) -> dict[str, int]:
    counts = {}
    for code in SUBPROCESSES:
        spans = [e for e in page.find("span", "gsbpm-count") if e.within and e.within[-1] == f"sp-{code}"]
        assert len(spans) == 1, code
        counts[code] = int(spans[0].text.split()[0])
    return counts


def test_figure_has_every_phase_and_sub_process(client: FlaskClient) -> None:
    page = get(client, "/document/gsbpm")
    model = reference.gsbpm()
    assert {f"phase-{code}" for code in model.phases} <= page.ids()
    for code, entry in model.subprocesses.items():
        link = next(a for a in page.find("a", "gsbpm-sp-link") if a.within[-1] == f"sp-{code}")
        assert link.attrs["href"] == f"/document/gsbpm?sp={code}#sp-{code}"
        assert entry["name"] in link.text


def test_figure_counts_equal_the_search_engines_facets(seeded: Flask, client: FlaskClient) -> None:
    counts = figure_counts(get(client, "/document/gsbpm"))
    with seeded.app_context():
        result = searching().search(SearchRequest.build(filters={"status": [live.SHOWN_STATUS]}), Visibility())
    facets = {value.value: value.count for value in result.facets["subprocess"]}
    assert counts == {code: facets.get(code, 0) for code in SUBPROCESSES}
    # every seeded service serves at least one sub-process
    assert sum(counts.values()) >= len(list(resources.SEED_DIR.glob("*.yaml"))) >= 50
    # ... and each equals what the public API answers for that sub-process.
    for code, count in counts.items():
        assert api(client, subprocess=code, status=live.SHOWN_STATUS)["total"] == count, code


def test_choosing_a_sub_process_lists_exactly_the_apis_services(client: FlaskClient) -> None:
    counts = figure_counts(get(client, "/document/gsbpm"))
    served = [code for code, count in counts.items() if count]
    assert len(served) >= 10
    for code in served:
        page = get(client, f"/document/gsbpm?sp={code}")
        listed = [a.attrs["href"] for a in page.find("a", "doc-service-name") if f"sp-detail-{code}" in a.within]
        expected = [hit["id"] for hit in api(client, subprocess=code, status=live.SHOWN_STATUS)["hits"]]
        assert sorted(listed) == sorted(f"/services/{quote(slug)}" for slug in expected), code
        assert page.by_id(f"sp-{code}").classes >= {"gsbpm-sp", "is-selected"}
        search = [a.attrs["href"] for a in page.find("a") if a.attrs.get("href", "").startswith("/search?")]
        assert f"/search?subprocess={code}&status=approved" in search


def test_chosen_services_show_the_gsim_objects_they_consume_and_produce(client: FlaskClient) -> None:
    page = get(client, "/document/gsbpm?sp=5.4")
    items = [e for e in page.find("li") if e.within[-1:] == ("sp-detail-5.4",) and "Consumes" in e.text]
    names = [a for a in page.find("a", "doc-service-name") if "sp-detail-5.4" in a.within]
    assert items and len(items) == len(names)
    for item, name in zip(items, names, strict=True):  # each item holds one name link, in document order
        slug = name.attrs["href"].rsplit("/", 1)[1]
        assert name.text in item.text
        definition = descriptor(client, slug)["definition"]
        consumes = {reference.gsim().lookup(i["gsim"]) for i in definition.get("inputs", [])}
        produces = {reference.gsim().lookup(o["gsim"]) for o in definition.get("outputs", [])}
        text = " ".join(item.text.split())
        shown_consumes = text.split("Consumes", 1)[1].split("Produces", 1)[0]
        shown_produces = text.split("Produces", 1)[1]
        assert all(name in shown_consumes for name in consumes if name), slug
        assert all(name in shown_produces for name in produces if name), slug


def test_only_the_chosen_sub_process_is_expanded(client: FlaskClient) -> None:
    page = get(client, "/document/gsbpm?sp=5.4")
    assert [e.attrs["id"] for e in page.find("div", "gsbpm-detail")] == ["sp-detail-5.4"]
    assert not get(client, "/document/gsbpm").find("div", "gsbpm-detail")


# --- GSIM objects ---------------------------------------------------------------------------------


def test_gsim_index_lists_every_object_with_the_facet_count(seeded: Flask, client: FlaskClient) -> None:
    page = get(client, "/document/gsim/")
    with seeded.app_context():
        result = searching().search(SearchRequest.build(filters={"status": [live.SHOWN_STATUS]}), Visibility())
    facets = {value.value: value.count for value in result.facets["gsim"]}
    # Each object's list item holds its link, then its count, in document order.
    sequence = [
        e
        for e in page.elements
        if (
            e.tag == "a"
            and e.attrs.get("href", "").startswith("/document/gsim/")
            and e.attrs["href"] != "/document/gsim/"
        )
        or "gsbpm-count" in e.classes
    ]
    shown = {}
    for link, count in zip(sequence[::2], sequence[1::2], strict=True):
        assert link.tag == "a" and count.tag == "span"
        shown[unquote(link.attrs["href"].rsplit("/", 1)[1])] = int(count.text.split()[0])
    assert shown == {name: facets.get(name, 0) for name in reference.gsim().objects}
    assert sum(shown.values()) > 0


@pytest.mark.parametrize("name", ["Unit Data Set", "Rule", "Dimensional Data Set", "Statistical Classification"])
def test_gsim_object_page_lists_consumers_and_producers_like_the_api(client: FlaskClient, name: str) -> None:
    page = get(client, f"/document/gsim/{quote(name)}")
    assert [h.text.strip() for h in page.find("h1")] == [name]
    assert reference.gsim().objects[name]["description"] in page.by_id("main").text
    consumers = {
        a.attrs["href"].rsplit("/", 1)[1] for a in page.find("a", "doc-service-name") if "consumers" in a.within
    }
    producers = {
        a.attrs["href"].rsplit("/", 1)[1] for a in page.find("a", "doc-service-name") if "producers" in a.within
    }
    expected_consumers, expected_producers = set(), set()
    for hit in api(client, gsim=name, status=live.SHOWN_STATUS)["hits"]:
        definition = descriptor(client, hit["id"])["definition"]
        if any(reference.gsim().lookup(i["gsim"]) == name for i in definition.get("inputs", [])):
            expected_consumers.add(quote(hit["id"]))
        if any(reference.gsim().lookup(o["gsim"]) == name for o in definition.get("outputs", [])):
            expected_producers.add(quote(hit["id"]))
    assert consumers == expected_consumers and producers == expected_producers
    if name == "Unit Data Set":
        assert consumers and producers  # the seed catalogue has both for the commonest object


def test_gsim_names_are_found_forgivingly_and_redirected(client: FlaskClient) -> None:
    response = client.get("/document/gsim/unit data set")
    assert response.status_code == 301
    assert response.headers["Location"] == "/document/gsim/Unit%20Data%20Set"
    assert client.get("/document/gsim/UnitDataSet").headers["Location"] == "/document/gsim/Unit%20Data%20Set"


def test_gsim_object_page_lists_the_sections_mentioning_it(client: FlaskClient) -> None:
    page = get(client, "/document/gsim/Dimensional%20Data%20Set")
    mentions = [a.attrs["href"] for a in page.find("a") if "mentions" in a.within]
    assert "/document/principles#principle-common-information" in mentions


# --- 404s -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/document/no-such-chapter",
        "/document/gsim/Flux%20Capacitor",
        "/document/gsbpm?sp=9.9",
        "/document/gsbpm?sp=5",
        "/document/PRINCIPLES",
    ],
)
def test_unknown_pages_are_404_pages(client: FlaskClient, url: str) -> None:
    page = get(client, url, 404)
    assert [h.text.strip() for h in page.find("h1")] == ["Not found"]
    assert "/document/principles" in {a.attrs.get("href") for a in page.find("a")}


# --- the template chapter, criteria, and the page contract ----------------------------------------


def test_template_chapter_shows_every_field_of_the_schema(client: FlaskClient) -> None:
    page = get(client, "/document/descriptor-template")
    text = " ".join(page.by_id("main").text.split())
    for section in template.template_sections(template.load_schema()):
        for field in section.fields:
            assert field.anchor in page.ids()
            assert " ".join(field.description.split()) in text, field.path


def test_template_chapter_follows_an_edited_schema(
    client: FlaskClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = template.load_schema()
    schema["properties"]["definition"]["properties"]["purpose"]["description"] = "Say in one breath why it exists."
    edited = tmp_path / "schema.json"
    import json

    edited.write_text(json.dumps(schema), "utf-8")
    monkeypatch.setattr(template, "SCHEMA_FILE", edited)
    text = get(client, "/document/descriptor-template").by_id("field-definition-purpose").text
    page = get(client, "/document/descriptor-template")
    assert "Say in one breath why it exists." in page.by_id("main").text
    assert "One or two sentences saying what the service does" not in page.by_id("main").text
    assert "definition.purpose" in text


@pytest.mark.parametrize("criterion", [c["id"] for c in compliance.criteria()])
def test_every_compliance_criterion_links_to_an_existing_section(client: FlaskClient, criterion: str) -> None:
    path = content.criterion_link(criterion)
    assert path is not None, criterion
    parts = urlsplit(path)
    page = get(client, parts.path)
    assert parts.fragment in {s.attrs["id"] for s in page.find("section") if "id" in s.attrs}


def test_unknown_criterion_has_no_link() -> None:
    assert content.criterion_link("no-such-criterion") is None


@pytest.mark.parametrize(
    "url",
    [
        "/document/",
        "/document/principles?level=overview",
        "/document/descriptor-template",
        "/document/glossary",
        "/document/gsbpm?sp=5.4",
        "/document/gsim/",
        "/document/gsim/Unit%20Data%20Set",
        "/document/nope",
    ],
)
def test_pages_need_no_inline_script_or_style(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    html = response.data.decode("utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", html), "event handler attribute"
    assert not re.search(r"\sstyle\s*=", html), "style attribute"
    page = parse(html)
    levels = [int(h.tag[1]) for h in page.elements if re.fullmatch(r"h[1-6]", h.tag)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels  # no skipped heading level
    ids = [e.attrs["id"] for e in page.elements if "id" in e.attrs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    labels = [n.attrs.get("aria-label") for n in page.find("nav")]
    assert all(labels) and len(labels) == len(set(labels)), labels


@pytest.mark.parametrize("chapter", [pytest.param(c, id=c.slug) for c in CHAPTERS])
def test_every_chapter_page_shows_its_official_source_and_the_cc_by_credit(
    client: FlaskClient, chapter: Chapter
) -> None:
    # The most filtered reading level still shows the credit: it sits above the sections, never in one.
    page = get(client, f"/document/{chapter.slug}?level=overview")
    hidden = hidden_sections(page)
    official = [
        a
        for a in page.find("a")
        if urlsplit(a.attrs.get("href", "")).hostname == "statswiki.unece.org" and not set(a.within) & hidden
    ]
    assert official, f"{chapter.slug}: no visible link to the UNECE text it restates"
    credit = [e for e in page.find("p") if "CC BY" in e.text and "UNECE" in e.text and not set(e.within) & hidden]
    assert credit, f"{chapter.slug}: no visible CC BY credit"
