"""The whoosh index: derived from the database, following its Events, rebuilt whenever it cannot be trusted.

The index lives in generations: `index_dir/gen-000001`, `gen-000002`, ... and a file `CURRENT` naming the
one in use. A rebuild writes a new generation and switches `CURRENT` atomically, so readers never see a
half-built index. Each generation holds, beside the documents, one state document recording the id of
the last Event it applied; the state and the documents change in the same whoosh commit, so the index
always knows exactly how far it has followed the database.

Beside the services, each section of the CSPA 2.0 document is a document of kind "section"; the chapters
are handed to the index by the app factory (Sections), so search reads no document module. The state also records a hash of that content; when the content differs from what was
indexed (a new release), the sections are indexed again before the next answer.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gc
import hashlib
import html
import json
import logging
import os
import random
import re
import shutil
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import whoosh.util
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker
from whoosh import fields, formats, index
from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemmingAnalyzer
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.searching import Searcher

from catalogue import reference
from catalogue.events import Event, catalogue_version
from catalogue.search import bulk, matching, pairs, vocabulary
from catalogue.search.postings import postings
from catalogue.search.readers import SegmentReaders, merge_small
from catalogue.services import distributions, layers
from catalogue.services.models import Service, ServiceVersion

log = logging.getLogger(__name__)

SCHEMA_VERSION = 7
"""Bumped whenever the documents change shape: an index of another version is rebuilt (5: names, aliases,
identifiers and the GSBPM/GSIM vocabulary of each service; 6: word pairs, see pairs.py; 7: the unstemmed
vocabulary records whether a word is there, not how often)."""
STATE_KEY = "__state__"
FACETS = (
    "phase",
    "subprocess",
    "organisation",
    "gsim",
    "licence",
    "status",
    "maturity",
    "technology",
    "protocol",
    "interface",
    "distribution",
)
"""Fields a search can be filtered and counted by."""

_WORDS = RegexTokenizer(r"[\w+#.-]*\w") | LowercaseFilter()


def _present(field: fields.FieldType) -> fields.FieldType:
    """field, recording only whether each word is in a document, not how often (whoosh's Existence format): its
    postings are document numbers alone, read fast, where a count and a weight each take more room than the
    number itself."""
    field.format = formats.Existence(field_boost=field.format.field_boost)
    return field


def schema() -> fields.Schema:
    """The documents of the index: one per service and audience (see documents_for), one per document
    section (see section_documents), plus the state."""
    stem = StemmingAnalyzer()
    return fields.Schema(
        key=fields.ID(unique=True, stored=True),
        kind=fields.ID(stored=True),
        service=fields.ID(stored=True),
        service_pk=fields.ID(),
        version=fields.STORED(),
        # The text fields (matching.STEMMED_FIELDS) keep no word positions: phrases are matched on pairs.
        name=fields.TEXT(analyzer=stem, stored=True, field_boost=3.0, phrase=False),
        name_sort=fields.ID(sortable=True),
        purpose=fields.TEXT(analyzer=stem, stored=True, field_boost=1.5, phrase=False),
        description=fields.TEXT(analyzer=stem, stored=True, phrase=False),
        keywords=fields.KEYWORD(commas=True, lowercase=True, scorable=True, stored=True, field_boost=2.0),
        # Unstemmed vocabulary: spelling suggestions, stop words and short terms like "R" (phrases are matched in
        # the stemmed fields). Whether a service says a word, not how often: a weak signal beside the stemmed
        # fields, read twice as fast.
        words=_present(fields.TEXT(analyzer=_WORDS, phrase=False)),
        # Forms of the service's names and of its keywords as people type identifiers (vocabulary.name_forms):
        # `x13` starts `x13arimaseats`, `tau` and `argus` are pieces of τ-ARGUS. identifiers holds the forms that
        # look like names (auto-correction never replaces a typed word close to one).
        names=fields.KEYWORD(scorable=True, field_boost=3.0),
        aliases=fields.KEYWORD(scorable=True, field_boost=1.5),
        identifiers=fields.KEYWORD(scorable=True, field_boost=3.0),
        # The whole name run together (and its short form in parentheses, and the id): a query that is exactly a
        # service's name ranks that service first.
        name_key=fields.KEYWORD(),
        # The keywords, GSBPM sub-processes and phases (codes and names) and GSIM objects of the service, in words.
        vocabulary=fields.TEXT(analyzer=stem, phrase=False),
        organisation=fields.ID(stored=True),
        organisation_name=fields.TEXT(analyzer=stem, stored=True, phrase=False),
        phase=fields.KEYWORD(commas=True, stored=True),
        subprocess=fields.KEYWORD(commas=True, stored=True),
        gsim=fields.KEYWORD(commas=True, stored=True),
        licence=fields.ID(stored=True),
        technology=fields.KEYWORD(commas=True, stored=True),
        protocol=fields.ID(stored=True),
        # The kinds of machine-readable interface (layers.INTERFACE_KINDS) and of distribution
        # (distributions.ECOSYSTEMS) the version gives.
        interface=fields.KEYWORD(commas=True, stored=True),
        distribution=fields.KEYWORD(commas=True, stored=True),
        # The CSPA 2.0 Annex 1 fields a reader may search by words but never filters by: messages,
        # methodologies, formats, software version, builder, dependencies.
        annex=fields.TEXT(analyzer=stem, phrase=False),
        maturity=fields.ID(stored=True),
        status=fields.ID(stored=True),
        public=fields.ID(),
        latest=fields.ID(),
        org_id=fields.ID(),
        # Sorted by, never searched by range: one term per value (whoosh's default of 16 is a tenth of the build).
        updated=fields.NUMERIC(stored=True, sortable=True, bits=64, shift_step=0),
        url=fields.STORED(),
        audiences=fields.KEYWORD(commas=True, stored=True),
        last_event=fields.STORED(),
        schema_version=fields.STORED(),
        content_hash=fields.STORED(),
        # Each two neighbouring words of the text fields, as one term at its place: phrases are matched on their
        # pairs, and the text fields keep no word positions (pairs.py).
        pairs=pairs.PairsField(matching.STEMMED_FIELDS),
    )


_PAIRING = pairs.Pairing(schema())
"""What each document's pairs field holds (every document passes through _PAIRING.add)."""


def _commas(values: Any) -> str:
    return ",".join(str(v).replace(",", " ").strip() for v in values if str(v).strip())


def _texts(value: Any) -> Iterator[str]:
    """Every string inside a JSON value (names, descriptions, formats), in document order."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def annex_text(content: dict[str, Any]) -> str:
    """The words of a bundle's CSPA 2.0 Annex 1 fields that have no facet: input and output messages,
    methodologies and architectural pattern (Specification), dependencies (Definition), builder, software
    version and formats (Implementation)."""
    definition = content.get("definition") or {}
    spec = content.get("specification") or {}
    impl = content.get("implementation") or {}
    parts = [
        definition.get("dependencies"),
        spec.get("input_messages"),
        spec.get("output_messages"),
        spec.get("methodologies"),
        spec.get("architectural_pattern"),
        impl.get("builder"),
        impl.get("software_version"),
        impl.get("formats"),
    ]
    return " ".join(text for part in parts for text in _texts(part))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@functools.lru_cache(maxsize=4096)
def _gsim_name(name: str) -> str:
    """The official GSIM 1.2 name of a name, or the name itself. Cached: a rebuild looks up the same few dozen names
    for every service (reference.gsim() is loaded once per process)."""
    return reference.gsim().lookup(name) or name


def _gsim_names(definition: dict[str, Any]) -> list[str]:
    """The GSIM objects a Definition's inputs and outputs name, by their official names, each once."""
    names: list[str] = []
    for item in [*_sequence(definition.get("inputs")), *_sequence(definition.get("outputs"))]:
        name = item.get("gsim") if isinstance(item, dict) else None
        if isinstance(name, str):
            canonical = _gsim_name(name)
            if canonical not in names:
                names.append(canonical)
    return names


def _version_document(service: Service, version: ServiceVersion, audience: str) -> dict[str, Any]:
    content = version.bundle
    # An unfinished draft (saved with errors) may have any shape: every part is read defensively.
    definition, impl, spec = (_mapping(content.get(part)) for part in ("definition", "implementation", "specification"))
    gsim_names = _gsim_names(definition)
    subprocesses = list(dict.fromkeys(str(code) for code in _sequence(definition.get("gsbpm"))))
    phases = list(dict.fromkeys(code.split(".")[0] for code in subprocesses))
    technology = [str(t) for t in _sequence(impl.get("technology"))]
    keywords = [str(k) for k in _sequence(definition.get("keywords"))]
    annex = annex_text(content)
    name_forms, identifiers = _forms([version.name, str(definition.get("name", "")), service.slug])
    alias_forms, alias_identifiers = _forms(keywords)
    text_parts = [
        version.name,
        str(definition.get("name") or ""),
        str(definition.get("purpose") or ""),
        str(definition.get("description") or ""),
        " ".join(keywords),
        " ".join(gsim_names),
        " ".join(technology),
        service.organisation.code,
        service.organisation.name or "",
        annex,
    ]
    document = {
        "key": f"s{service.id}:{audience}",
        "kind": "service",
        "service": service.slug,
        "service_pk": str(service.id),
        "version": version.version,
        "name": version.name,
        "name_sort": version.name.casefold(),
        "purpose": str(definition.get("purpose") or ""),
        "description": str(definition.get("description") or ""),
        "keywords": _commas(keywords),
        "names": " ".join(name_forms),
        "aliases": " ".join(alias_forms),
        "identifiers": " ".join(dict.fromkeys(identifiers + alias_identifiers)),
        "name_key": " ".join(vocabulary.whole_names([version.name, service.slug])),
        # Keywords stemmed too (the keywords field holds each whole, as written).
        "vocabulary": " ; ".join([*keywords, gsbpm_gsim_text(subprocesses, gsim_names)]),
        "words": " ".join(str(p) for p in text_parts),
        "organisation": service.organisation.code,
        "organisation_name": f"{service.organisation.code} {service.organisation.name or ''}",
        "phase": _commas(phases),
        "subprocess": _commas(subprocesses),
        "gsim": _commas(gsim_names),
        "licence": str(impl.get("licence", "")),
        "technology": _commas(technology),
        "protocol": str(spec.get("protocol", "")),
        "interface": _commas(layers.interface_kinds(content)),
        "distribution": _commas(distributions.ecosystems(content)),
        "annex": annex,
        "maturity": str(impl.get("maturity", "")),
        "status": version.status,
        "public": "1" if audience == "p" else "0",
        "latest": "1" if version.id == service.latest_version_id else "0",
        "org_id": str(service.organisation_id),
        "updated": int(service.updated_at.timestamp()),
    }
    # An empty value would show up as a facet value "": a field without a value is left out instead.
    return _PAIRING.add({name: value for name, value in document.items() if value != ""})


def _forms(names: list[str]) -> tuple[list[str], list[str]]:
    """The name forms and identifier forms of several names, each once."""
    forms: list[str] = []
    identifiers: list[str] = []
    for found, idents in vocabulary.forms_of(names):
        forms += found
        identifiers += idents
    return list(dict.fromkeys(forms)), list(dict.fromkeys(identifiers))


def gsbpm_gsim_text(subprocesses: list[str], gsim_names: list[str]) -> str:
    """The GSBPM 5.1 sub-processes and phases of a service (codes and names) and its GSIM objects, as words: a
    reader may search "edit and impute" or "5.4" as well as filter by them."""
    model = reference.gsbpm()
    parts: list[str] = []
    for code in subprocesses:
        sub = model.subprocesses.get(code)
        phase = model.phases.get(code.split(".")[0])
        if sub:
            parts.append(f"{code} {sub['name']}")
        if phase:
            parts.append(f"{phase['code']} {phase['name']}")
    if parts:
        parts.insert(0, "GSBPM")
    if gsim_names:
        parts += ["GSIM", *gsim_names]
    return " ; ".join(dict.fromkeys(parts))


def documents_for(service: Service) -> list[dict[str, Any]]:
    """The documents of one service: its public version (if any) and its latest one if that differs.

    Readers then filter by audience (permissions.Visibility): the public document for everyone, the
    latest for members of the owning organisation and for reviewers, so each reader finds each
    service at most once, at the version they are shown.
    """
    docs = []
    if service.public_version is not None:
        docs.append(_version_document(service, service.public_version, "p"))
    if service.latest_version is not None and service.latest_version_id != service.public_version_id:
        docs.append(_version_document(service, service.latest_version, "l"))
    return docs


_MD_LINK = re.compile(r"\[\[[a-z]+:(?P<target>[^\]|]+?)(?:\|(?P<label>[^\]]+?))?\]\]")
_MD_HYPERLINK = re.compile(r"!?\[(?P<text>[^\]]*)\]\([^)]*\)")
_MD_TAG = re.compile(r"<[^>]+>")
_MD_DIRECTIVE = re.compile(r"^:::.*$", re.MULTILINE)
_MD_MARKUP = re.compile(r"[`*#>|~]+|(?<!\w)_+|_+(?!\w)|^\s*[-+]\s+|^\s*\d+\.\s+|-{3,}", re.MULTILINE)


def plain_text(markdown: str) -> str:
    """Markdown as plain words: cross-links and links become their text, markup and tags are dropped."""
    text = _MD_LINK.sub(lambda m: m["label"] or m["target"], markdown)
    text = _MD_HYPERLINK.sub(lambda m: m["text"], text)
    text = _MD_DIRECTIVE.sub(" ", text)
    text = _MD_MARKUP.sub(" ", _MD_TAG.sub(" ", text))
    return " ".join(html.unescape(text).split())


def section_documents(chapters: Sequence[Any]) -> tuple[str, list[dict[str, Any]]]:
    """The sections of the document's chapters as index documents, and a hash of the content they were made from."""
    digest = hashlib.sha256()
    docs = []
    for chapter in chapters:
        for section in chapter.sections:
            digest.update(
                json.dumps(
                    [chapter.slug, chapter.title, section.anchor, section.title, section.audiences, section.body]
                ).encode()
            )
            ref = f"{chapter.slug}#{section.anchor}"
            text = plain_text(section.body)
            title = plain_text(section.title)
            docs.append(
                _PAIRING.add(
                    {
                        "key": f"d:{ref}",
                        "kind": "section",
                        "service": ref,  # the hit's id: sections share the field services are named by
                        "name": title,
                        "name_sort": title.casefold(),
                        "purpose": chapter.title,
                        "description": text,
                        "words": f"{title} {chapter.title} {text}",
                        "audiences": ",".join(section.audiences),
                        "url": f"/document/{chapter.slug}#{section.anchor}",
                        "updated": 0,
                    }
                )
            )
    return digest.hexdigest(), docs


# whoosh names new segments and temporary files with the random module's shared generator. Anything that seeds
# that generator (hypothesis does before every example), in any thread, would make two writes pick the same
# name and the second commit fail; the index follower writes from a thread of its own, so a context that seeds
# around each write is not enough. whoosh's names come from the system's generator instead, which nothing seeds.
whoosh.util.random = random.SystemRandom()


@dataclass
class _State:
    last_event: int
    schema_version: int
    content_hash: str = ""


class IndexUnavailable(Exception):
    """The index could not be opened or written even after rebuilding it."""


class IndexDamaged(Exception):
    """Part of the index cannot be read as whoosh wrote it."""


@contextlib.contextmanager
def _damage_left_open() -> Iterator[None]:
    """Silence the ResourceWarning of a file whoosh leaves open when it fails to read a damaged index (it is
    closed when the exception's traceback is dropped, inside this block); the damage itself is logged."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        yield


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused (for a rebuild): the writer holds every posting of the catalogue
    until its commit (millions of tuples, which the collector tracks), and each full collection walked them all
    again, a sixth of a rebuild. The postings hold no cycles; what cycles the database rows make are collected once
    the collector runs again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _storage(folder: Path) -> FileStorage:
    """The files of one index generation, read without mmap.

    A segment is one compound file, opened when a reader is made (whoosh retries if a writer in another
    process replaced it just then). With mmap, whoosh copies each part of it into memory for every process
    that reads it (25 MB at 10,000 services); without, the parts are read from the open file, which the
    page cache keeps. Separate files per part would avoid the copy too, but whoosh opens those only when
    first read, and another process's merge may have deleted them by then.
    """
    return FileStorage(str(folder), supports_mmap=False)


Sections = Callable[[], Sequence[Any] | None]
"""Gives the document's chapters now (each with slug, title and sections of anchor, title, audiences and
body), or None while they cannot be read: their sections are then left out of search."""


_NEWEST_EVENT = select(Event.id).order_by(Event.id.desc()).limit(1)
"""The id of the newest event (events.catalogue_version), built once."""


class SearchIndex:
    """One process's handle on the index of one catalogue database.

    Thread-safe: searches share one open searcher, refreshed when the index changes.
    """

    WRITE_TIMEOUT = 120.0  # seconds to wait for another writer's lock before giving up (the next sync retries)

    def __init__(self, index_dir: Path, sessions: sessionmaker[Session], sections: Sections) -> None:
        self.index_dir = Path(index_dir)
        self.sessions = sessions
        self.sections = sections
        self._lock = threading.RLock()
        self._index: index.FileIndex | None = None
        self._generation: str | None = None
        self._searcher: Searcher | None = None
        self._segments = SegmentReaders()  # each segment opened once; searchers are views of them
        self._opened = 0  # counts searchers opened, so caches know when theirs is gone
        self._state: _State | None = None
        self._state_of: Searcher | None = None  # the searcher _state was read from
        self._content_source: object = None
        self._content_built: tuple[str, list[dict[str, Any]]] | None = None
        self._sound_at: float | None = None  # when heal() last found the index whole (time.monotonic)

    # --- opening ------------------------------------------------------------------------------

    def _current_generation(self) -> str | None:
        try:
            name = (self.index_dir / "CURRENT").read_text("utf-8").strip()
        except OSError:
            return None
        return name if name.startswith("gen-") and (self.index_dir / name).is_dir() else None

    def open(self) -> index.FileIndex:
        """The index of the current generation, rebuilt first if it is missing, corrupt or of another schema."""
        generation = self._current_generation()
        if self._index is not None and generation == self._generation:
            return self._index
        if generation is not None:
            try:
                opened = _storage(self.index_dir / generation).open_index()
                with opened.searcher() as searcher:
                    state = self._read_state(searcher)
                if (
                    state is not None
                    and state.schema_version == SCHEMA_VERSION
                    and set(opened.schema.names()) == set(schema().names())
                ):
                    self._switch(opened, generation)
                    return opened
                log.warning("search index %s is of another schema; rebuilding it", generation)
            except Exception as exc:  # noqa: BLE001 - any failure to read the index means: rebuild it
                log.warning(
                    "search index %s cannot be read (%s: %s); rebuilding it", generation, type(exc).__name__, str(exc)
                )
        else:
            log.info("no search index in %s; building it", self.index_dir)
        self.rebuild()
        assert self._index is not None
        return self._index

    def _switch(self, opened: index.FileIndex, generation: str) -> None:
        old = self._searcher
        self._index, self._generation, self._searcher = opened, generation, None
        if old is not None:
            old.close()
        self._segments.close()

    def _current_state(self, check: bool = True) -> _State | None:
        """The state as the open searcher sees it, read once per searcher (it changes only with the index)."""
        searcher = self.searcher(check)
        if self._state_of is not searcher:
            self._state, self._state_of = self._read_state(searcher), searcher
        return self._state

    @staticmethod
    def _read_state(searcher: Searcher) -> _State | None:
        # Read straight from the postings of the key (a fifth of whoosh's searcher.document, which builds a query
        # and a matcher per segment): every search after a write reads it.
        stored = None
        for leaf, _offset in searcher.reader().leaf_readers():
            docs, _weights = postings(leaf, "key", STATE_KEY, weights=False)
            if len(docs):
                stored = leaf.stored_fields(int(docs[0]))
                break
        if not stored:
            return None
        return _State(
            int(stored.get("last_event") or 0),
            int(stored.get("schema_version") or 0),
            str(stored.get("content_hash") or ""),
        )

    def _state_document(self, last_event: int, content_hash: str) -> dict[str, Any]:
        return {
            "key": STATE_KEY,
            "kind": "state",
            "last_event": last_event,
            "schema_version": SCHEMA_VERSION,
            "content_hash": content_hash,
        }

    def _content(self) -> tuple[str, list[dict[str, Any]]]:
        """(hash, documents) of the document's sections, computed again only when the content is reloaded.

        Content that cannot be read leaves the sections out (hash "") rather than failing every search.
        """
        chapters = self.sections()
        if chapters is None:
            return "", []
        if self._content_source is not chapters:
            self._content_source, self._content_built = chapters, section_documents(chapters)
        assert self._content_built is not None
        return self._content_built

    # --- rebuilding ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _rebuild_lock(self) -> Iterator[None]:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.index_dir / ".rebuild.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    PARALLEL_FROM = 2000
    """Services from which a rebuild in a process that may fork writes two segments side by side (bulk.write_index);
    below, the fork costs more than it saves."""

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Build a new generation from the database and switch to it; returns the number of services.

        progress(done, total) is called as services are indexed.
        """
        with self._lock, self._rebuild_lock():
            existing = sorted(p.name for p in self.index_dir.glob("gen-*"))
            number = int(existing[-1].split("-")[1]) + 1 if existing else 1
            generation = f"gen-{number:06d}"
            folder = self.index_dir / generation
            folder.mkdir()
            built = _storage(folder).create_index(schema())
            with _collector_paused(), self.sessions() as session:
                # The last event first, then the services: a service changed meanwhile is indexed in
                # its newer state, and applying its event again later is harmless.
                last_event = catalogue_version(session)
                total = session.scalar(select(func.count()).select_from(Service)) or 0
                content_hash, sections = self._content()
                # Written as whoosh's own writer would, faster (search/bulk.py); in two processes when this one
                # may fork (the command line, not a web worker) and the catalogue is large enough to gain.
                parallel = total >= self.PARALLEL_FROM and bulk.may_fork()
                groups = (documents_for(service) for service in self._services(session))
                state = [self._state_document(last_event, content_hash)]
                try:
                    done = bulk.write_index(built, sections, groups, state, total, progress, parallel)
                except BaseException:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
            pointer = self.index_dir / f".CURRENT.{os.getpid()}"
            pointer.write_text(generation, "utf-8")
            os.replace(pointer, self.index_dir / "CURRENT")
            self._switch(built, generation)
            for old in existing:
                # Processes still reading an old generation keep their open files (POSIX semantics).
                shutil.rmtree(self.index_dir / old, ignore_errors=True)
            if progress is not None and total == 0:
                progress(0, 0)
            return done

    @staticmethod
    def _services(session: Session, ids: list[int] | None = None) -> Iterator[Service]:
        # Only the columns a document is made of: the stored descriptor, validation and compliance reports are
        # JSON the index never reads, and decoding them was a tenth of a rebuild.
        indexed = (
            ServiceVersion.id,
            ServiceVersion.service_id,
            ServiceVersion.version,
            ServiceVersion.status,
            ServiceVersion.name,
            ServiceVersion.bundle,
        )
        query = (
            select(Service)
            .options(
                selectinload(Service.organisation),
                selectinload(Service.latest_version).load_only(*indexed),
                selectinload(Service.public_version).load_only(*indexed),
            )
            .order_by(Service.id)
        )
        if ids is not None:
            query = query.where(Service.id.in_(ids))
        yield from session.scalars(query.execution_options(yield_per=500))

    # --- following the events -----------------------------------------------------------------

    def last_applied(self) -> int:
        """The id of the last Event this index has applied."""
        with self._lock:
            state = self._current_state()
            return state.last_event if state else 0

    def sync(self) -> int:
        """Apply every Event the index has not applied yet; returns how many were applied.

        Waits for another process's writer lock rather than dropping the update.
        """
        with self._lock:
            ix, writer = self._writer()
            try:
                # Read the state under the lock: another process may have applied events meanwhile.
                with ix.searcher() as fresh:
                    state = self._read_state(fresh)
                last = state.last_event if state else 0
                content_hash = state.content_hash if state else ""
                with self.sessions() as session:
                    rows = session.execute(
                        select(Event.id, Event.service_id).where(Event.id > last).order_by(Event.id)
                    ).all()
                    if not rows:
                        writer.cancel()
                        return 0
                    service_ids = sorted({r.service_id for r in rows if r.service_id is not None})
                    for service_id in service_ids:
                        writer.delete_by_term("service_pk", str(service_id))
                    for service in self._services(session, service_ids):
                        for doc in documents_for(service):
                            writer.add_document(**doc)
                writer.update_document(**self._state_document(rows[-1].id, content_hash))
                writer.commit(mergetype=merge_small)
                return len(rows)
            except BaseException:
                writer.cancel()
                raise

    def _writer(self) -> tuple[index.FileIndex, Any]:
        """The current index and a writer on it, waiting for another process's lock rather than giving up."""
        ix = self.open()
        deadline = time.monotonic() + self.WRITE_TIMEOUT
        while True:
            try:
                return ix, ix.writer(timeout=1.0)
            except LockError:
                if time.monotonic() > deadline:
                    raise IndexUnavailable("the search index stayed locked by another writer") from None
                if self._current_generation() != self._generation:
                    ix = self.open()  # another process rebuilt it meanwhile

    def sync_sections(self, check: bool = True) -> bool:
        """Index the document's sections again if the content differs from the indexed one; True if it did.
        The open searcher is checked first (see searcher()) unless check is False, and after a change."""
        with self._lock:
            content_hash, sections = self._content()
            state = self._current_state(check)
            if state is not None and state.content_hash == content_hash:
                return False
            replaced = self._replace_sections(content_hash, sections)
            self.searcher()
            return replaced

    def _replace_sections(self, content_hash: str, sections: list[dict[str, Any]]) -> bool:
        ix, writer = self._writer()
        try:
            with ix.searcher() as fresh:  # under the lock: another process may have done it meanwhile
                state = self._read_state(fresh)
            if state is not None and state.content_hash == content_hash:
                writer.cancel()
                return False
            writer.delete_by_term("kind", "section")
            for doc in sections:
                writer.add_document(**doc)
            writer.update_document(**self._state_document(state.last_event if state else 0, content_hash))
            writer.commit(mergetype=merge_small)
            return True
        except BaseException:
            writer.cancel()
            raise

    def _newest_event(self) -> int:
        """events.catalogue_version, read before every search: one prepared query on a pooled connection (an ORM
        session and a statement built each time cost five times the query itself)."""
        engine = self.sessions.kw.get("bind")
        if engine is None:
            with self.sessions() as session:
                return catalogue_version(session)
        with engine.connect() as connection:
            return int(connection.execute(_NEWEST_EVENT).scalar() or 0)

    def catch_up(self) -> None:
        """Before answering: apply events written by anyone since; rebuild if the database went backwards;
        index the document's sections again if their content changed."""
        with self._lock:
            self.open()
            newest = self._newest_event()
            applied = self.last_applied()  # checks that the open searcher reads the index as it is now
            if newest > applied:
                self.sync()
            elif newest < applied:
                log.warning("search index is ahead of the database (event %s > %s); rebuilding it", applied, newest)
                self.rebuild()
            # Checked again only if the index was just written: the search that follows reads the open searcher
            # without checking it (one look at the index folder per search, not three).
            self.sync_sections(check=newest != applied)

    # --- reading ------------------------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        """Held while searching with searcher(), so a refresh never closes a searcher in use."""
        return self._lock

    def searcher(self, check: bool = True) -> Searcher:
        """An open searcher of the current index, refreshed if the index changed (call with lock held); with check
        False, the open searcher as it is, when the caller has just checked (catch_up does: a search checks once)."""
        with self._lock:
            if not check and self._searcher is not None:
                return self._searcher
            ix = self.open()
            if self._searcher is None:
                self._searcher = self._segments.searcher(ix)
                self._opened += 1
            elif not self._searcher.up_to_date():
                # Not whoosh's refresh(): it reuses segment readers with the deletions they were opened with (an
                # updated document then appears twice). Segments still in the index are not opened again, though.
                old = self._searcher
                self._searcher = self._segments.searcher(ix)
                self._opened += 1
                old.close()
            return self._searcher

    def generation_token(self, check: bool = True) -> tuple[str | None, int]:
        """Changes whenever what the index answers may change (for caches); check as for searcher()."""
        with self._lock:
            self.searcher(check)
            return self._generation, self._opened

    def count(self, kind: str = "service") -> int:
        """Number of documents of kind (services are counted once per audience document)."""
        from whoosh.query import Term

        return sum(1 for _ in self.searcher().docs_for_query(Term("kind", kind)))

    # --- healing ------------------------------------------------------------------------------

    HEAL_PAUSE = 10.0
    """Seconds after a check found the index whole during which a failing search is not checked again, so a
    search that fails for another reason (a bug) cannot make every request read the whole index."""

    def heal(self, error: BaseException) -> bool:
        """After a search failed with error: reopen the index from disk and read it through; if it cannot be
        read (files overwritten or truncated on a running host), rebuild it from the database. True when the
        search is worth one more try, False when the index is not to blame (the error is then the caller's)."""
        if (
            not isinstance(error, Exception)
            or isinstance(error, IndexUnavailable)
            or type(error).__module__.startswith("sqlalchemy")
        ):
            return False  # the database away, a lock held: rebuilding would not help
        with self._lock:
            if self._sound_at is not None and time.monotonic() - self._sound_at < self.HEAL_PAUSE:
                return False
            self.close()  # a handle opened before the damage may hold parts read before it
            damage = None
            with _damage_left_open():
                try:
                    self._read_through()
                except Exception as exc:  # noqa: BLE001 - whatever stops a full read means: the index is damaged
                    damage = f"{type(exc).__name__}: {exc}"
            if damage is None:
                self._sound_at = time.monotonic()
                return True
            log.warning(
                "search index %s is damaged (%s, after a search failed with %s); rebuilding it from the database",
                self._current_generation(),
                damage,
                type(error).__name__,
            )
            self.rebuild()
            return True

    def _read_through(self) -> None:
        """Open the current generation anew and read every stored document and every term list; raise if any
        part cannot be read."""
        generation = self._current_generation()
        if generation is None:
            raise IndexDamaged(f"no index generation in {self.index_dir}")
        opened = _storage(self.index_dir / generation).open_index()
        with opened.searcher() as searcher:
            if self._read_state(searcher) is None:
                raise IndexDamaged("the index holds no state document")
            reader = searcher.reader()
            for _stored in reader.all_stored_fields():
                pass
            for name in reader.indexed_field_names():
                for _term in reader.lexicon(name):
                    pass

    def check_readable(self) -> None:
        """Raise unless a search can read the index now (for /readyz); a damaged index is rebuilt first."""
        with self._lock, _damage_left_open():  # open() below may meet the damaged generation again
            for attempt in (1, 2):
                try:
                    self._check_files()
                    return
                except Exception as exc:
                    if attempt == 2 or not self.heal(exc):
                        raise

    def _check_files(self) -> None:
        """Raise IndexDamaged unless a searcher opened from the files as they are now reads the state and searches
        (not the open searcher: it keeps small segments in memory and the others' files open, see readers)."""
        from whoosh.query import Term

        failure = None
        try:
            with self.open().searcher() as searcher:
                if self._read_state(searcher) is None:
                    failure = "the index holds no state document"
                else:
                    searcher.search(Term("kind", "service"), limit=1)
        except Exception as exc:  # noqa: BLE001 - whatever stops the read means: the index is damaged
            failure = f"{type(exc).__name__}: {exc}"
        if failure is not None:
            # whoosh can leave the file it failed on open in a reference cycle with the error: closed now, inside
            # the caller's block that silences its warning, rather than by a collection in some later request.
            gc.collect()
            raise IndexDamaged(failure)

    def close(self) -> None:
        """Close the open searcher and forget the index; the next use opens it again from disk."""
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
            self._index, self._generation = None, None
            self._segments.close()
