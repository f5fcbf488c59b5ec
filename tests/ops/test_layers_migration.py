"""Revision 0005 (linked layers): a database at 0004 with services, reviews and events upgrades in place; every
version keeps its descriptor, reviews and events, is linked to its definition and specification layer versions
and gets its bundle."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import MetaData, create_engine, func, select

from catalogue import create_app, migrations
from catalogue.config import Config
from catalogue.db import db
from catalogue.events import Event
from catalogue.services import layers, validation
from catalogue.services.models import LayerVersion, Review, ServiceVersion
from tests.conftest import DATA, close_app

BEFORE = "0004_token_scopes"


def _contents() -> list[dict[str, Any]]:
    """Version 1.0.0 as today's example; 1.1.0 in the older form, dependencies in the specification."""
    first = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    second = yaml.safe_load((DATA / "good.yaml").read_text("utf-8"))
    second["version"] = "1.1.0"
    second["specification"]["dependencies"] = ["A running linkage database"]
    # As a JSON column holds them (YAML's integer response codes become strings).
    return json.loads(json.dumps([first, second]))


def _write_0004_data(url: str) -> None:
    """One organisation, one service with an approved version (reviewed) and a submitted one, and their events,
    written in the tables of revision 0004 as reflected (not as today's models have them)."""
    engine = create_engine(url)
    old = MetaData()
    old.reflect(engine)
    tables = old.tables
    assert "layer_versions" not in tables and "bundle" not in tables["service_versions"].c
    now = datetime.now(UTC)
    with engine.begin() as connection:
        org = connection.execute(
            tables["organisations"].insert().values(code="ISTAT", name="Istat")
        ).inserted_primary_key[0]
        service = connection.execute(
            tables["services"]
            .insert()
            .values(slug="demo-linkage", organisation_id=org, status="submitted", created_at=now, updated_at=now)
        ).inserted_primary_key[0]
        ids = []
        for index, (content, status) in enumerate(zip(_contents(), ("approved", "submitted"), strict=True)):
            ids.append(
                connection.execute(
                    tables["service_versions"]
                    .insert()
                    .values(
                        service_id=service,
                        version=content["version"],
                        status=status,
                        name=content["definition"]["name"],
                        descriptor_text=yaml.safe_dump(content),
                        descriptor_format="yaml",
                        descriptor=content,
                        content_hash=validation.content_hash(content),
                        validation={"valid": True, "errors": [], "warnings": []},
                        compliance={"items": []},
                        compliance_score=80,
                        created_at=now + timedelta(seconds=index),
                    )
                ).inserted_primary_key[0]
            )
            connection.execute(
                tables["events"]
                .insert()
                .values(
                    kind="version.submitted",
                    service_id=service,
                    version_id=ids[-1],
                    created_at=now,
                    data={"version": content["version"], "to": "submitted"},
                )
            )
        connection.execute(
            tables["reviews"]
            .insert()
            .values(version_id=ids[0], decision="approved", comment="", items=[], created_at=now)
        )
        connection.execute(
            tables["services"]
            .update()
            .values(latest_version_id=ids[1], public_version_id=ids[0], reserved_slug="demo-linkage")
        )
    engine.dispose()


def test_a_0004_database_upgrades_linking_every_version_and_losing_nothing(empty_url: str, tmp_path: Path) -> None:
    migrations.upgrade(empty_url, BEFORE)
    _write_0004_data(empty_url)
    assert migrations.upgrade(empty_url) == (BEFORE, migrations.head())

    app = create_app(Config(instance_path=tmp_path, database_url=empty_url, index_dir=tmp_path / "index"))
    try:
        with app.app_context(), db.transaction() as session:
            versions = session.scalars(select(ServiceVersion).order_by(ServiceVersion.id)).all()
            assert [(v.version, v.status) for v in versions] == [("1.0.0", "approved"), ("1.1.0", "submitted")]
            assert [v.descriptor for v in versions] == _contents()
            assert session.scalar(select(func.count()).select_from(Review)) == 1
            assert session.scalars(select(Event.kind).order_by(Event.id)).all() == ["version.submitted"] * 2
            for version in versions:
                assert version.bundle == layers.bundle(version.descriptor)
                definition, specification = version.definition_version, version.specification_version
                assert definition is not None and specification is not None
                assert (definition.slug, definition.version) == ("demo-linkage", version.version)
                assert definition.organisation.code == "ISTAT" and specification.specifies_id == definition.id
                assert definition.content == version.bundle["definition"]
                assert definition.introduced_by_id == version.id
            # The older form's dependencies are read in the definition, where CSPA 2.0 Annex 1 has them.
            assert versions[1].bundle["definition"]["dependencies"] == ["A running linkage database"]
            assert "dependencies" not in versions[1].bundle["specification"]
            assert session.scalar(select(func.count()).select_from(LayerVersion)) == 4
        client = app.test_client()
        family = client.get("/api/v1/definitions/ISTAT/demo-linkage").json
        # An anonymous reader sees only the version that a public (approved) version implements.
        assert [v["version"] for v in family["versions"]] == ["1.0.0"]
        assert client.get("/api/v1/services/demo-linkage/versions/1.0.0").json["definition"] == {
            "owner": "ISTAT",
            "id": "demo-linkage",
            "version": "1.0.0",
        }
    finally:
        close_app(app)

    # And back to 0004: the descriptors, reviews and events are still there; then up again.
    migrations.downgrade(empty_url, BEFORE)
    engine = create_engine(empty_url)
    try:
        old = MetaData()
        old.reflect(engine)
        assert "layer_versions" not in old.tables
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(old.tables["service_versions"])).scalar() == 2
            assert connection.execute(select(func.count()).select_from(old.tables["reviews"])).scalar() == 1
    finally:
        engine.dispose()
    assert migrations.upgrade(empty_url) == (BEFORE, migrations.head())
