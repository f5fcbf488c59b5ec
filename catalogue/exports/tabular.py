"""The public catalogue as one JSON document, or as CSV with one row per service."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from catalogue.exports.catalogue import ExportedService, Links
from catalogue.exports.schemas import CatalogueExportSchema

LIST_SEPARATOR = "; "
"""Joins a list into one CSV cell (commas would be quoted, and hard to split in a spreadsheet)."""

CSV_COLUMNS = (
    "id",
    "version",
    "status",
    "name",
    "purpose",
    "organisation",
    "organisation_name",
    "country",
    "gsbpm",
    "keywords",
    "protocol",
    "operations",
    "licence",
    "maturity",
    "technology",
    "deployment",
    "documentation",
    "homepage",
    "source",
    "contacts",
    "compliance_score",
    "approved_at",
    "endpoint_url",
    "url",
    "openapi_url",
    "interface_kinds",
    "dependencies",
    "methodologies",
    "builder",
    "software_version",
    "formats_accepted",
    "formats_produced",
    "install",
)
"""The CSV's columns, in order (the Markdown description is left to the JSON export)."""


def _row(record: ExportedService, links: Links) -> dict[str, Any]:
    openapi_url = links.version_file(record.id, record.version, "openapi.json") if record.openapi is not None else None
    return {**record.to_dict(), "url": links.service(record.id), "openapi_url": openapi_url}


def catalogue_document(records: list[ExportedService], links: Links, generated_at: datetime) -> dict[str, Any]:
    """The JSON export as plain values, shaped by CatalogueExportSchema."""
    body = {
        "generated_at": generated_at,
        "source": links.base,
        "count": len(records),
        "services": [_row(r, links) for r in records],
    }
    return CatalogueExportSchema().dump(body)  # type: ignore[no-any-return]


def catalogue_json(records: list[ExportedService], links: Links, generated_at: datetime) -> str:
    """The whole public catalogue as JSON text."""
    return json.dumps(catalogue_document(records, links, generated_at), indent=2, ensure_ascii=False) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(_cell(v) for v in value)
    if isinstance(value, dict):  # a contact: its name, with its address in angle brackets
        address = value.get("email") or value.get("url")
        return f"{value.get('name', '')} <{address}>" if address else str(value.get("name", ""))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _safe(text: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection); a quote defuses it.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def catalogue_csv(records: list[ExportedService], links: Links) -> str:
    """The whole public catalogue as CSV (RFC 4180, a header row, one row per service)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        row = _row(record, links)
        writer.writerow([_safe(_cell(row[column])) for column in CSV_COLUMNS])
    return out.getvalue()
