"""An id is reserved only by an approved version: ids are unique per organisation, and across organisations
only among services that were ever approved (reserved_slug).

Revision ID: 0003_reserved_ids
Revises: 0002_review_workflow
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_reserved_ids"
down_revision = "0002_review_workflow"
branch_labels = None
depends_on = None

# SQLite's copy of the table needs a name for the unnamed unique constraint of 0001 to drop it.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _drop_global_slug_constraint() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("services_slug_key", "services", type_="unique")
    else:
        with op.batch_alter_table("services", naming_convention=_SQLITE_NAMES) as batch:
            batch.drop_constraint("uq_services_slug", type_="unique")


def upgrade() -> None:
    """Replace the catalogue-wide unique id by one per organisation, and reserve the ids already approved."""
    _drop_global_slug_constraint()
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("reserved_slug", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_service_organisation_slug", ["organisation_id", "slug"])
        batch.create_unique_constraint("uq_service_reserved_slug", ["reserved_slug"])
        batch.create_index("ix_services_slug", ["slug"], unique=False)
    # Every service with a version ever approved keeps its id: ids were unique until now, so no two collide.
    op.execute(
        "UPDATE services SET reserved_slug = slug WHERE EXISTS (SELECT 1 FROM service_versions v "
        "WHERE v.service_id = services.id AND v.status IN ('approved', 'deprecated', 'retired'))"
    )


def downgrade() -> None:
    """Back to one catalogue-wide unique id (fails if two organisations now share one)."""
    with op.batch_alter_table("services") as batch:
        batch.drop_index("ix_services_slug")
        batch.drop_constraint("uq_service_reserved_slug", type_="unique")
        batch.drop_constraint("uq_service_organisation_slug", type_="unique")
        batch.drop_column("reserved_slug")
    if op.get_bind().dialect.name == "postgresql":
        op.create_unique_constraint("services_slug_key", "services", ["slug"])
    else:
        with op.batch_alter_table("services") as batch:
            batch.create_unique_constraint("uq_services_slug", ["slug"])
