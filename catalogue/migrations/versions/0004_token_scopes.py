"""Token scopes: each API token says what it may be used for, and a token made by a token names its parent.

Existing tokens receive every scope their owner's role allows (a submitter's: read and submit; a reviewer's:
read and review; an admin's: all four), so they keep doing what they did.

Revision ID: 0004_token_scopes
Revises: 0003_reserved_ids
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_token_scopes"
down_revision = "0003_reserved_ids"
branch_labels = None
depends_on = None

# As catalogue.auth.models.ROLE_SCOPES said when this revision was written (a migration never follows later code).
_ROLE_SCOPES = {"submitter": "read submit", "reviewer": "read review", "admin": "read submit review admin"}


def upgrade() -> None:
    """Add api_tokens.scopes and api_tokens.parent_id, giving existing tokens their owner's role's scopes."""
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("scopes", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_api_tokens_parent_id_api_tokens", "api_tokens", ["parent_id"], ["id"])
    tokens = sa.table("api_tokens", sa.column("user_id", sa.Integer()), sa.column("scopes", sa.String()))
    users = sa.table("users", sa.column("id", sa.Integer()), sa.column("role", sa.String()))
    for role, scopes in _ROLE_SCOPES.items():
        owners = sa.select(users.c.id).where(users.c.role == role)
        op.execute(tokens.update().where(tokens.c.user_id.in_(owners)).values(scopes=scopes))
    # A token of a user with no known role (none exist: a check constraint guards the role) could read only.
    op.execute(tokens.update().where(tokens.c.scopes.is_(None)).values(scopes="read"))
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("scopes", existing_type=sa.String(length=60), nullable=False)


def downgrade() -> None:
    """Drop the scopes and the parent link (tokens then act with their owner's full role again)."""
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint("fk_api_tokens_parent_id_api_tokens", type_="foreignkey")
        batch.drop_column("parent_id")
        batch.drop_column("scopes")
