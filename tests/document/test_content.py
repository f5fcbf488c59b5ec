"""The CSPA 2.0 document: chapters present and substantial, cross-links resolvable, rendering safe."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from catalogue.document import content
from catalogue.document.content import (
    Chapter,
    ContentError,
    Link,
    Resolved,
    UnresolvedLinks,
)
from catalogue.reference import gsbpm, gsim

EXPECTED_SLUGS = [
    "purpose-and-scope",
    "statistical-service",
    "principles",
    "business-view",
    "information-view",
    "application-view",
    "technology-view",
    "roles",
    "governance-and-compliance",
    "relation-gsbpm",
    "relation-gsim",
    "relation-gamso",
    "relation-csda",
    "descriptor-template",
    "catalogues-and-europe",
    "after-cspa-2",
    "glossary",
]
GENERATED = {"descriptor-template"}  # body is a directive filled at render time
ROLES = ["investor", "designer", "builder", "assembler", "configurer", "user"]

CHAPTERS = content.chapters()
WRITTEN = [c for c in CHAPTERS if c.slug not in GENERATED]


def by_slug(chapters: list[Chapter]) -> list[Any]:
    return [pytest.param(c, id=c.slug) for c in chapters]


def resolver() -> content.LinkResolver:
    return content.reference_resolver(lambda kind, key: f"/{kind}/{key}")


def test_every_listed_chapter_exists_in_order() -> None:
    slugs = [c.slug for c in CHAPTERS]
    assert sorted(slugs) == sorted(EXPECTED_SLUGS)
    assert slugs[-1] == "glossary"
    assert [c.order for c in CHAPTERS] == sorted(c.order for c in CHAPTERS)


@pytest.mark.parametrize("chapter", by_slug(WRITTEN))
def test_written_chapters_are_substantial(chapter: Chapter) -> None:
    assert chapter.title and chapter.summary
    assert chapter.words >= 400, f"{chapter.slug} has only {chapter.words} words"
    assert len(chapter.sections) >= 4
    assert all(len(s.body.split()) >= 20 for s in chapter.sections if chapter.slug != "glossary")


def test_document_is_long_enough() -> None:
    assert sum(c.words for c in CHAPTERS) >= 6000


def test_descriptor_template_chapter_is_only_the_directive() -> None:
    template = content.chapter("descriptor-template")
    assert template is not None
    assert template.title == "The service descriptor template"
    # The generated body stays one directive; the only written text is the credit to the official templates.
    assert template.markdown.strip().splitlines()[-1] == "::: descriptor-template"
    assert not template.sections
    assert template.directives == ("descriptor-template",)


def test_principles_are_sections_with_stable_anchors() -> None:
    principles = content.chapter("principles")
    assert principles is not None
    assert len(principles.sections) >= 8
    assert all(s.anchor.startswith("principle-") for s in principles.sections)


def test_roles_chapter_covers_each_role() -> None:
    roles = content.chapter("roles")
    assert roles is not None
    anchors = {s.anchor for s in roles.sections}
    assert set(ROLES) <= anchors


def test_glossary_has_enough_terms_and_the_core_ones() -> None:
    terms = content.glossary()
    assert len(terms) >= 30
    for core in ("statistical service", "GSBPM", "GSIM", "GAMSO", "CSDA", "interoperability", "information object"):
        assert content.normalise_term(core) in terms
    assert all(t.definition.strip() for t in terms.values())


@pytest.mark.parametrize("chapter", by_slug(CHAPTERS))
def test_only_known_link_kinds(chapter: Chapter) -> None:
    assert {link.kind for link in content.links(chapter)} <= set(content.LINK_KINDS)


@pytest.mark.parametrize("chapter", by_slug(CHAPTERS))
def test_gsbpm_links_exist_in_the_reference_model(chapter: Chapter) -> None:
    model = gsbpm()
    codes = [link.target for link in content.links(chapter) if link.kind == "gsbpm"]
    unknown = [c for c in codes if c not in model.subprocesses and c not in model.phases]
    assert not unknown, f"{chapter.slug}: unknown GSBPM codes {unknown}"


@pytest.mark.parametrize("chapter", by_slug(CHAPTERS))
def test_gsim_links_exist_in_the_reference_model(chapter: Chapter) -> None:
    names = [link.target for link in content.links(chapter) if link.kind == "gsim"]
    unknown = [n for n in names if gsim().lookup(n) is None]
    assert not unknown, f"{chapter.slug}: unknown GSIM objects {unknown}"


@pytest.mark.parametrize("chapter", by_slug(CHAPTERS))
def test_term_links_exist_in_the_glossary(chapter: Chapter) -> None:
    terms = content.glossary()
    targets = [link.target for link in content.links(chapter) if link.kind == "term"]
    unknown = [t for t in targets if content.normalise_term(t) not in terms]
    assert not unknown, f"{chapter.slug}: terms missing from the glossary {unknown}"


def test_document_links_to_both_reference_models() -> None:
    kinds = {link.kind for c in CHAPTERS for link in content.links(c)}
    assert kinds == set(content.LINK_KINDS)


@pytest.mark.parametrize("chapter", by_slug(CHAPTERS))
def test_every_section_has_an_audience(chapter: Chapter) -> None:
    for section in chapter.sections:
        assert section.audiences, f"{chapter.slug}#{section.anchor}"
        assert set(section.audiences) <= set(content.AUDIENCES)


def test_each_audience_has_a_reading_path() -> None:
    for audience in content.AUDIENCES:
        path = [s for c in WRITTEN for s in c.for_audience(audience)]
        assert len(path) >= 20, audience


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in sorted(content.CONTENT_DIR.glob("*.md"))])
def test_every_heading_names_its_anchor_and_audience(path: Path) -> None:
    headings = [line for line in path.read_text("utf-8").splitlines() if line.startswith("## ")]
    for heading in headings:
        assert re.search(r"\{#[a-z0-9-]+( \.(overview|architect|builder))+\}$", heading), heading


@pytest.mark.parametrize("chapter", by_slug(CHAPTERS))
def test_anchors_are_unique_per_chapter(chapter: Chapter) -> None:
    anchors = [s.anchor for s in chapter.sections]
    assert len(anchors) == len(set(anchors))


@pytest.mark.parametrize("chapter", by_slug(CHAPTERS))
def test_every_chapter_renders_with_every_link_resolved(chapter: Chapter) -> None:
    html = content.render_chapter(chapter, resolver(), {"descriptor-template": lambda: "<table></table>"})
    assert "[[" not in html and ":::" not in html
    for section in chapter.sections:
        assert f'<section id="{section.anchor}"' in html


def test_resolver_labels_gsbpm_with_code_and_name() -> None:
    target = resolver()(Link("gsbpm", "5.4"))
    assert target == Resolved("/gsbpm/5.4", "5.4 Edit and impute", "GSBPM 5.1")
    assert resolver()(Link("gsim", "unit data set")) is not None  # GSIM names match forgivingly
    assert resolver()(Link("gsbpm", "9.9")) is None


CRAFTED = """---
title: Crafted
slug: crafted
order: 1
summary: A chapter that tries to smuggle in script.
---

Intro <script>alert("intro")</script> with [[gsbpm:5.1]].

## Attack <img src=x onerror=alert(1)> {#attack .overview .builder}

<script>document.cookie</script>
<a href="javascript:alert(1)">click</a> [md](javascript:alert(2))
<div onclick="steal()">hi</div> <iframe src="https://example.org"></iframe>

## Plain {#plain .architect}

See [[term:statistical service|services]] and `[[gsim:Not Real]]` shown as code.

::: descriptor-template
"""


def test_sanitiser_removes_script_from_a_crafted_chapter() -> None:
    crafted = content.parse_chapter(CRAFTED)
    html = content.render_chapter(crafted, resolver())
    lowered = html.lower()
    for forbidden in ("<script", 'alert("intro")', "document.cookie", "onerror", "onclick", "<iframe"):
        assert forbidden not in lowered, forbidden
    assert not re.search(r"""(href|src)=["']?javascript:""", lowered)
    assert "<a>click</a>" in html  # the element survives, its dangerous href does not
    assert '<section id="attack" class="audience-overview audience-builder">' in html
    assert '<section id="plain" class="audience-architect">' in html
    assert '<a class="ref ref-gsbpm" href="/gsbpm/5.1" title="GSBPM 5.1">5.1 Integrate data</a>' in html
    assert ">services</a>" in html
    assert "<code>[[gsim:Not Real]]</code>" in html  # links inside code are examples, not links


def test_sanitise_directly() -> None:
    cleaned = content.sanitise(
        '<p onclick="x()">a<script>b()</script></p><section id="s" class="audience-overview evil">'
    )
    assert cleaned == '<p>a</p><section id="s" class="audience-overview"></section>'


def test_directive_is_replaced_by_the_callers_html() -> None:
    template = content.chapter("descriptor-template")
    assert template is not None
    html = content.render_chapter(template, resolver(), {"descriptor-template": lambda: '<dl id="fields"></dl>'})
    assert '<dl id="fields"></dl>' in html
    assert "descriptor-template" not in html


def test_directive_without_a_callable_stays_a_marker() -> None:
    html = content.render_markdown("Before.\n\n::: descriptor-template\n\nAfter.", resolver())
    assert '<div class="directive" data-directive="descriptor-template"></div>' in html
    assert ":::" not in html


def test_unknown_links_are_reported_not_dropped(caplog: pytest.LogCaptureFixture) -> None:
    text = "Uses [[gsim:Flux Capacitor]] and [[gsbpm:5.1]] and [[nope:thing]]."
    with pytest.raises(UnresolvedLinks) as raised:
        content.render_markdown(text, resolver())
    assert raised.value.links == [Link("gsim", "Flux Capacitor"), Link("nope", "thing")]

    with caplog.at_level(logging.WARNING, logger="catalogue.document.content"):
        html = content.render_markdown(text, resolver(), strict=False)
    assert '<span class="link-unresolved" title="unknown gsim target">Flux Capacitor</span>' in html
    assert "[[gsim:Flux Capacitor]]" in caplog.text


def test_unresolved_lists_a_chapters_broken_links() -> None:
    chapter = content.parse_chapter(CRAFTED.replace("[[gsbpm:5.1]]", "[[gsbpm:5.99]]"))
    assert content.unresolved(chapter) == [Link("gsbpm", "5.99")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter\n", "front matter"),
        ("---\ntitle: T\nslug: t\norder: 1\n---\n", "summary"),
        ("---\ntitle: T\nslug: t\norder: one\nsummary: S\n---\n", "integer"),
        ("---\ntitle: T\nslug: t\norder: 1\nsummary: S\n---\n## A {#a}\n", "no audience"),
        ("---\ntitle: T\nslug: t\norder: 1\nsummary: S\n---\n## A {#a .manager}\n", "unknown heading attribute"),
        ("---\ntitle: T\nslug: t\norder: 1\nsummary: S\n---\n## A {#a .overview}\n## B {#a .overview}\n", "duplicate"),
    ],
)
def test_malformed_chapters_are_refused(text: str, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        content.parse_chapter(text)


def test_chapter_default_audience_applies_to_unmarked_sections() -> None:
    chapter = content.parse_chapter(
        "---\ntitle: T\nslug: t\norder: 1\nsummary: S\naudiences: [builder]\n---\n"
        "## A\n\nText.\n\n```\n## not a heading\n```\n"
    )
    assert [(s.anchor, s.audiences) for s in chapter.sections] == [("a", ("builder",))]
    assert "## not a heading" in chapter.sections[0].body
