"""A conversation per version: the submitters' replies and reviewers' remarks beside the decisions.

Nothing existing changes; the new table starts empty (the decisions already stored stay in reviews).

Revision ID: 0006_conversation
Revises: 0005_linked_layers
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalogue.db import UTCDateTime

revision = "0006_conversation"
down_revision = "0005_linked_layers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create version_comments."""
    op.create_table(
        "version_comments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("service_versions.id"), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("length(body) > 0", name="comment_body"),
    )
    op.create_index("ix_version_comments_version_id", "version_comments", ["version_id"])


def downgrade() -> None:
    """Drop version_comments."""
    op.drop_index("ix_version_comments_version_id", table_name="version_comments")
    op.drop_table("version_comments")
