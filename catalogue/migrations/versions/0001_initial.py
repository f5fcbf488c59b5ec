"""The schema as it stood before the review workflow: organisations, services, versions, users, tokens, events.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalogue.db import JSONDocument, UTCDateTime

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables of the first release."""
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("latest_version_id", sa.Integer(), nullable=True),
        sa.Column("public_version_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'in_review', 'approved', 'changes_requested', 'rejected', 'deprecated', 'retired')",
            name="service_status",
        ),
        sa.ForeignKeyConstraint(
            ["latest_version_id"], ["service_versions.id"], name="fk_service_latest_version", use_alter=True
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["public_version_id"], ["service_versions.id"], name="fk_service_public_version", use_alter=True
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("role IN ('submitter', 'reviewer', 'admin')", name="user_role"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "service_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("descriptor_text", sa.Text(), nullable=False),
        sa.Column("descriptor_format", sa.String(length=8), nullable=False),
        sa.Column("descriptor", JSONDocument, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("validation", JSONDocument, nullable=False),
        sa.Column("compliance", JSONDocument, nullable=False),
        sa.Column("compliance_score", sa.Integer(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'in_review', 'approved', 'changes_requested', 'rejected', 'deprecated', 'retired')",
            name="version_status",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("service_id", "version", name="uq_service_version"),
    )
    if op.get_context().dialect.name != "sqlite":
        # services and service_versions point at each other: create_table leaves out the constraints marked
        # use_alter where ALTER can add them afterwards (SQLite has them inline: it checks them lazily).
        op.create_foreign_key(
            "fk_service_latest_version", "services", "service_versions", ["latest_version_id"], ["id"]
        )
        op.create_foreign_key(
            "fk_service_public_version", "services", "service_versions", ["public_version_id"], ["id"]
        )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("data", JSONDocument, nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["service_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_events_service", "events", ["service_id"], unique=False)
    op.create_table(
        "version_subprocesses",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["service_versions.id"],
        ),
        sa.PrimaryKeyConstraint("version_id", "code"),
    )
    op.create_index(op.f("ix_version_subprocesses_code"), "version_subprocesses", ["code"], unique=False)


def downgrade() -> None:
    """Drop them all."""
    op.drop_index(op.f("ix_version_subprocesses_code"), table_name="version_subprocesses")
    op.drop_table("version_subprocesses")
    op.drop_index("ix_events_service", table_name="events")
    op.drop_table("events")
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint("fk_service_public_version", "services", type_="foreignkey")
        op.drop_constraint("fk_service_latest_version", "services", type_="foreignkey")
    op.drop_table("service_versions")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("services")
    op.drop_table("organisations")
