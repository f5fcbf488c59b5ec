"""The review workflow: reviews; users can be deactivated and their sessions ended; tokens have names.

Revision ID: 0002_review_workflow
Revises: 0001_initial
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalogue.db import JSONDocument, UTCDateTime

revision = "0002_review_workflow"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the reviews table and the new columns of users and api_tokens, filling them for existing rows."""
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("items", JSONDocument, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("decision IN ('approved', 'changes_requested', 'rejected')", name="review_decision"),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["service_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_reviews_version_id"), "reviews", ["version_id"], unique=False)
    # Existing users stay active with their sessions valid; existing tokens are unnamed.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("name", sa.String(length=100), nullable=False, server_default=""))
    # The defaults were only for the rows already there: new rows get theirs from the models, exactly as
    # in a database made by create_all (SQLite copies the table to drop a default).
    with op.batch_alter_table("users") as batch:
        batch.alter_column("active", server_default=None)
        batch.alter_column("session_version", server_default=None)
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("name", server_default=None)


def downgrade() -> None:
    """Drop the reviews and the new columns."""
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
        batch.drop_column("active")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("name")
    op.drop_index(op.f("ix_reviews_version_id"), table_name="reviews")
    op.drop_table("reviews")
