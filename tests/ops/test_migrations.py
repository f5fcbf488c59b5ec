"""Migrations: an empty database and a first-release database with data both reach head, with the very
schema create_all makes; the app refuses to serve a database that is not at head, which it finds out without
Alembic (the revision read as Alembic reads it, the head named in the code)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import MetaData, create_engine, inspect, select

from catalogue import create_app, migrations
from catalogue.cli import main
from catalogue.config import Config
from catalogue.db import Base, database_of, db
from catalogue.events import Event
from catalogue.services import descriptors, validation, workflow
from catalogue.services.models import Service, ServiceVersion, VersionSubprocess
from tests.conftest import DATA, close_app, drop_everything

FIRST = "0001_initial"


def _schema(url: str) -> dict[str, Any]:
    """What the database holds, table by table, as reflection sees it (Alembic's own table left out)."""
    engine = create_engine(url)
    try:
        found = inspect(engine)
        shape = {}
        for table in sorted(set(found.get_table_names()) - {"alembic_version"}):
            shape[table] = {
                "columns": sorted(
                    (c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in found.get_columns(table)
                ),
                "primary_key": found.get_pk_constraint(table)["constrained_columns"],
                "foreign_keys": sorted(
                    (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                    for fk in found.get_foreign_keys(table)
                ),
                "unique": sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table)),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes(table)
                ),
                "checks": sorted(
                    (c["name"], " ".join(c["sqltext"].split())) for c in found.get_check_constraints(table)
                ),
            }
        return shape
    finally:
        engine.dispose()


def _differences(url: str) -> list[Any]:
    """Alembic's comparison of the database with the models (types and server defaults included)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _app(folder: Path, url: str) -> Flask:
    return create_app(Config(instance_path=folder, database_url=url, index_dir=folder / "index"))


def _close(app: Flask) -> None:
    close_app(app)  # its threads too: a mail sender left running opens connections no one closes


def test_an_empty_database_upgrades_to_head_with_the_schema_create_all_makes(empty_url: str, tmp_path: Path) -> None:
    before, after = migrations.upgrade(empty_url)
    assert (before, after) == (None, migrations.head())
    assert _differences(empty_url) == []
    migrated = _schema(empty_url)
    assert {"services", "service_versions", "reviews", "users", "api_tokens", "events"} <= set(migrated)

    # The same database made the fast way, as the tests make theirs.
    if empty_url.startswith("sqlite"):
        created_url = f"sqlite:///{tmp_path / 'created.sqlite3'}"
    else:
        drop_everything(empty_url)
        created_url = empty_url
    app = _app(tmp_path, created_url)
    try:
        with app.app_context():
            db.create_all()
            assert database_of(app).engine is not None
            with db.engine.connect() as connection:
                assert migrations.current(connection) == migrations.head()  # stamped: it passes the check
            db.check_schema()
    finally:
        _close(app)
    assert _differences(created_url) == []
    assert _schema(created_url) == migrated


def _write_first_release_service(engine: Any, organisation_id: int, now: datetime) -> None:
    """The example service, approved at version 1.0.0, in the tables of the first release."""
    text = (DATA / "good.yaml").read_text("utf-8")
    descriptor = descriptors.parse(text.encode(), "yaml", descriptors.Limits())
    report, assessment = workflow.check_descriptor(descriptor)
    content = descriptor.content
    services, versions = Service.__table__, ServiceVersion.__table__
    with engine.begin() as connection:
        service_id = connection.execute(
            services.insert().values(
                slug=content["id"], organisation_id=organisation_id, status="approved", created_at=now, updated_at=now
            )
        ).inserted_primary_key[0]
        version_id = connection.execute(
            versions.insert().values(
                service_id=service_id,
                version=content["version"],
                status="approved",
                name=content["definition"]["name"],
                descriptor_text=text,
                descriptor_format="yaml",
                descriptor=content,
                content_hash=validation.content_hash(content),
                validation=report.to_dict(),
                compliance=assessment.to_dict(),
                compliance_score=assessment.score,
                submitted_by_id=None,
                created_at=now,
            )
        ).inserted_primary_key[0]
        for code in content["definition"]["gsbpm"]:
            connection.execute(VersionSubprocess.__table__.insert().values(version_id=version_id, code=code))
        connection.execute(
            services.update()
            .where(services.c.id == service_id)
            .values(latest_version_id=version_id, public_version_id=version_id)
        )
        connection.execute(
            Event.__table__.insert().values(
                kind="version.submitted",
                service_id=service_id,
                version_id=version_id,
                actor_id=None,
                created_at=now,
                data={"version": content["version"], "to": "approved"},
            )
        )


def test_a_first_release_database_upgrades_in_place_keeping_its_data(empty_url: str, tmp_path: Path) -> None:
    assert migrations.upgrade(empty_url, FIRST) == (None, FIRST)
    engine = create_engine(empty_url)
    old = MetaData()
    old.reflect(engine)
    assert (
        "reviews" not in old.tables
        and "active" not in old.tables["users"].c
        and "name" not in old.tables["api_tokens"].c
    )
    token = "cspa_" + "first-release-token-" * 2
    now = datetime.now(UTC)
    with engine.begin() as connection:
        tables = old.tables
        org = connection.execute(
            tables["organisations"].insert().values(code="ISTAT", name="Istat", country="IT")
        ).inserted_primary_key[0]
        user = connection.execute(
            tables["users"]
            .insert()
            .values(
                email="old@istat.example",
                display_name="Old hand",
                organisation_id=org,
                role="submitter",
                created_at=now,
            )
        ).inserted_primary_key[0]
        connection.execute(
            tables["api_tokens"]
            .insert()
            .values(
                user_id=user,
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                prefix=token[:12],
                created_at=now,
            )
        )
    # A service of the first release, approved, written column by column as the first release wrote it
    # (the registry of today writes columns the first release had not).
    _write_first_release_service(engine, org, now)
    engine.dispose()

    assert migrations.upgrade(empty_url) == (FIRST, migrations.head())
    assert _differences(empty_url) == []

    app = _app(tmp_path, empty_url)
    client = app.test_client()
    try:
        # The data is all there, and works with the new code: the old token still signs requests in.
        assert client.get("/api/v1/services/demo-linkage").json["status"] == "approved"
        assert [hit["id"] for hit in client.get("/api/v1/search?q=linkage").json["hits"]] == ["demo-linkage"]
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/tokens", headers=auth).status_code == 200
        text = (DATA / "good.yaml").read_text("utf-8").replace("version: 1.0.0", "version: 1.1.0")
        submitted = client.post("/api/v1/services", data=text, headers=auth)
        assert submitted.status_code == 201, submitted.json
        with app.app_context(), db.transaction() as session:
            from catalogue.auth.models import ApiToken, User

            user_row = session.scalars(select(User)).one()
            assert (user_row.email, user_row.active, user_row.session_version) == ("old@istat.example", True, 1)
            assert session.scalars(select(ApiToken.name)).all() == [""]
            # The service approved before the id rule keeps its id reserved.
            assert session.scalars(select(Service.reserved_slug)).all() == ["demo-linkage"]
            assert len(session.scalars(select(Event)).all()) >= 2
    finally:
        _close(app)

    # And back: the first release's schema again, then up once more.
    migrations.downgrade(empty_url, FIRST)
    assert "reviews" not in _schema(empty_url) and "active" not in [
        c[0] for c in _schema(empty_url)["users"]["columns"]
    ]
    assert migrations.upgrade(empty_url) == (FIRST, migrations.head())


def test_the_app_refuses_a_database_not_at_head_and_names_the_command(empty_url: str, tmp_path: Path) -> None:
    app = _app(tmp_path, empty_url)
    client = app.test_client()
    try:
        never = client.get("/api/v1/services")
        assert never.status_code == 503 and never.mimetype == "application/problem+json"
        assert "never migrated" in never.json["detail"] and "catalogue migrate" in never.json["detail"]

        migrations.upgrade(empty_url, FIRST)
        old = client.get("/")
        assert old.status_code == 503 and FIRST in old.json["detail"] and migrations.head() in old.json["detail"]
        assert client.get("/healthz").status_code == 200  # alive, just not ready
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json["checks"]["schema"]["ready"] is False
        assert "catalogue migrate" in ready.json["detail"]

        result = CliRunner().invoke(main, ["migrate"], env={"CATALOGUE_DATABASE_URL": empty_url})
        assert result.exit_code == 0, result.output
        assert f"at revision {migrations.head()} (was {FIRST})" in result.output
        assert client.get("/api/v1/services").status_code == 200
        assert client.get("/readyz").status_code == 200
        again = CliRunner().invoke(main, ["migrate"], env={"CATALOGUE_DATABASE_URL": empty_url})
        assert again.exit_code == 0 and "(was" not in again.output  # nothing to do the second time
    finally:
        _close(app)


def test_a_stamp_left_on_a_database_without_tables_is_no_reason_to_skip_creating_them(empty_url: str) -> None:
    migrations.upgrade(empty_url)
    engine = create_engine(empty_url)
    try:
        Base.metadata.drop_all(engine)  # what the test fixtures do on PostgreSQL: Alembic's table stays
        assert inspect(engine).get_table_names() == ["alembic_version"]
    finally:
        engine.dispose()
    assert migrations.upgrade(empty_url) == (migrations.head(), migrations.head())
    assert _differences(empty_url) == []


def test_every_revision_can_be_undone_to_an_empty_database(empty_url: str) -> None:
    migrations.upgrade(empty_url)
    migrations.downgrade(empty_url, "base")
    assert set(_schema(empty_url)) == set()
    assert migrations.upgrade(empty_url) == (None, migrations.head())


def test_the_head_constant_names_the_newest_migration() -> None:
    # The schema gate compares with migrations.HEAD so that no worker imports Alembic: a new migration updates it.
    newest = ScriptDirectory.from_config(migrations.alembic_config()).get_current_head()
    assert migrations.HEAD == newest, f"set HEAD = {newest!r} in catalogue/migrations/__init__.py"
    assert migrations.head() == newest


def test_the_revision_is_read_as_alembic_reads_it(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        for revision in (None, FIRST, migrations.HEAD):  # no version table, then each revision in turn
            if revision is not None:
                migrations.upgrade(empty_url, revision)
            with engine.connect() as connection:
                assert migrations.current(connection) == revision
                assert MigrationContext.configure(connection).get_current_revision() == revision
        migrations.downgrade(empty_url, "base")  # Alembic's table stays, with no row: never migrated
        with engine.connect() as connection:
            assert migrations.current(connection) is None
            with pytest.raises(migrations.SchemaNotCurrent, match="never migrated"):
                migrations.check_at_head(connection)
    finally:
        engine.dispose()
