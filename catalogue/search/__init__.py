"""Full-text search over the catalogue: a whoosh index that follows the database's events."""

from __future__ import annotations

import logging
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


def init_app(app: Flask, sections: Sections) -> None:
    """Give app a search over its index folder, synced after every commit that wrote events.

    sections gives the chapters of the CSPA document to index beside the services (the app factory
    hands them over: search reads no document module). Nothing is opened here: the index is opened
    (or built) by the first search or write.
    """
    sessions = database_of(app).sessionmaker
    search_index = SearchIndex(app.config["CATALOGUE"].index_dir, sessions, sections)
    app.extensions["catalogue.search"] = HealingSearching(search_index)

    def after_commit(session: Session) -> None:
        if not session.info.pop(EVENTS_WRITTEN, False):
            return
        try:
            search_index.sync()
        except Exception:
            log.exception("search index sync failed; it will catch up before the next search")

    def after_rollback(session: Session, _previous: Any = None) -> None:
        session.info.pop(EVENTS_WRITTEN, None)

    event.listen(sessions, "after_commit", after_commit)
    event.listen(sessions, "after_soft_rollback", after_rollback)


def searching() -> Searching:
    """The search of the current app."""
    return current_app.extensions["catalogue.search"]  # type: ignore[no-any-return]
