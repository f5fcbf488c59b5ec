"""Where every file the catalogue reads at run time lives, in a checkout and in an installed wheel.

The published contract (`schemas/`), the static files (`static/`) and the seed services (`seed_services/`) keep
their source of truth at the top of the repository, where the design card names them. The build (setup.py)
carries each into the wheel as a folder inside the package, so an installed catalogue finds them next to this
file; a checkout (and the editable install `make` uses) finds them one level up. Everything else the program
reads (templates, reference models, the CSPA document's chapters, migrations) lives inside the package in both.

This module imports nothing from the catalogue, so any module may import it.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    """The folder `name` inside the installed package, else the repository's top-level one (a checkout)."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


SCHEMA_DIR = _shipped("schemas")
"""The published contract: the descriptor's JSON Schema, also served under /schemas/."""
SCHEMA_FILE = SCHEMA_DIR / "cspa-service-descriptor.schema.json"
STATIC_DIR = _shipped("static")
"""CSS, JavaScript and images, served under /static/."""
SEED_DIR = _shipped("seed_services")
"""One descriptor per real CSPA service, loaded by `catalogue seed` and on the first `catalogue serve`."""

TEMPLATES_DIR = PACKAGE_DIR / "templates"
DESCRIPTOR_TEMPLATE_FILE = TEMPLATES_DIR / "services" / "descriptor-template.yaml"
REFERENCE_DIR = PACKAGE_DIR / "reference"
"""GSBPM 5.1, GSIM 1.2 and the CSPA compliance criteria as YAML."""
COMPLIANCE_FILE = REFERENCE_DIR / "compliance.yaml"
OPENAPI_31_SCHEMA_FILE = REFERENCE_DIR / "openapi-3.1-schema-2025-11-23.json"
"""The OpenAPI Initiative's published OpenAPI 3.1 schema, iteration 2025-11-23 (reference/SOURCES.md)."""
SYNONYMS_FILE = PACKAGE_DIR / "search" / "synonyms.yaml"
"""The abbreviations, synonyms and translations a search is widened with (search/vocabulary.py)."""
DOCUMENT_CONTENT_DIR = PACKAGE_DIR / "document" / "content"
"""The CSPA 2.0 document's chapters, one Markdown file each."""
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
