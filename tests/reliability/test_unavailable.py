"""A database that cannot be reached: 503 problem+json (never a 500), and service again once it is back.

In-process and quick, on a SQLite file whose folder does not exist yet (opening it fails as a lost server
would); tests/reliability/test_faults.py cuts a real PostgreSQL connection under gunicorn.
"""

from __future__ import annotations

from pathlib import Path

from catalogue import create_app
from catalogue.config import Config
from catalogue.db import database_of, db
from catalogue.errors import PROBLEM_MEDIA_TYPE


def test_an_unreachable_database_answers_503_then_recovers_without_restart(tmp_path: Path) -> None:
    folder = tmp_path / "not-there-yet"
    app = create_app(
        Config(
            instance_path=tmp_path,
            database_url=f"sqlite:///{folder / 'catalogue.sqlite3'}",
            index_dir=tmp_path / "index",
        )
    )
    client = app.test_client()
    try:
        for url in ("/api/v1/services", "/api/v1/services/demo-linkage", "/api/v1/search?q=linkage"):
            response = client.get(url)
            assert response.status_code == 503, (url, response.status_code, response.get_data(as_text=True)[:300])
            assert response.mimetype == PROBLEM_MEDIA_TYPE
            body = response.get_json()
            assert body["status"] == 503 and body["type"].endswith("/database-unavailable")
            assert int(response.headers["Retry-After"]) > 0
        submitted = client.post(
            "/api/v1/services",
            data="cspa: '2.0'",
            headers={"Authorization": "Bearer x", "Content-Type": "application/yaml"},
        )
        assert submitted.status_code == 503, submitted.get_data(as_text=True)[:300]
        page = client.get("/services/demo-linkage", headers={"Accept": "text/html"})
        assert page.status_code == 503
        assert "Database unavailable" in page.get_data(as_text=True)

        folder.mkdir()  # the database is back
        with app.app_context():
            db.create_all()
        listed = client.get("/api/v1/services")
        assert listed.status_code == 200, listed.get_data(as_text=True)[:300]
        assert listed.get_json()["total"] == 0
        assert client.get("/api/v1/search?q=linkage").status_code == 200
    finally:
        app.extensions["catalogue.search"].index.close()
        assert database_of(app).engine is not None
        database_of(app).engine.dispose()
