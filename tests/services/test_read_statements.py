"""A service read through the API costs a fixed, small number of statements (it is the page every integration
polls): the organisation shown with the service comes with it."""

from __future__ import annotations

from sqlalchemy import event

from catalogue.db import database_of


def _statements(app, call) -> list[str]:
    engine = database_of(app).engine
    seen: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


def test_a_service_read_loads_its_organisation_with_it(seeded):
    client = seeded.test_client()
    slug = client.get("/api/v1/services").json["items"][0]["id"]
    # A conditional request is answered by the app (never from memory): each one builds the answer.
    headers = {"If-None-Match": '"none"'}
    statements = _statements(seeded, lambda: client.get(f"/api/v1/services/{slug}", headers=headers))
    answer = client.get(f"/api/v1/services/{slug}", headers=headers)
    assert answer.status_code == 200 and answer.json["organisation"]
    assert not [s for s in statements if s.startswith("SELECT organisations.")], statements
    # The catalogue's version, the service (with its organisation) and its versions.
    assert len([s for s in statements if s.startswith("SELECT")]) <= 3, statements
