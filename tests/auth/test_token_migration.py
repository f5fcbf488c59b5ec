"""Revision 0003: tokens made before scopes existed receive exactly the scopes their owner's role allows."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import MetaData, create_engine, select

from catalogue import create_app, migrations
from catalogue.auth.models import ApiToken
from catalogue.config import Config
from catalogue.db import db
from tests.conftest import close_app

BEFORE = "0002_review_workflow"


def test_existing_tokens_get_the_scopes_of_their_owners_role(empty_url: str, tmp_path: Path) -> None:
    migrations.upgrade(empty_url, BEFORE)
    engine = create_engine(empty_url)
    old = MetaData()
    old.reflect(engine)
    assert "scopes" not in old.tables["api_tokens"].c
    now = datetime.now(UTC)
    tokens = {}
    with engine.begin() as connection:
        tables = old.tables
        org = connection.execute(
            tables["organisations"].insert().values(code="ISTAT", name="Istat")
        ).inserted_primary_key[0]
        for role in ("submitter", "reviewer", "admin"):
            user = connection.execute(
                tables["users"]
                .insert()
                .values(
                    email=f"{role}@istat.example",
                    display_name=role,
                    organisation_id=org,
                    role=role,
                    created_at=now,
                    active=True,
                    session_version=1,
                )
            ).inserted_primary_key[0]
            tokens[role] = f"cspa_{role}-token-made-before-scopes"
            connection.execute(
                tables["api_tokens"]
                .insert()
                .values(
                    user_id=user,
                    name=role,
                    token_hash=hashlib.sha256(tokens[role].encode()).hexdigest(),
                    prefix=tokens[role][:12],
                    created_at=now,
                    expires_at=now + timedelta(days=30),
                )
            )
    engine.dispose()

    assert migrations.upgrade(empty_url) == (BEFORE, migrations.head())
    app = create_app(Config(instance_path=tmp_path, database_url=empty_url, index_dir=tmp_path / "index"))
    try:
        with app.app_context(), db.transaction() as session:
            found = {row.name: (row.scopes, row.parent_id) for row in session.scalars(select(ApiToken))}
        assert found == {
            "submitter": ("read submit", None),
            "reviewer": ("read review", None),
            "admin": ("read submit review admin", None),
        }
        client = app.test_client()
        listed = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {tokens['reviewer']}"})
        assert listed.status_code == 200 and listed.json[0]["scopes"] == ["read", "review"]
        assert (
            client.get("/api/v1/reviews", headers={"Authorization": f"Bearer {tokens['reviewer']}"}).status_code == 200
        )
    finally:
        close_app(app)
    migrations.downgrade(empty_url, BEFORE)
    assert migrations.upgrade(empty_url) == (BEFORE, migrations.head())
