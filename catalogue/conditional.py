"""Conditional GET and the answer cache: reads of an unchanged catalogue cost almost nothing.

Every change to the catalogue records an Event, and event ids only grow, so the id of the last event
is a version number of everything a read endpoint can show. Two things follow from it:

- `conditional` gives a view's answers a strong ETag (a hash of that id and of what selects the
  representation: host, path, query, Accept, credentials, since exports carry absolute links) and
  Last-Modified (the time of that event); a client that sends either back gets 304 Not Modified without
  the body being built.
- `AnswerCache`, a WSGI middleware in front of the whole Flask app, keeps the bytes of anonymous answers
  of such views (and of `cacheable` ones: search) with the version they were built at, and answers the
  same request again from memory while the catalogue stays at that version. On SQLite, knowing the version
  costs one `PRAGMA data_version` on a connection kept for it (`CatalogueClock`); elsewhere one small query.

Apply `conditional` (or `cacheable`) to a view, between the route decorator and the rest, e.g.::

    @blp.get("/services/<slug>")
    @conditional
    @blp.response(200, ServiceSchema)
    def get_service(slug): ...

What a read shows depends on the catalogue and on the reader's audience (`audience`: what their permissions let
them see, one of "public", "all" or an organisation), never on who they are: answers are kept and given again
per audience. A request with a Bearer token is authenticated first (one query, or none while nothing was
committed since the same token was found valid: TokenAudiences), so an expired or revoked token is refused
and never answered from memory; a session cookie does not matter to the views kept (the API
ignores it), and an answer whose view read the session is never kept. A request with a token is also
authenticated before any 304, so an expired or revoked token never learns that its copy is current.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import Flask, Response, current_app, make_response, request
from flask.globals import request_ctx
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from catalogue import ops
from catalogue.auth import accounts
from catalogue.auth.identity import request_actor
from catalogue.db import database_of, session
from catalogue.events import CatalogueState, catalogue_state, catalogue_version, catalogue_version_on
from catalogue.services.permissions import Visibility, visibility

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

View = TypeVar("View", bound=Callable[..., Any])

VARY = ("Accept", "Authorization", "Cookie")
"""Request headers that may select another representation (format, or what the actor may see)."""

ANSWER_VERSION = "catalogue.answer_version"
"""WSGI environ key: set by a view to the version its answer shows (a Version), which makes it storable."""
AUDIENCE = "catalogue.audience"
"""WSGI environ key: the audience AnswerCache found for the request (see audience)."""


def audience(rule: Visibility) -> str:
    """The name of what a reader with rule may see: "public", "all", or "org:<id>" (own services at their latest
    version). Readers of one audience are shown the same answers."""
    if rule.everything:
        return "all"
    if rule.organisation_id is not None:
        return f"org:{rule.organisation_id}"
    return "public"


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Version:
    """What an answer shows: the catalogue at event_id, and whatever else the view read, as the object also()
    returned (compared by identity: the CSPA document's text, say, loaded anew by a release)."""

    event_id: int
    also: Callable[[], object] = _nothing
    also_value: object = None

    def current(self, event_id: int | None) -> bool:
        """Whether an answer of this version is still the answer at event_id."""
        return event_id == self.event_id and self.also() is self.also_value


def entity_tag(state: CatalogueState, *extra: str) -> str:
    """The strong ETag of the current request's representation at state (quoted, as sent)."""
    parts = [
        str(state.event_id),
        request.host_url,
        request.path,
        request.query_string.decode("latin-1"),
        request.headers.get("Accept", ""),
        # What the reader may see, not who they are: readers of one audience share tags (and kept answers).
        request.environ.get(AUDIENCE) or audience(visibility(request_actor())),
        *extra,
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


def _authenticate() -> None:
    """Refuse (401) a request whose token is not valid now, before anything is said about its copy."""
    if request.headers.get("Authorization"):
        request_actor()


def _session_read() -> bool:
    """Whether the current request's session was read so far. Flask's session proxy marks the session read
    when merely looked at, so the request context's own `_session` is asked (a Flask without it: read)."""
    opened = getattr(request_ctx._get_current_object(), "_session", None)  # type: ignore[attr-defined]
    return opened is None or bool(getattr(opened, "accessed", True))


def _storable(response: Response, version: Version) -> None:
    """Let AnswerCache keep this request's answer as the catalogue's answer at version (a streamed answer is
    never kept: its body may be large, and it is built while being sent). A view that read the session (who is
    signed in, a flashed message) may answer each visitor differently: its answer is never kept."""
    if not response.is_streamed and not _session_read():
        request.environ[ANSWER_VERSION] = version


def conditional(view: View) -> View:
    """Give view's 200 answers an ETag and Last-Modified, answer 304 when the client is up to date, and let
    AnswerCache keep anonymous answers."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD"):
            return view(*args, **kwargs)
        _authenticate()
        # Read before the body is built: a change made meanwhile gives a newer body under an older
        # tag, which only makes the client ask again; the other order could hide a change.
        state = catalogue_state(session())
        etag = entity_tag(state)
        if is_fresh(etag, state.changed_at):
            return _stamp(Response(status=304), etag, state.changed_at)
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200:
            _stamp(response, etag, state.changed_at)
            _storable(response, Version(state.event_id))
        return response

    return cast(View, wrapper)


def cacheable(also: Callable[[], object] = _nothing) -> Callable[[View], View]:
    """Let AnswerCache keep a view's anonymous answers, for views without an ETag of their own (search:
    its answers also show the CSPA document's text, which changes with a release, not with an event).
    also() returns what else the answer depends on; an answer is given again only while also() returns the
    very same object."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Only a request whose answer may be kept needs the version (one query on PostgreSQL).
            event_id = clock().version() if answer_key(request.environ) is not None else None
            also_value = also()
            response = make_response(view(*args, **kwargs))
            if event_id is not None and response.status_code == 200:
                _storable(response, Version(event_id, also, also_value))
            return response

        return cast(View, wrapper)

    return decorate


def answer_key(environ: WSGIEnvironment) -> tuple[str, ...] | None:
    """What selects a request's answer from memory (scheme, host, path, query, Accept, audience), or None for a
    request that is never answered from memory: not a read, conditional, or with a token not valid now.

    The audience of a request with a token is found by AnswerCache (environ[AUDIENCE]); without one it is
    "public", whatever cookies it sends (answers whose view read the session are never kept)."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return None
    if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ:
        return None
    reader = environ.get(AUDIENCE, "public" if "HTTP_AUTHORIZATION" not in environ else None)
    if reader is None:
        return None
    return (
        environ.get("wsgi.url_scheme", ""),
        environ.get("HTTP_HOST", ""),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        environ.get("HTTP_ACCEPT", ""),
        reader,
    )


_CONNECTIONS = itertools.count(1)


class CatalogueClock:
    """The id of the catalogue's last event, for AnswerCache, as cheaply as the database allows.

    On a SQLite file each thread keeps a connection of its own that never writes: `PRAGMA data_version`
    on it changes whenever any other connection (any process) has committed, and only then is the last
    event id read again. A file replaced under the same name (a restore) is noticed by its inode. On
    other databases it is one small query. None when the database cannot say (then nothing is cached).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        url = engine.url
        path = url.database if url.get_backend_name() == "sqlite" else None
        self.path = os.path.abspath(path) if path and path != ":memory:" and not path.startswith("file:") else None
        self._local = threading.local()

    def version(self) -> int | None:
        """The id of the last event now (0 on an empty catalogue), or None if it cannot be read."""
        if self.path is None:
            return self._query()
        try:
            return self._sqlite_version(self.path)
        except (sqlite3.Error, OSError):
            self._forget()
            return None

    def _query(self) -> int | None:
        try:
            with self.engine.connect() as connection:
                return catalogue_version(connection)
        except SQLAlchemyError:
            return None

    def stamp(self) -> tuple[int, int] | None:
        """A value that changes whenever anything at all is committed to the database, by any connection of any
        process (a revoked token, a user switched off), for memos that must not outlive a change; None where the
        database cannot say (not a SQLite file: then nothing may be remembered). Stamps are compared only with
        stamps taken on the same thread: each thread has a connection of its own."""
        if self.path is None:
            return None
        try:
            local = self._connected(self.path)
            return local.serial, local.connection.execute("PRAGMA data_version").fetchone()[0]
        except (sqlite3.Error, OSError):
            self._forget()
            return None

    def _connected(self, path: str) -> threading.local:
        """This thread's state, with a connection to the file now at path (a new one if the file was replaced)."""
        local = self._local
        identity = os.stat(path)
        if getattr(local, "identity", None) != (identity.st_dev, identity.st_ino):
            self._forget()
            # mode=rw: never create the file (a missing database is an outage, not an empty catalogue).
            local.connection = sqlite3.connect(
                f"file:{path}?mode=rw", uri=True, timeout=5, isolation_level=None, check_same_thread=False
            )
            local.identity = (identity.st_dev, identity.st_ino)
            # data_version counts per connection: a stamp names the connection it was read on.
            local.serial = next(_CONNECTIONS)
        return local

    def _sqlite_version(self, path: str) -> int:
        local = self._connected(path)
        data_version = local.connection.execute("PRAGMA data_version").fetchone()[0]
        if getattr(local, "data_version", None) != data_version:
            local.event_id, local.data_version = catalogue_version_on(local.connection), data_version
        return cast(int, local.event_id)

    def _forget(self) -> None:
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is not None:
            connection.close()
        local.__dict__.clear()


def clock() -> CatalogueClock:
    """The current app's clock."""
    return cast(AnswerCache, current_app.extensions["catalogue.answers"]).clock


@dataclass(frozen=True)
class _Answer:
    version: Version
    status: str
    headers: list[tuple[str, str]]
    body: bytes


class AnswerCache:
    """WSGI middleware: anonymous GET and HEAD answers of `conditional` and `cacheable` views, kept in memory
    by request (host, scheme, path, query, Accept) with the catalogue version they show, within a byte budget
    (least recently used go first), and given again while the catalogue is at that version.

    An answer given from memory still gets its own X-Request-ID and access log line; conditional requests
    (If-None-Match, If-Modified-Since) go to the app, which answers 304 itself.
    """

    _PER_REQUEST = frozenset({ops.REQUEST_ID_HEADER.lower(), "date"})

    def __init__(
        self,
        app: WSGIApplication,
        clock: CatalogueClock,
        max_bytes: int = 8 * 1024 * 1024,
        audience_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.app = app
        self.clock = clock
        self.audience_of = audience_of
        self.max_bytes = max_bytes
        self.size = 0
        self.served = 0
        self._answers: OrderedDict[tuple[str, ...], _Answer] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        token = environ.get("HTTP_AUTHORIZATION")
        if token and self.audience_of is not None and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            found = self.audience_of(token)
            if found is not None:
                environ[AUDIENCE] = found
        key = answer_key(environ)
        if key is None:
            return self.app(environ, start_response)
        with self._lock:
            answer = self._answers.get(key)
        if answer is not None and answer.version.current(self.clock.version()):
            return self._replay(key, answer, environ, start_response)
        return self._build(key, environ, start_response)

    def _replay(
        self, key: tuple[str, ...], answer: _Answer, environ: WSGIEnvironment, start_response: StartResponse
    ) -> list[bytes]:
        started = time.perf_counter()
        with self._lock:
            if self._answers.get(key) is answer:
                self._answers.move_to_end(key)
            self.served += 1
        request_id = ops.request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response(answer.status, [*answer.headers, (ops.REQUEST_ID_HEADER, request_id)])
        ops.log_access(environ["REQUEST_METHOD"], environ["PATH_INFO"], int(answer.status[:3]), started, request_id)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [answer.body]

    def _build(self, key: tuple[str, ...], environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.app(environ, capture)
        version: Version | None = environ.get(ANSWER_VERSION)
        headers: list[tuple[str, str]] = captured.get("headers", [])
        if (
            version is None
            or environ["REQUEST_METHOD"] != "GET"
            or not captured.get("status", "").startswith("200")
            or any(name.lower() == "set-cookie" for name, _ in headers)
        ):
            return result
        # The view built the whole body already (a Flask response that is not streamed).
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        self._keep(
            key,
            _Answer(
                version, captured["status"], [(k, v) for k, v in headers if k.lower() not in self._PER_REQUEST], body
            ),
        )
        return [body]

    def _keep(self, key: tuple[str, ...], answer: _Answer) -> None:
        if len(answer.body) > self.max_bytes // 8:
            return
        with self._lock:
            old = self._answers.pop(key, None)
            if old is not None:
                self.size -= len(old.body)
            self._answers[key] = answer
            self.size += len(answer.body)
            while self.size > self.max_bytes:
                _key, dropped = self._answers.popitem(last=False)
                self.size -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._answers)

    def requests(self) -> Iterator[tuple[str, ...]]:
        """The requests answered from memory now (for tests and diagnostics)."""
        with self._lock:
            return iter(list(self._answers))


class TokenAudiences:
    """audience_of(Authorization header) for AnswerCache: the audience of a Bearer token valid now, or None
    (malformed, unknown, expired or revoked: the app then answers 401 itself).

    Finding it is one query (accounts.token_reader), which made a reader with a token cost about eight times what
    the answer from memory costs. So each thread remembers the audiences of the tokens it found valid, for as
    long as nothing at all is committed to the database (CatalogueClock.stamp: on a SQLite file, any commit of
    any process, such as a revocation, a user switched off or a role changed, makes every thread forget them
    before its next request). A remembered token's own expiry is still checked on every request. Where the
    database cannot tell that nothing changed, every request asks it. Only valid tokens are remembered, by
    their SHA-256 (never the token itself), at most CAPACITY per thread.
    """

    CAPACITY = 1024

    def __init__(self, engine: Engine, clock: CatalogueClock) -> None:
        self.engine = engine
        self.clock = clock
        self._local = threading.local()
        self.queries = 0  # asked of the database (for tests)

    def __call__(self, header: str) -> str | None:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        # The stamp before the query: a change committed meanwhile gives a newer stamp at the next request.
        stamp = self.clock.stamp()
        local = self._local
        if stamp is None or getattr(local, "stamp", None) != stamp:
            local.stamp, local.known = stamp, {}
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        known: tuple[str, float] | None = local.known.get(digest)
        if known is not None and time.time() <= known[1]:
            return known[0]
        found = self._ask(token)
        if found is None:
            local.known.pop(digest, None)
            return None
        name = audience(visibility(found.actor))
        if stamp is not None:
            if len(local.known) >= self.CAPACITY:
                local.known.clear()
            local.known[digest] = (name, found.until.timestamp() if found.until is not None else math.inf)
        return name

    def _ask(self, token: str) -> accounts.TokenHolder | None:
        self.queries += 1
        try:
            with self.engine.connect() as connection:
                return accounts.token_reader(connection, token)
        except SQLAlchemyError:
            return None


def token_audience(app: Flask) -> TokenAudiences:
    """A TokenAudiences of app's database (with a clock of its own)."""
    engine = database_of(app).engine
    return TokenAudiences(engine, CatalogueClock(engine))


def init_app(app: Flask) -> None:
    """Put the answer cache in front of app (after db.init_app)."""
    engine = database_of(app).engine
    clock = CatalogueClock(engine)
    cache = AnswerCache(app.wsgi_app, clock, audience_of=TokenAudiences(engine, clock))
    app.wsgi_app = cache  # type: ignore[method-assign]
    app.extensions["catalogue.answers"] = cache
