"""Linked layers: Definitions and Specifications stored apart (layer_versions) and linked by each version.

Every existing version gets its definition and specification layer versions, made from its own descriptor
(before this revision every descriptor carried its layers inline), is linked to them, and its bundle (the
descriptor with every layer inline) is filled. Nothing is removed: descriptors, reviews and events stay.

Revision ID: 0005_linked_layers
Revises: 0004_token_scopes
Create Date: 2026-11-28
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from catalogue.db import JSONDocument, UTCDateTime

revision = "0005_linked_layers"
down_revision = "0004_token_scopes"
branch_labels = None
depends_on = None

_KINDS = ("definition", "specification")


def upgrade() -> None:
    """Create layer_versions, link every version to its layers and fill its bundle."""
    op.create_table(
        "layer_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("content", JSONDocument, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("specifies_id", sa.Integer(), nullable=True),
        sa.Column("introduced_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('definition', 'specification')", name="layer_kind"),
        sa.CheckConstraint("kind = 'specification' OR specifies_id IS NULL", name="layer_specifies"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["specifies_id"], ["layer_versions.id"]),
        sa.ForeignKeyConstraint(["introduced_by_id"], ["service_versions.id"], name="fk_layer_introduced_by"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "organisation_id", "slug", "version", name="uq_layer_version"),
    )
    op.create_index(op.f("ix_layer_versions_slug"), "layer_versions", ["slug"], unique=False)
    op.create_index(op.f("ix_layer_versions_specifies_id"), "layer_versions", ["specifies_id"], unique=False)
    with op.batch_alter_table("service_versions") as batch:
        batch.add_column(sa.Column("definition_version_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("specification_version_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("bundle", JSONDocument, nullable=True))
        batch.create_foreign_key(
            "fk_service_versions_definition_version_id_layer_versions",
            "layer_versions",
            ["definition_version_id"],
            ["id"],
        )
        batch.create_foreign_key(
            "fk_service_versions_specification_version_id_layer_versions",
            "layer_versions",
            ["specification_version_id"],
            ["id"],
        )
        batch.create_index("ix_service_versions_definition_version_id", ["definition_version_id"], unique=False)
        batch.create_index("ix_service_versions_specification_version_id", ["specification_version_id"], unique=False)
    _link_existing_versions(op.get_bind())
    with op.batch_alter_table("service_versions") as batch:
        batch.alter_column("bundle", existing_type=JSONDocument, nullable=False)


def downgrade() -> None:
    """Drop the links, the bundles and the layer versions (every descriptor still holds its layers inline)."""
    with op.batch_alter_table("service_versions") as batch:
        batch.drop_index("ix_service_versions_specification_version_id")
        batch.drop_index("ix_service_versions_definition_version_id")
        batch.drop_constraint("fk_service_versions_specification_version_id_layer_versions", type_="foreignkey")
        batch.drop_constraint("fk_service_versions_definition_version_id_layer_versions", type_="foreignkey")
        batch.drop_column("bundle")
        batch.drop_column("specification_version_id")
        batch.drop_column("definition_version_id")
    op.drop_index(op.f("ix_layer_versions_specifies_id"), table_name="layer_versions")
    op.drop_index(op.f("ix_layer_versions_slug"), table_name="layer_versions")
    op.drop_table("layer_versions")


# --- the data: as catalogue.services.layers bundled when this revision was written -------------------------


def _hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _bundle(content: dict[str, Any]) -> dict[str, Any]:
    """The descriptor with each inline layer's id, version and owner filled and dependencies in the definition."""
    result = dict(content)
    owner = (content.get("implementation") or {}).get("owner")
    for kind in _KINDS:
        layer = content.get(kind)
        if not isinstance(layer, dict):
            continue
        layer = dict(layer)
        layer.setdefault("id", content.get("id"))
        layer.setdefault("version", content.get("version"))
        if isinstance(owner, str):
            layer.setdefault("owner", owner)
        result[kind] = layer
    specification, definition = result.get("specification"), result.get("definition")
    if isinstance(specification, dict) and "dependencies" in specification:
        moved = specification.pop("dependencies")
        if isinstance(definition, dict) and isinstance(moved, list):
            kept = definition.get("dependencies")
            merged = list(kept) if isinstance(kept, list) else []
            merged.extend(item for item in moved if item not in merged)
            definition["dependencies"] = merged
    return result


_versions = sa.table(
    "service_versions",
    sa.column("id", sa.Integer()),
    sa.column("service_id", sa.Integer()),
    sa.column("descriptor", JSONDocument),
    sa.column("created_at", UTCDateTime()),
    sa.column("definition_version_id", sa.Integer()),
    sa.column("specification_version_id", sa.Integer()),
    sa.column("bundle", JSONDocument),
)
_services = sa.table("services", sa.column("id", sa.Integer()), sa.column("organisation_id", sa.Integer()))
# A Table (not a lightweight table) so that an insert reports the new row's primary key.
_layers = sa.Table(
    "layer_versions",
    sa.MetaData(),
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("kind", sa.String()),
    sa.Column("organisation_id", sa.Integer()),
    sa.Column("slug", sa.String()),
    sa.Column("version", sa.String()),
    sa.Column("content", JSONDocument),
    sa.Column("content_hash", sa.String()),
    sa.Column("specifies_id", sa.Integer()),
    sa.Column("introduced_by_id", sa.Integer()),
    sa.Column("created_at", UTCDateTime()),
)


def _link_existing_versions(connection: sa.Connection) -> None:
    """Oldest first, so the version that introduced a layer is the first that carried it."""
    rows = connection.execute(
        sa.select(_versions.c.id, _versions.c.descriptor, _versions.c.created_at, _services.c.organisation_id)
        .join(_services, _services.c.id == _versions.c.service_id)
        .order_by(_versions.c.id)
    ).all()
    for row in rows:
        bundled = _bundle(row.descriptor)
        links: dict[str, int | None] = {}
        for kind in _KINDS:
            layer = bundled.get(kind)
            links[kind] = (
                _layer_id(connection, kind, layer, row, links.get("definition")) if isinstance(layer, dict) else None
            )
        connection.execute(
            _versions.update()
            .where(_versions.c.id == row.id)
            .values(
                bundle=bundled,
                definition_version_id=links["definition"],
                specification_version_id=links["specification"],
            )
        )


def _layer_id(connection: sa.Connection, kind: str, layer: dict[str, Any], row: Any, definition: int | None) -> int:
    """The id of the layer version of that identity, stored now if it is new.

    Two versions could carry one identity only if a descriptor named its layer's id and version itself; the
    first stored keeps it, and each version's bundle keeps what it said.
    """
    key = (kind, row.organisation_id, str(layer["id"]), str(layer["version"]))
    found = connection.execute(
        sa.select(_layers.c.id).where(
            _layers.c.kind == key[0],
            _layers.c.organisation_id == key[1],
            _layers.c.slug == key[2],
            _layers.c.version == key[3],
        )
    ).scalar()
    if found is not None:
        return int(found)
    inserted = connection.execute(
        _layers.insert().values(
            kind=kind,
            organisation_id=row.organisation_id,
            slug=key[2],
            version=key[3],
            content=layer,
            content_hash=_hash(layer),
            specifies_id=definition if kind == "specification" else None,
            introduced_by_id=row.id,
            created_at=row.created_at,
        )
    )
    assert inserted.inserted_primary_key is not None
    return int(inserted.inserted_primary_key[0])
