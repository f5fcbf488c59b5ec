"""Full-text search over the catalogue: a whoosh index that follows the database's events."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from catalogue.db import database_of
from catalogue.events import EVENTS_WRITTEN
from catalogue.search.index import SearchIndex, Sections
from catalogue.search.query import Searching, SearchRequest, SearchResult
from catalogue.services.permissions import Visibility

log = logging.getLogger(__name__)
T = TypeVar("T")


class HealingSearching(Searching):
    """Searching that survives a damaged index: when a search fails, the index is read through and, if it
    cannot be read, rebuilt from the database (the source of truth), and the search tried once more. Without
    this, index files overwritten on a running host made every search a 500 until a restart."""

    def _healing(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as exc:
            if not self.index.heal(exc):
                raise
        self.clear_cache(reader=True)
        return call()

    def search(self, request: SearchRequest, rule: Visibility) -> SearchResult:
        """Searching.search, healing a damaged index first if it fails."""
        return self._healing(lambda: Searching.search(self, request, rule))

    def suggest(self, prefix: str, rule: Visibility, limit: int = 10) -> list[dict[str, str]]:
        """Searching.suggest, healing a damaged index first if it fails."""
        return self._healing(lambda: Searching.suggest(self, prefix, rule, limit))


class IndexFollower:
    """Applies new events to the index after the commit that wrote them, on a thread of its own, so that the
    writer's answer (a 201) never waits for the index.

    Nothing is lost if it lags or dies: every search catches up with the database first (SearchIndex.catch_up,
    under the index's lock), so a reader who just wrote sees the write, in this process or any other. One
    thread per process, started at the first write (after a fork, a worker starts its own); wake() after each
    commit, idle() for tests and benchmarks; at exit it finishes the sync under way.
    """

    def __init__(self, search_index: SearchIndex) -> None:
        self.index = search_index
        self._changed = threading.Condition()
        self._asked = 0  # syncs asked for, and done: one sync answers every ask made before it started
        self._done = 0
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stopping = False
        self.synced = 0  # syncs run by the thread (for tests)

    def wake(self) -> None:
        """Ask for a sync soon (returns at once)."""
        with self._changed:
            self._asked += 1
            self._changed.notify_all()
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid, self._stopping = os.getpid(), False
                self._thread = threading.Thread(target=self._run, name="search-index-follower", daemon=True)
                self._thread.start()
                atexit.register(self.stop)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._done < self._asked or self._stopping)
                if self._done >= self._asked:
                    return
                target = self._asked
            try:
                self.index.sync()
                self.synced += 1
            except Exception:
                log.exception("search index sync failed; it will catch up before the next search")
            with self._changed:
                self._done = target
                self._changed.notify_all()

    def idle(self, timeout: float = 30.0) -> bool:
        """Wait until every sync asked for has run; False if timeout passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._done >= self._asked, timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the syncs asked for, then end the thread (at exit: a whoosh commit is not cut in the middle)."""
        thread = self._thread
        if thread is None or self._pid != os.getpid():
            return
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        thread.join(timeout)


def init_app(app: Flask, sections: Sections) -> None:
    """Give app a search over its index folder, synced after every commit that wrote events (on a thread of
    its own: see IndexFollower).

    sections gives the chapters of the CSPA document to index beside the services (the app factory
    hands them over: search reads no document module). Nothing is opened here: the index is opened
    (or built) by the first search or write.
    """
    sessions = database_of(app).sessionmaker
    search_index = SearchIndex(app.config["CATALOGUE"].index_dir, sessions, sections)
    app.extensions["catalogue.search"] = HealingSearching(search_index)
    follower = IndexFollower(search_index)
    app.extensions["catalogue.search.follower"] = follower

    def after_commit(session: Session) -> None:
        if session.info.pop(EVENTS_WRITTEN, False):
            follower.wake()  # the index follows on its own thread: the writer's answer does not wait for it

    def after_rollback(session: Session, _previous: Any = None) -> None:
        session.info.pop(EVENTS_WRITTEN, None)

    event.listen(sessions, "after_commit", after_commit)
    event.listen(sessions, "after_soft_rollback", after_rollback)


def searching() -> Searching:
    """The search of the current app."""
    return current_app.extensions["catalogue.search"]  # type: ignore[no-any-return]


def follower_of(app: Flask) -> IndexFollower:
    """The index follower of app (tests and benchmarks wait for it with idle())."""
    return app.extensions["catalogue.search.follower"]  # type: ignore[no-any-return]
