"""Conditional GET: `ETag` and `Last-Modified` on read endpoints, and 304 when the client is up to date.

Every change to the catalogue records an Event, and event ids only grow, so the id of the last event
is a version number of everything a read endpoint can show. A response's strong ETag is a hash of
that id and of what selects the representation (host, path, query, Accept, credentials: exports carry
absolute links); Last-Modified is the time of that event. A client that sends back either gets 304 Not
Modified without the body being built, and an answer already built for the same tag is served from memory
(ResponseCache).

Apply `conditional` to a view, between the route decorator and the rest, e.g.::

    @blp.get("/services/<slug>")
    @conditional
    @blp.response(200, ServiceSchema)
    def get_service(slug): ...
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from flask import Response, current_app, make_response, request

from catalogue.db import session
from catalogue.exports.catalogue import CatalogueState, catalogue_state

View = TypeVar("View", bound=Callable[..., Any])

VARY = ("Accept", "Authorization", "Cookie")
"""Request headers that may select another representation (format, or what the actor may see)."""


def entity_tag(state: CatalogueState, *extra: str) -> str:
    """The strong ETag of the current request's representation at state (quoted, as sent)."""
    parts = [
        str(state.event_id), request.host_url, request.path, request.query_string.decode("latin-1"),
        request.headers.get("Accept", ""), request.headers.get("Authorization", ""),
        request.headers.get("Cookie", ""), *extra,
    ]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
    return f'"{digest}"'


def is_fresh(etag: str, changed_at: datetime | None) -> bool:
    """Whether the client's copy is current: If-None-Match first, If-Modified-Since only without it (RFC 9110)."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(etag.strip('"'))
    since = request.if_modified_since
    if since is None or changed_at is None:
        return False
    # HTTP dates have whole seconds; the event time has microseconds.
    return changed_at.replace(microsecond=0) <= since


def _stamp(response: Response, etag: str, changed_at: datetime | None) -> Response:
    response.headers["ETag"] = etag
    if changed_at is not None:
        response.last_modified = changed_at
    for header in VARY:
        response.vary.add(header)
    return response


class ResponseCache:
    """Bodies of answers already built, by their ETag, within a byte budget (least recently used go first).

    The tag names everything that selects the body (the catalogue's last event, path, query, Accept and
    credentials), so a body is valid exactly as long as its tag: a read of an unchanged catalogue costs one
    small query instead of the whole view.
    """

    _SKIPPED = frozenset({"content-length", "date", "etag", "last-modified", "vary", "set-cookie"})

    def __init__(self, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[str, tuple[bytes, int, list[tuple[str, str]]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str) -> Response | None:
        """A fresh copy of the answer stored under etag, or None."""
        with self._lock:
            entry = self._entries.get(etag)
            if entry is None:
                return None
            self._entries.move_to_end(etag)
        body, status, headers = entry
        return Response(body, status=status, headers=headers)

    def put(self, etag: str, response: Response) -> None:
        """Keep response's body under etag, unless it sets a cookie, streams, or is too large to be worth it."""
        if response.is_streamed or "Set-Cookie" in response.headers:
            return
        body = response.get_data()
        if len(body) > self.max_bytes // 8:
            return
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in self._SKIPPED]
        with self._lock:
            if etag in self._entries:
                return
            self._entries[etag] = (body, response.status_code, headers)
            self.size += len(body)
            while self.size > self.max_bytes and self._entries:
                _tag, (old, _status, _headers) = self._entries.popitem(last=False)
                self.size -= len(old)


def _cache() -> ResponseCache:
    cache = current_app.extensions.get("catalogue.responses")
    if cache is None:
        cache = current_app.extensions.setdefault("catalogue.responses", ResponseCache())
    return cast(ResponseCache, cache)


def conditional(view: View) -> View:
    """Give view's 200 answers an ETag and Last-Modified, answer 304 when the client is up to date, and
    serve an answer already built for the same tag from memory."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD"):
            return view(*args, **kwargs)
        # Read before the body is built: a change made meanwhile gives a newer body under an older
        # tag, which only makes the client ask again; the other order could hide a change.
        state = catalogue_state(session())
        etag = entity_tag(state)
        if is_fresh(etag, state.changed_at):
            return _stamp(Response(status=304), etag, state.changed_at)
        cached = _cache().get(etag)
        if cached is not None:
            return _stamp(cached, etag, state.changed_at)
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200:
            _cache().put(etag, response)
            _stamp(response, etag, state.changed_at)
        return response

    return cast(View, wrapper)
