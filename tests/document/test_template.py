"""The descriptor template chapter is generated from the JSON Schema's descriptions, and follows edits to them."""

from __future__ import annotations

import copy
import html
import json
from pathlib import Path
from typing import Any

import pytest

from catalogue.document import content, template
from tests.document.pages import parse

SCHEMA = template.load_schema()
AUDIENCES = ("architect", "builder")


def every_description(node: Any) -> list[str]:
    """Every description string anywhere in a schema, except the ones on extension-field patterns."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                found.append(value)
            elif key != "patternProperties":
                found.extend(every_description(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(every_description(value))
    return found


def test_every_description_in_the_schema_is_in_the_chapter() -> None:
    rendered = template.render_template(SCHEMA, AUDIENCES)
    descriptions = every_description(SCHEMA)
    assert len(descriptions) >= 40
    assert [d for d in descriptions if html.escape(d) not in rendered] == []


def test_sections_are_the_descriptor_and_its_layers() -> None:
    sections = template.template_sections(SCHEMA)
    assert [s.anchor for s in sections] == [
        "identification",
        "template-definition",
        "template-specification",
        "template-implementation",
        "template-contacts",
    ]
    assert [s.title for s in sections[1:4]] == [
        "Statistical Service Definition",
        "Statistical Service Specification",
        "Statistical Service Implementation Description",
    ]
    definition = {f.path: f for f in sections[1].fields}
    assert definition["definition.name"].required and not definition["definition.description"].required
    assert definition["definition.inputs[].gsim"].required  # inside a $ref'd list item
    assert definition["definition.gsbpm"].kind == "list of text"
    assert "matches ^[1-8]\\.[1-9]$" not in definition["definition.gsbpm"].constraints  # item patterns stay on items


def test_template_follows_a_modified_copy_of_the_schema(tmp_path: Path) -> None:
    edited = copy.deepcopy(SCHEMA)
    edited["properties"]["implementation"]["properties"]["licence"]["description"] = "Which licence <b>applies</b>."
    edited["properties"]["definition"]["properties"]["audience"] = {"type": "string", "description": "Who reads it."}
    edited["properties"]["definition"]["else"]["required"].append("audience")
    path = tmp_path / "copy.schema.json"
    path.write_text(json.dumps(edited), "utf-8")

    before = template.render_template(SCHEMA, AUDIENCES)
    after = template.render_template(template.load_schema(path), AUDIENCES)
    assert "Which licence &lt;b&gt;applies&lt;/b&gt;." in after and "<b>" not in after  # schema text is escaped
    assert "Which licence" not in before
    page = parse(after)
    assert "field-definition-audience" in page.ids()
    assert "required" in page.by_id("field-definition-audience").text
    assert "field-definition-audience" not in parse(before).ids()


def test_hidden_for_a_reader_at_another_level() -> None:
    page = parse(template.render_template(SCHEMA, AUDIENCES, audience="overview"))
    sections = page.find("section")
    assert sections and all("hidden" in s.attrs for s in sections)
    shown = parse(template.render_template(SCHEMA, AUDIENCES, audience="builder"))
    assert not any("hidden" in s.attrs for s in shown.find("section"))


def test_ids_are_unique_and_every_section_has_a_permanent_link() -> None:
    page = parse(template.render_template(SCHEMA, AUDIENCES))
    ids = [e.attrs["id"] for e in page.elements if "id" in e.attrs]
    assert len(ids) == len(set(ids))
    anchors = [a.attrs["href"] for a in page.find("a", "heading-anchor")]
    assert anchors == [f"#{s.anchor}" for s in template.template_sections(SCHEMA)]


# --- criteria in front matter ---------------------------------------------------------------------

FRONT = "---\ntitle: T\nslug: t\norder: 1\nsummary: S\n{extra}---\n## A {{#a .overview}}\n\nText.\n"


def test_chapter_names_the_criteria_it_explains() -> None:
    chapter = content.parse_chapter(FRONT.format(extra="criteria:\n  contact: a\n"))
    assert chapter.criteria == (("contact", "a"),)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("criteria:\n  contact: nowhere\n", "point at no section"),
        ("criteria: [contact]\n", "must map"),
    ],
)
def test_bad_criteria_are_refused(extra: str, message: str) -> None:
    with pytest.raises(content.ContentError, match=message):
        content.parse_chapter(FRONT.format(extra=extra))


def test_criterion_links_point_into_the_document() -> None:
    links = content.criterion_links()
    assert links["gsbpm-aligned"] == "/document/relation-gsbpm#why-subprocesses"
    for path in links.values():
        slug, anchor = path.removeprefix(content.DOCUMENT_PATH + "/").split("#")
        chapter = content.chapter(slug)
        assert chapter is not None and chapter.section(anchor) is not None, path


def test_layers_that_may_be_references_and_kind_dependent_fields_are_explained() -> None:
    sections = {section.anchor: section for section in template.template_sections(template.load_schema())}
    for layer in ("template-definition", "template-specification"):
        assert "write only ref" in sections[layer].description
    assert "write only ref" not in sections["template-implementation"].description
    fields = {field.path: field for section in sections.values() for field in section.fields}
    assert fields["implementation.distributions[].package"].description.endswith(
        "Required when kind is cran, pypi, npm or nuget."
    )
    assert fields["implementation.distributions[].image"].description.endswith("Required when kind is container.")
    # The shared definitions of CSPA 2.0 Annex 1 are all shown where they are used.
    for path in (
        "specification.input_messages[].gsim",
        "specification.methodologies[].name",
        "specification.interface.command_line.program",
        "specification.interface.library.package",
        "implementation.distributions[].kind",
        "implementation.software_version",
        "implementation.formats.accepts",
        "definition.dependencies",
    ):
        assert path in fields, path
