"""The Atom feed (RFC 4287) of approved services, newest approval first."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from urllib.parse import quote
from xml.etree import ElementTree as ET

from catalogue.exports.catalogue import ExportedService, Links
from catalogue.exports.news import News

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
FEED_PATH = "feeds/approved.atom"
# Atom ids (RFC 4287, 4.2.6) must never change, whatever host or year the feed is read at: each is a name-based
# UUID (RFC 9562, version 5) of the path it is about, in this namespace of the catalogue's own.
ID_NAMESPACE = uuid.UUID("79ce646a-04f2-4da4-9a0e-0917e6f4f05a")  # drawn once at random; never change it
MAX_ENTRIES = 100
# Characters XML 1.0 cannot carry at all (a YAML "\x01" escape can put them in a descriptor).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _tag(links: Links, specific: str) -> str:
    """The Atom id of a feed or entry, from its stable path alone (services/<id>/versions/<version>): the same
    under any host name, base URL (links is not read) or year."""
    return uuid.uuid5(ID_NAMESPACE, specific).urn


def _time(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _add(parent: ET.Element, name: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", {k: _NOT_XML.sub("", v) for k, v in attributes.items()})
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def newest_first(records: list[ExportedService]) -> list[ExportedService]:
    """The services by the time their public version was approved, newest first (ties by id)."""
    return sorted(sorted(records, key=lambda r: r.id), key=lambda r: r.approved_at, reverse=True)


def approved_feed(records: list[ExportedService], links: Links, generated_at: datetime) -> str:
    """The feed's XML text: at most MAX_ENTRIES services, newest approval first (ElementTree escapes
    every text and attribute)."""
    entries = newest_first(records)[:MAX_ENTRIES]
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", _tag(links, FEED_PATH))
    _add(feed, "title", "CSPA Catalogue: approved services")
    _add(feed, "subtitle", "Statistical services approved in the CSPA Catalogue, newest first")
    _add(feed, "updated", _time(entries[0].approved_at if entries else generated_at))
    _add(feed, "link", rel="self", type=MEDIA_TYPE, href=links.to(FEED_PATH))
    _add(feed, "link", rel="alternate", type="text/html", href=links.base)
    _add(feed, "generator", "CSPA Catalogue")
    # A feed-level author keeps the feed valid whatever its entries carry.
    _add(_add(feed, "author"), "name", "CSPA Catalogue")
    for record in entries:
        entry = _add(feed, "entry")
        _add(entry, "id", _tag(links, f"services/{record.id}/versions/{record.version}"))
        _add(entry, "title", f"{record.name} {record.version}")
        _add(entry, "updated", _time(record.approved_at))
        _add(entry, "published", _time(record.approved_at))
        author = _add(entry, "author")
        _add(author, "name", record.organisation_name or record.organisation)
        _add(author, "uri", links.organisation(record.organisation))
        _add(entry, "link", rel="alternate", type="text/html", href=links.service(record.id))
        _add(entry, "summary", record.purpose, type="text")
        for code in record.gsbpm:
            _add(entry, "category", term=code, scheme=links.to("document/gsbpm"), label=f"GSBPM {code}")
    ET.indent(feed)
    return ET.tostring(feed, encoding="unicode", xml_declaration=True) + "\n"


def news_feed(title: str, path: str, page: str, news: list[News], links: Links, generated_at: datetime) -> str:
    """A feed of public news (one service's, or one organisation's services'), newest first: what
    approved_feed is for the whole catalogue. path is the feed's own path, page the HTML page it follows."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", _tag(links, path))
    _add(feed, "title", title)
    _add(feed, "updated", _time(news[0].at if news else generated_at))
    _add(feed, "link", rel="self", type=MEDIA_TYPE, href=links.to(path))
    _add(feed, "link", rel="alternate", type="text/html", href=links.to(page))
    _add(feed, "generator", "CSPA Catalogue")
    _add(_add(feed, "author"), "name", "CSPA Catalogue")
    for item in news[:MAX_ENTRIES]:
        entry = _add(feed, "entry")
        _add(entry, "id", _tag(links, f"services/{item.slug}/versions/{item.version}/{item.what}"))
        _add(entry, "title", f"{item.name} {item.version} {item.what}")
        _add(entry, "updated", _time(item.at))
        author = _add(entry, "author")
        _add(author, "name", item.organisation_name or item.organisation)
        _add(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=links.to(f"services/{quote(item.slug)}/versions/{quote(item.version)}"),
        )
        _add(entry, "summary", item.purpose, type="text")
    ET.indent(feed)
    return ET.tostring(feed, encoding="unicode", xml_declaration=True) + "\n"
