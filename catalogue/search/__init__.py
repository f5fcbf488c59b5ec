"""Full-text search over the catalogue: a whoosh index that follows the database's events."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from catalogue.db import database_of
from catalogue.events import EVENTS_WRITTEN
from catalogue.search.index import SearchIndex, Sections
from catalogue.search.query import Searching

log = logging.getLogger(__name__)


def init_app(app: Flask, sections: Sections) -> None:
    """Give app a search over its index folder, synced after every commit that wrote events.

    sections gives the chapters of the CSPA document to index beside the services (the app factory
    hands them over: search reads no document module). Nothing is opened here: the index is opened
    (or built) by the first search or write.
    """
    sessions = database_of(app).sessionmaker
    search_index = SearchIndex(app.config["CATALOGUE"].index_dir, sessions, sections)
    app.extensions["catalogue.search"] = Searching(search_index)

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
