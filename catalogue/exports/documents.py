"""One function per export document, shared by the routes and `catalogue export`."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session

from catalogue.db import utcnow
from catalogue.events import catalogue_state
from catalogue.exports import atom, backstage, tabular
from catalogue.exports.catalogue import Links, public_services


@dataclass(frozen=True)
class Document:
    """An export ready to send or write: its text, media type and a file name."""

    text: str
    media_type: str
    filename: str


FILENAMES = {
    "json": "catalogue.json",
    "csv": "catalogue.csv",
    "jsonld": "dcat.jsonld",
    "turtle": "dcat.ttl",
    "backstage": "backstage.yaml",
    "atom": "approved.atom",
}
"""The file name of each format (also the last part of its route)."""


def export(session: Session, fmt: str, links: Links) -> Document:
    """The whole public catalogue in fmt (json, csv, jsonld, turtle, backstage or atom)."""
    records = public_services(session)
    now = utcnow()
    if fmt == "json":
        return Document(tabular.catalogue_json(records, links, now), "application/json", FILENAMES[fmt])
    if fmt == "csv":
        return Document(tabular.catalogue_csv(records, links), "text/csv; charset=utf-8", FILENAMES[fmt])
    if fmt in ("jsonld", "turtle"):
        # rdflib (about 5 MB of every worker's memory) is imported by the first DCAT export, not at start.
        from catalogue.exports import dcat

        return Document(dcat.catalogue_rdf(records, links, now, fmt), dcat.MEDIA_TYPES[fmt], FILENAMES[fmt])
    if fmt == "backstage":
        return Document(backstage.catalogue_yaml(records, links), backstage.MEDIA_TYPE, FILENAMES[fmt])
    if fmt == "atom":
        return Document(atom.approved_feed(records, links, now), atom.MEDIA_TYPE, FILENAMES[fmt])
    raise ValueError(f"unknown export format {fmt!r}")


class DocumentCache:
    """Built documents by (last event id, format, base URL): a harvester polling without conditional
    headers costs a lookup until the catalogue changes. Event ids are global and only grow, so each
    process (or host) may keep its own cache and never serve a document older than the state it read."""

    def __init__(self, size: int = 16) -> None:
        self._documents: OrderedDict[tuple[int, str, str], Document] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def export(self, session: Session, fmt: str, links: Links) -> Document:
        """export(session, fmt, links), built once per catalogue state."""
        # The state is read before the documents: a document built from newer data than its key is
        # harmless (newer), the other way round could not happen.
        key = (catalogue_state(session).event_id, fmt, links.base)
        with self._lock:
            found = self._documents.get(key)
            if found is not None:
                self._documents.move_to_end(key)
                return found
        document = export(session, fmt, links)
        with self._lock:
            self._documents[key] = document
            while len(self._documents) > self._size:
                self._documents.popitem(last=False)
        return document


def cached_export(session: Session, fmt: str, links: Links) -> Document:
    """export() through the current app's DocumentCache (what the routes serve)."""
    cache = current_app.extensions.setdefault("catalogue.exports", DocumentCache())
    return cache.export(session, fmt, links)  # type: ignore[no-any-return]
