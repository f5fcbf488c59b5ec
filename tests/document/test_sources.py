"""Facts the CSPA document and the reference data once got wrong, checked so that they cannot come back.

Each test guards one corrected fact whose source is cited in catalogue/document/SOURCES.md,
catalogue/reference/SOURCES.md or seed_services/SOURCES.md: every chapter names the official UNECE text
it restates with the CC BY credit on the page; GSBPM 5.1's overarching processes exclude GAMSO
activities; GAMSO 1.2 says "Capability development"; CSPA 2.0 chapters do not credit 2.0 with later
work; the Banff licences, the PxWebApi excerpt and the GSIM outputs of the seeds follow their sources.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalogue import reference, resources
from catalogue.document import content

CHAPTERS = content.chapters()
DOCUMENT_SOURCES = (Path(content.__file__).parent / "SOURCES.md").read_text("utf-8")
SEED_SOURCES = (resources.SEED_DIR / "SOURCES.md").read_text("utf-8")

UNECE_LINK = re.compile(r"\[[^\]]+\]\((?P<url>https?://(?:statswiki\.unece\.org|www1\.unece\.org)/[^)\s]+)\)")
# GSBPM 5.1, paragraph on overarching processes (statswiki pageId 215548013).
GSBPM_51_OVERARCHING = [
    "Quality management",
    "Metadata management",
    "Data management",
    "Process data management",
    "Knowledge management",
    "Provider management",
]
# Listed as overarching by GSBPM before 5.1; GAMSO activities since (catalogue/reference/SOURCES.md).
GAMSO_ACTIVITIES = [
    "Statistical framework management",
    "Statistical programme management",
    "Human resource management",
    "IT and other resource management",
]
# Later than CSPA 2.0 (HLG-MOS 2020 work); a 2.0 chapter may name them only while saying so.
LATER_WORK = re.compile(r"container|serverless|notebook|cloud-ready", re.IGNORECASE)
SAYS_LATER = re.compile(r"2020|after CSPA 2\.0|came after|later|afterwards|after-cspa-2", re.IGNORECASE)
LATER_CHAPTERS = {"after-cspa-2", "catalogues-and-europe"}


def by_slug(chapters: list[content.Chapter]) -> list[Any]:
    return [pytest.param(c, id=c.slug) for c in chapters]


def seed(name: str) -> dict[str, Any]:
    data = yaml.safe_load((resources.SEED_DIR / f"{name}.yaml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def seed_section(seed_id: str) -> str:
    """The part of seed_services/SOURCES.md under ``## <seed_id>``."""
    match = re.search(rf"^## {re.escape(seed_id)}\n(?P<body>.*?)(?=^## |\Z)", SEED_SOURCES, re.M | re.S)
    assert match, f"seed_services/SOURCES.md has no section for {seed_id}"
    return match["body"]


def paragraphs(markdown: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", markdown) if p.strip()]


@pytest.mark.parametrize("chapter", by_slug(CHAPTERS))
def test_every_chapter_links_the_official_text_with_the_cc_by_credit(chapter: content.Chapter) -> None:
    links = UNECE_LINK.findall(chapter.intro)
    assert links, f"{chapter.slug}: no link to the UNECE text it restates before its first section"
    assert "CC BY" in chapter.intro and "UNECE" in chapter.intro
    html = content.render_chapter(
        chapter, content.reference_resolver(lambda kind, key: f"/{kind}/{key}"), {"descriptor-template": str}
    )
    intro = html.split("</div>", 1)[0]  # the chapter-intro block, shown above every section
    assert f'href="{links[0]}"' in intro
    assert "Creative Commons Attribution (CC BY)" in intro


@pytest.mark.parametrize("chapter", by_slug(CHAPTERS))
def test_every_official_link_is_listed_in_the_document_sources(chapter: content.Chapter) -> None:
    missing = [url for url in UNECE_LINK.findall(chapter.markdown) if url not in DOCUMENT_SOURCES]
    assert not missing, f"{chapter.slug}: not in catalogue/document/SOURCES.md: {missing}"


def test_gsbpm_overarching_processes_are_those_of_gsbpm_5_1() -> None:
    data = yaml.safe_load((Path(reference.__file__).parent / "gsbpm.yaml").read_text("utf-8"))
    names = [entry["name"] for entry in data["overarching"]]
    assert not set(names) & set(GAMSO_ACTIVITIES)
    assert names == GSBPM_51_OVERARCHING


def test_the_document_lists_no_gamso_activity_as_a_gsbpm_overarching_process() -> None:
    gsbpm_chapter = content.chapter("relation-gsbpm")
    assert gsbpm_chapter is not None
    section = gsbpm_chapter.section("overarching")
    assert section is not None
    body = content.normalise_term(section.body)
    assert all(name.casefold() in body for name in GSBPM_51_OVERARCHING)
    glossary = content.normalise_term(content.glossary()[content.normalise_term("overarching process")].definition)
    for activity in GAMSO_ACTIVITIES:
        assert activity.casefold() not in body and activity.casefold() not in glossary


def test_gamso_area_is_capability_development() -> None:
    text = content.normalise_term("\n".join(c.markdown for c in CHAPTERS))
    assert "capability management" not in text
    gamso = content.chapter("relation-gamso")
    assert gamso is not None
    assert gamso.section("capability-development") is not None
    areas = gamso.section("activity-areas")
    assert areas is not None and "capability development" in content.normalise_term(areas.body)


@pytest.mark.parametrize("chapter", by_slug([c for c in CHAPTERS if c.slug not in LATER_CHAPTERS]))
def test_later_work_is_never_credited_to_cspa_2(chapter: content.Chapter) -> None:
    texts = [chapter.intro] + [s.body for s in chapter.sections]
    unmarked = [p for t in texts for p in paragraphs(t) if LATER_WORK.search(p) and not SAYS_LATER.search(p)]
    assert not unmarked, f"{chapter.slug}: later work named without saying it came after 2.0: {unmarked}"


def test_the_streamlining_chapter_says_it_is_after_cspa_2() -> None:
    later = content.chapter("after-cspa-2")
    assert later is not None
    assert "after cspa 2.0" in later.title.casefold()
    assert "none of it is part of the 2.0 text" in content.normalise_term(later.intro)


def test_technology_view_names_what_cspa_2_names() -> None:
    technology = content.chapter("technology-view")
    assert technology is not None
    communication = technology.section("communication")
    assert communication is not None
    body = content.normalise_term(communication.body)
    for component in ("business process management", "service bus", "workflow", "message"):
        assert component in body


@pytest.mark.parametrize("seed_id", ["banff", "banff-processor"])
def test_banff_licences_are_gpl_3_or_later_as_cited(seed_id: str) -> None:
    assert seed(seed_id)["implementation"]["licence"] == "GPL-3.0-or-later"
    section = seed_section(seed_id)
    assert "GPLv3+" in section and "GPL-3.0-or-later" in section


def test_every_licence_recorded_in_the_seed_sources_is_the_descriptor_licence() -> None:
    checked = 0
    for path in sorted(resources.SEED_DIR.glob("*.yaml")):
        recorded = re.findall(r"recorded as `([^`]+)`", seed_section(path.stem))
        if recorded:
            checked += 1
            assert recorded == [seed(path.stem)["implementation"]["licence"]] * len(recorded), path.stem
    assert checked >= 10  # the rule must not pass by finding nothing to compare


def test_pxwebapi_excerpt_follows_the_current_pxapi_2_specification() -> None:
    px = seed("pxwebapi")
    openapi = px["specification"]["interface"]["openapi"]
    operation_ids = {op["operationId"] for path in openapi["paths"].values() for op in path.values()}
    # Removed from PxAPI-2.yml on 25 August 2025 (PxApiSpecs commit 3bd7f77).
    assert not [path for path in openapi["paths"] if path.startswith("/navigation")]
    assert not {"GetNavigationRoot", "GetNavigationById"} & operation_ids
    assert "GetTableData" in operation_ids and "/tables/{id}/data" in openapi["paths"]
    assert {op["id"] for op in px["specification"]["operations"]} == operation_ids
    assert "GetTableData" in seed_section("pxwebapi")


def test_no_seed_reports_its_results_as_a_gsim_assessment() -> None:
    offenders = [
        path.stem
        for path in sorted(resources.SEED_DIR.glob("*.yaml"))
        if any(out.get("gsim") == "Assessment" for out in seed(path.stem)["definition"].get("outputs", []))
    ]
    assert not offenders, f"GSIM models a tool's result report as a Process Output (Process Metric): {offenders}"


def test_every_principle_is_traced_to_cspa_or_marked_as_ours() -> None:
    # A list of principles presented as CSPA's must trace each one to the CSPA passage it restates, and
    # label any advice of the catalogue's own (catalogue/document/SOURCES.md, "Principles").
    chapter = next(c for c in CHAPTERS if c.slug == "principles")
    sections = chapter.sections
    assert len(sections) >= 10
    for section in sections:
        traced = re.search(r"\*Traced to:\* (CSPA 2\.0|\"What is CSPA\?\")", section.body)
        assert traced or "*Ours:*" in section.body, section.title
    ours_only = [s.title for s in sections if "*Traced to:*" not in s.body]
    # Only the principles no CSPA text states stand as the catalogue's own.
    assert sorted(ours_only) == [
        "Confidentiality and security by design",
        "Self-contained and stateless where possible",
    ]
