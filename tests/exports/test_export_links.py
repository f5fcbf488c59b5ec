"""The exports and feeds are linked from the pages people read: the search page lists every export of the
catalogue, a service page its own feed, its owner's feed and its Backstage entity, an organisation page its
feed; every page names the catalogue's feed in its head. Each link answers."""

from __future__ import annotations

import re

import pytest

from tests.exports.test_conditional import READS

pytestmark = pytest.mark.usefixtures("seeded")

# The catalogue's own exports and feed, in the order the search page lists them (the rest of READS is per service).
CATALOGUE_EXPORTS = [path for path in READS if not path.startswith("/services/")]


def _links(html: str, selector_class: str) -> list[str]:
    paragraphs = re.findall(rf'<p class="[^"]*{selector_class}[^"]*">(.*?)</p>', html, re.S)
    return [href.replace("&amp;", "&") for p in paragraphs for href in re.findall(r'href="([^"]+)"', p)]


def _answers(client, paths: list[str]) -> None:
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.data, path


def test_the_search_page_links_every_export_of_the_catalogue(seeded_client) -> None:
    html = seeded_client.get("/search?q=seasonal").get_data(as_text=True)
    links = _links(html, "exports")
    assert links == CATALOGUE_EXPORTS
    _answers(seeded_client, links)


def test_a_public_service_page_links_its_feeds_and_its_backstage_entity(seeded_client) -> None:
    html = seeded_client.get("/services/sdcmicro").get_data(as_text=True)
    links = [link for link in _links(html, "downloads") if not link.startswith("/services/sdcmicro/versions")]
    assert links == [
        "/feeds/services/sdcmicro.atom",
        "/feeds/organisations/STATISTIK-AUSTRIA.atom",
        "/services/sdcmicro/catalog-info.yaml",
    ], links
    _answers(seeded_client, links)


def test_an_organisation_page_names_its_feed_in_the_head_and_the_page(seeded_client) -> None:
    html = seeded_client.get("/organisations/STATISTIK-AUSTRIA").get_data(as_text=True)
    head = html.split("</head>")[0]
    assert 'href="/feeds/organisations/STATISTIK-AUSTRIA.atom"' in head
    assert 'href="/feeds/approved.atom"' in head  # the catalogue's own, on every page
    assert html.count('href="/feeds/organisations/STATISTIK-AUSTRIA.atom"') == 2
    _answers(seeded_client, ["/feeds/organisations/STATISTIK-AUSTRIA.atom"])
