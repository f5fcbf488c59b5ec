"""A submission's answer does not wait for the search index: the index follows on a thread of its own, and a
search right after the write, in the same process, still finds it (the catch-up-before-query rule)."""

from __future__ import annotations

import threading

from catalogue.search import follower_of


def test_the_submission_is_answered_before_the_index_follows_and_a_search_finds_it(app, client, make_user, good_text):
    token = make_user()
    search_index = app.extensions["catalogue.search"].index
    assert client.get("/api/v1/search?q=linkage").status_code == 200  # the index exists before the write
    follower = follower_of(app)
    assert follower.idle()
    syncs: list[tuple[str, int]] = []
    real_sync = search_index.sync
    gate = threading.Event()

    def recorded_sync() -> int:
        # The real sync, held until the 201 is back: a sync on the request's thread would never return.
        syncs.append((threading.current_thread().name, threading.get_ident()))
        if threading.current_thread().name == "search-index-follower":
            assert gate.wait(30)
        return real_sync()

    search_index.sync = recorded_sync
    try:
        posted = client.post("/api/v1/services", data=good_text, headers={"Authorization": f"Bearer {token}"})
        assert posted.status_code == 201, posted.json
        assert all(ident != threading.get_ident() for _name, ident in syncs), "the request thread synced the index"
        gate.set()
        # The same process searches at once: it catches up with the database first and finds the new service.
        found = client.get("/api/v1/search?q=linkage", headers={"Authorization": f"Bearer {token}"}).json
        assert [hit["id"] for hit in found["hits"]] == ["demo-linkage"]
        assert follower.idle()
    finally:
        gate.set()
        search_index.sync = real_sync
    assert [name for name, _ident in syncs].count("search-index-follower") >= 1
    assert search_index.last_applied() >= 1
