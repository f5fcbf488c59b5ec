"""Whoosh's segment writer made fast for building a whole index at once: the same segment, in a fraction of the time.

whoosh's SegmentWriter.add_document analyses each field through a chain of generators (several Python calls per
word), puts every posting into a pool that it sorts as a whole at commit, and at commit reads each posting's field
length back from the column it has just written (with a stat() of a missing file per posting of a field without
lengths). That was four fifths of a rebuild. BulkWriter hands whoosh's codec the same postings in the same order,
with the same lengths and stored fields, so the segment files are the same byte for byte
(tests/search/test_bulk.py compares them), but:

- a field whose analyzer is a regular expression tokenizer followed by filters that each change or drop one word
  (lower case, strip, stop words, stemming: every text and keyword field of our schema) is analysed in one pass
  over the words of a value, each distinct word run through the filters once and remembered;
- other fields (identifiers, numbers) are analysed by whoosh; the first values of each field are remembered with
  their terms, since flags, kinds and facets repeat from document to document;
- postings are gathered per term as documents come (in document order), so only the terms are sorted at commit;
- field lengths are kept in memory as whoosh would read them back (one byte, lossy);
- each term's postings are written a block at a time (_Blocks), not one call per posting.

write_index writes a whole index with it; in a process that runs one thread only (the command line), a forked
child writes the first half of the documents as a segment of its own meanwhile, on the second core.

Documents with boosts or custom stored values (keys starting with "_") and schemas with term vectors or separate
spelling fields are refused rather than written differently.
"""

from __future__ import annotations

import os

# whoosh's Positions format pickles each posting's position gaps; we only write such pickles, never read them.
import pickle  # nosec B403
import re
import signal
import threading
import zlib
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from whoosh import fields, formats
from whoosh.analysis import CompositeAnalyzer, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter, StripFilter
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3FieldWriter, W3PostingsWriter, W3TermInfo
from whoosh.system import emptybytes, pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util import random_name
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.util.numlists import delta_encode
from whoosh.writing import SegmentWriter

Items = tuple[tuple[bytes, float, bytes], ...]
"""The postings of one value of one field: (term, weight, encoded value) of each distinct term."""
Posting = tuple[int, float, bytes, int]
"""One posting of a term: document number, weight, encoded value, the document's length in the field."""
Indexer = Callable[[Any], tuple[Items, int]]
"""A field's analysis: the postings of a value, and its length (the number of its words, if the field is scorable)."""

REMEMBERED_VALUES = 1024
"""Distinct values of each field remembered with their postings (a field whose values never repeat costs one
missed look-up per document after that)."""

_group = re.Match.group  # group() of a match: the whole matched text


class Dropped(Exception):
    """A word a filter takes out of the stream."""


def word_steps(analyzer: Any) -> tuple[re.Pattern[str], list[Callable[[str], str]], bool] | None:
    """(tokenizer pattern, one function per filter, whether dropped words renumber the positions after them) of an
    analyzer made of a regular expression tokenizer and filters that each change or drop one word at a time; None
    for any other analyzer."""
    items = analyzer.items if isinstance(analyzer, CompositeAnalyzer) else [analyzer]
    tokenizer, *filters = items
    if type(tokenizer) is not RegexTokenizer or tokenizer.gaps:
        return None
    steps: list[Callable[[str], str]] = []
    renumber = stops = False
    for step in filters:
        kind = type(step)
        if kind is LowercaseFilter:
            steps.append(str.lower)
        elif kind is StripFilter:
            steps.append(str.strip)
        elif kind is StopFilter and not stops:  # two would renumber twice
            steps.append(_stopper(step.stops, step.min, step.max))
            renumber, stops = step.renumber, True
        elif kind is StemFilter and step.lang is None:
            steps.append(_stemmer(step.stemfn, step.ignore))
        else:
            return None
    return tokenizer.expression, steps, renumber


def _stopper(stops: frozenset[str], minsize: int, maxsize: int | None) -> Callable[[str], str]:
    def stop(text: str) -> str:
        if len(text) < minsize or (maxsize is not None and len(text) > maxsize) or text in stops:
            raise Dropped
        return text

    return stop


def _stemmer(stem: Callable[[str], str], ignore: frozenset[str]) -> Callable[[str], str]:
    return lambda text: text if text in ignore else stem(text)


class Analysed(dict[str, Any]):
    """Each word as the analyzer's filters (steps) make it, as UTF-8 bytes when encode (the terms the index
    writes), or None when a filter drops it: a word is filtered once. Past REMEMBERED distinct words the memory
    starts afresh, so one that lives as long as the process (pairs.Pairing's) stays bounded."""

    REMEMBERED = 200_000

    def __init__(self, steps: list[Callable[[str], str]], encode: bool = False) -> None:
        super().__init__()
        self.steps = steps
        self.encode = encode

    def __missing__(self, word: str) -> str | bytes | None:
        if len(self) >= self.REMEMBERED:
            self.clear()
        text = word
        found: str | bytes | None
        try:
            for step in self.steps:
                text = step(text)
        except Dropped:
            found = None
        else:
            found = text.encode("utf-8") if self.encode else text
        self[word] = found
        return found


class _WordIndexer:
    """A text or keyword field analysed the way whoosh's Positions or Frequency format does it, in one pass."""

    def __init__(self, field: fields.FieldType, pattern: re.Pattern[str], terms: Analysed, renumber: bool) -> None:
        self.field = field
        self.finditer = pattern.finditer
        # A field whose analyzer has no filter (the pairs field) takes each word as it is: remembering words that
        # seldom repeat would cost more than it saves.
        self.term_of: Callable[[str], bytes | None] = terms.__getitem__ if terms.steps else str.encode
        self.renumber = renumber
        self.boost = field.format.field_boost
        self.positions = type(field.format) is formats.Positions
        self.existence = type(field.format) is formats.Existence
        self.scorable = bool(field.scorable)

    def __call__(self, value: Any) -> tuple[Items, int]:
        if not isinstance(value, str):
            return _whoosh_items(self.field, value)
        words = list(map(self.term_of, map(_group, self.finditer(value))))
        first = 0
        if None in words:
            # Dropped words take no position. whoosh's StopFilter numbers the words it keeps on from the position
            # of the first one kept; without it, each keeps its place.
            if self.renumber:
                first = next((i for i, term in enumerate(words) if term is not None), 0)
                words = [term for term in words if term is not None]
        boost = self.boost
        if self.existence:  # each word once, weighing the field's boost (whoosh's Existence.word_values)
            present = {term for term in words if term is not None}
            return tuple((term, boost, emptybytes) for term in present), len(present) if self.scorable else 0
        if not self.positions:
            counts: Counter[Any] = Counter(words)
            counts.pop(None, None)
            items = tuple((term, float(n) * boost, pack_uint(n)) for term, n in counts.items())
            return items, counts.total() if self.scorable else 0
        places: defaultdict[Any, list[int]] = defaultdict(list)
        for position, term in enumerate(words, first):
            places[term].append(position)
        places.pop(None, None)
        found = tuple((term, float(len(where)) * boost, _positions(where)) for term, where in places.items())
        return found, sum(map(len, places.values())) if self.scorable else 0


_ONE: bytes = pack_uint(1)
_ONE_POSITION: dict[int, bytes] = {}
"""The pickle of [p] for each single position p met."""


def _positions(where: list[int]) -> bytes:
    """whoosh's Positions.encode: the number of positions, then a pickle of the gaps between them.

    Each call gives a new bytes object, as whoosh's does: a block of postings pickles its postings' positions,
    and an object met twice would be pickled as a reference to the first (postings.py reads each in full)."""
    if len(where) == 1:
        pickled = _ONE_POSITION.get(where[0])
        if pickled is None:
            pickled = _ONE_POSITION[where[0]] = pickle.dumps(where, 2)
        return _ONE + pickled  # a new object: both parts are non-empty
    count: bytes = pack_uint(len(where))
    return count + pickle.dumps([b - a for a, b in zip([0, *where[:-1]], where, strict=True)], 2)


def _whoosh_items(field: fields.FieldType, value: Any) -> tuple[Items, int]:
    """A value's postings as whoosh's own field.index gives them."""
    found = list(field.index(value))
    items = tuple((term, weight, emptybytes if encoded is None else encoded) for term, _n, weight, encoded in found)
    return items, sum(n for _term, n, _weight, _encoded in found) if field.scorable else 0


def _remembering(indexer: Indexer) -> Indexer:
    """indexer, remembering the postings of the first REMEMBERED_VALUES distinct values it is given."""
    known: dict[Any, tuple[Items, int]] = {}

    def index(value: Any) -> tuple[Items, int]:
        try:
            return known[value]
        except KeyError:
            found = indexer(value)
            if len(known) < REMEMBERED_VALUES:
                known[value] = found
            return found
        except TypeError:  # a list of words: not hashable
            return indexer(value)

    return index


def indexer_for(field: fields.FieldType) -> Indexer:
    """How BulkWriter analyses a value of field."""
    steps = word_steps(field.analyzer) if field.analyzer is not None else None
    if steps is not None and type(field.format) is formats.Positions:
        pattern, filters, renumber = steps
        # Not remembered: each posting needs its own positions object (see _WordIndexer).
        return _WordIndexer(field, pattern, Analysed(filters, encode=True), renumber)
    if steps is not None and type(field.format) in (formats.Frequency, formats.Existence):
        pattern, filters, renumber = steps
        return _remembering(_WordIndexer(field, pattern, Analysed(filters, encode=True), renumber))
    if field.format.fixed_value_size() is None:
        return lambda value: _whoosh_items(field, value)
    return _remembering(lambda value: _whoosh_items(field, value))


def _read_back(length: int) -> int:
    """A document's length in a field as whoosh reads it back from the lengths column (one byte: lossy; 0 for none)."""
    return byte_to_length(length_to_byte(length)) if length else 0


_READ_BACK = [_read_back(length) for length in range(4096)]


class BulkWriter(SegmentWriter):
    """A SegmentWriter for documents added in one go and committed once (a rebuild): faster, same segment.

    Made like `BulkWriter(ix, limitmb=...)` (the keyword arguments of SegmentWriter); only add_document and the
    writing of postings at commit differ from whoosh's.
    """

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        for name, field in self.schema.items():
            if field.vector or field.separate_spelling():
                raise ValueError(f"BulkWriter writes no term vectors or spelling fields (field {name!r})")
        self._postings: defaultdict[str, defaultdict[bytes, list[Posting]]] = defaultdict(lambda: defaultdict(list))
        self._fields = {
            name: (field, indexer_for(field) if field.indexed else None, field.stored, field.column_type)
            for name, field in self.schema.items()
        }

    def add_document(self, **values: Any) -> None:
        """Add one document, as SegmentWriter.add_document does (without boosts or custom stored values)."""
        self._check_state()
        names = sorted(values)
        unknown = [name for name in names if name not in self._fields]
        if unknown:
            if unknown[0].startswith("_"):
                raise ValueError(f"BulkWriter takes no boosts or custom stored values ({unknown[0]!r})")
            self._check_fields(self.schema, names)
        perdoc, docnum, postings, plans = self.perdocwriter, self.docnum, self._postings, self._fields
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = values[name]
                if value is None:
                    continue
                field, indexer, stored, column = plans[name]
                length = 0
                if indexer is not None:
                    items, length = indexer(value)
                    terms = postings[name]
                    read_back = _READ_BACK[length] if length < len(_READ_BACK) else _read_back(length)
                    for term, weight, encoded in items:
                        terms[term].append((docnum, weight, encoded, read_back))
                perdoc.add_field(name, field, value if stored else None, length)
                if column:
                    perdoc.add_column_value(name, column, field.to_column_value(value))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def commit_after(self, first: Callable[[], Any]) -> None:
        """Commit, with the segment first() gives (written by another writer of this index, unlocked: the
        documents before these) ahead of this writer's; this writer's segment is written before first is called."""
        self._check_state()
        own = self._finalize_segment()
        self._commit_toc([first(), own])
        self._finish()

    def _flush_segment(self) -> None:
        """Write the postings field by field, term by term (in whoosh's order: sorted by field, then by term's
        bytes, then by document)."""
        self.perdocwriter.close()
        writer = self.fieldwriter
        for name in sorted(self._postings):
            terms = self._postings[name]
            if not terms:  # only empty values: whoosh's writer never heard of the field
                continue
            field = self.schema[name]
            writer.start_field(name, field)
            blocks = _Blocks.of(writer, field)
            for term in sorted(terms):
                if blocks is not None:
                    blocks.write(term, terms[term])
                    continue
                writer.start_term(term)
                for docnum, weight, encoded, length in terms[term]:
                    writer.add(docnum, weight, encoded, length)
                writer.finish_term()
            writer.finish_field()
        writer.close()
        self._postings.clear()


class _Blocks:
    """Writes a term's postings and its entry in the terms table as whoosh's W3FieldWriter and W3PostingsWriter
    do (start_term, add per posting, finish_term), a block of postings at a time: the posting list's header,
    then blocks of up to 128 postings, each its length, a pickled summary (postings, last document, highest
    weight, compression, shortest and longest length) and a compressed pickle of the document gaps, weights and
    values; then the term's statistics and extent.

    Reads private names of whoosh-reloaded 2.7's codec (`_postwriter`, `_postfile`, `_blocklimit`,
    `_compression`, `_fieldid`, `_tindex`); `of` gives None for a writer of another shape, whose
    postings are then added one at a time. tests/search/test_bulk.py checks the bytes against whoosh's writer.
    """

    def __init__(self, writer: Any, postings: Any, field: fields.FieldType) -> None:
        self.postfile = postings._postfile.raw_file()
        self.offset = self.postfile.tell()  # then counted: tell() was a tenth of the writing
        self.limit = postings._blocklimit
        self.compression = postings._compression
        self.fixed = field.format.fixed_value_size()
        self.field = pack_ushort(writer._fieldid)
        self.terms_table = writer._tindex

    @classmethod
    def of(cls, writer: Any, field: fields.FieldType) -> _Blocks | None:
        """The block writer of the field writer's current field, or None when it is not whoosh3's."""
        postings: Any = getattr(writer, "_postwriter", None)
        if type(writer) is not W3FieldWriter or type(postings) is not W3PostingsWriter or postings._byteids:
            return None
        return cls(writer, postings, field)

    def write(self, term: bytes, postings: list[Posting]) -> None:
        """Write the posting list of term (in document order) and its entry in the terms table."""
        if len(postings) == 1:
            self._write_one(term, postings[0])
            return
        limit, compression = self.limit, self.compression
        parts = [WHOOSH3_HEADER_MAGIC]
        total: float = 0
        minlength: int | None = None
        maxlength = maxweight = 0
        for begin in range(0, len(postings), limit):
            ids, weights, values, lengths = zip(*postings[begin : begin + limit], strict=True)
            floats = array("f", weights)  # as whoosh keeps them, 4 bytes each
            heaviest = max(weights)
            block_weight = heaviest if heaviest > 0 else 0
            known = [length for length in lengths if length]
            shortest, longest = (min(known), max(known)) if known else (None, 0)
            total += sum(floats)
            minlength = shortest if minlength is None else min(minlength, shortest)  # type: ignore[type-var]
            maxlength, maxweight = max(maxlength, longest), max(maxweight, block_weight)
            data = pickle.dumps((tuple(delta_encode(ids)), _mini_weights(floats), self._mini_values(values)), 2)
            if compression:
                data = zlib.compress(data, compression)
            summary = pickle.dumps(
                (len(ids), ids[-1], block_weight, compression, length_to_byte(shortest), length_to_byte(longest)), 2
            )
            size = len(summary) + len(data)
            parts += (pack_int(-size if begin + limit >= len(postings) else size), summary, data)  # <0: the last
        info = _info(total, len(postings), minlength, maxlength, maxweight, postings[0][0], postings[-1][0])
        self._put(term, b"".join(parts), info)

    def _write_one(self, term: bytes, posting: Posting) -> None:
        """write() of a posting list of one posting (most word pairs): the same bytes, with less said."""
        docnum, weight, encoded, length = posting
        stored = array("f", (weight,))[0]  # as whoosh keeps it, 4 bytes
        block_weight = weight if weight > 0 else 0
        shortest, longest = (length, length) if length else (None, 0)
        data = pickle.dumps(((docnum,), None if stored == 1.0 else stored, self._mini_values((encoded,))), 2)
        if self.compression:
            data = zlib.compress(data, self.compression)
        summary = pickle.dumps(
            (1, docnum, block_weight, self.compression, length_to_byte(shortest), length_to_byte(longest)), 2
        )
        written = b"".join((WHOOSH3_HEADER_MAGIC, pack_int(-(len(summary) + len(data))), summary, data))
        self._put(term, written, _info(stored, 1, shortest, longest, block_weight, docnum, docnum))

    def _put(self, term: bytes, written: bytes, info: bytes) -> None:
        """Write a term's posting list and its entry in the terms table: its statistics, then where the list is."""
        self.postfile.write(written)
        self.terms_table.add(self.field + term, info + pack_long(self.offset) + pack_int(len(written)))
        self.offset += len(written)

    def _mini_values(self, values: tuple[bytes, ...]) -> Any:
        """W3PostingsWriter._mini_values: a tuple of the values, nothing when they are empty, or one string of
        them when they are all of one size."""
        present = [value for value in values if value]
        if self.fixed is None or self.fixed < 0:
            return tuple(present)
        return None if self.fixed == 0 else b"".join(present)


_INFO = W3TermInfo._struct


def _info(
    total: float, df: int, minlength: int | None, maxlength: int, maxweight: float, first: int, last: int
) -> bytes:
    """W3TermInfo(...).to_bytes() of a posting list written to the postings file, up to its extent."""
    shortest = 0 if minlength is None else length_to_byte(minlength)
    return _INFO.pack(False, total, df, shortest, length_to_byte(maxlength), maxweight, first, last)  # type: ignore[no-any-return]


def _mini_weights(weights: array[float]) -> Any:
    """W3PostingsWriter._mini_weights: nothing when all are 1, the one weight when all are equal, else all."""
    if all(w == 1.0 for w in weights):
        return None
    if all(w == weights[0] for w in weights):
        return weights[0]
    return tuple(weights)


Progress = Callable[[int, int], None]


def may_fork() -> bool:
    """Whether this process may write half an index in a forked child: it can fork, and runs one thread only (a
    child forked beside other threads may find a lock one of them held, for ever; a web worker is never forked)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def write_index(
    ix: Any,
    head: Sequence[dict[str, Any]],
    groups: Iterable[list[dict[str, Any]]],
    tail: Sequence[dict[str, Any]],
    total: int,
    progress: Progress | None = None,
    parallel: bool = False,
) -> int:
    """Write into the empty index ix the documents of head, of each group (a service's documents) and of tail, in
    that order, and commit them; returns the number of groups. progress(done, total) is called as groups are
    written (every 50, and at the last).

    With parallel (see may_fork), a forked child writes the first half of the documents as one segment while this
    process writes the second half as another: the same documents, numbered in the same order, in two segments.
    """
    if not parallel:
        writer = BulkWriter(ix)
        try:
            for document in head:
                writer.add_document(**document)
            done = _add_groups(writer, groups, 0, total, progress)
            for document in tail:
                writer.add_document(**document)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        return done
    listed = list(groups)
    half = len(listed) // 2
    writer = BulkWriter(ix)  # holds the index's lock; the child writes beside it, unlocked
    try:
        with _Child(ix, head, listed[:half]) as child:
            _add_groups(writer, listed[half:], 0, total, progress, child)
            for document in tail:
                writer.add_document(**document)
            writer.commit_after(lambda: child.segment(total, progress, len(listed) - half))
    except BaseException:
        writer.cancel()
        raise
    return len(listed)


def _add_groups(
    writer: BulkWriter,
    groups: Iterable[list[dict[str, Any]]],
    done: int,
    total: int,
    progress: Progress | None,
    child: _Child | None = None,
) -> int:
    for group in groups:
        for document in group:
            writer.add_document(**document)
        done += 1
        if progress is not None and (done % 50 == 0 or done == total):
            progress(min(done + (child.done() if child else 0), total), total)
    return done


class _Child:
    """A forked process writing documents as one segment of ix (unlocked: the parent's writer holds the lock);
    it tells its progress through a pipe (a byte per 50 groups) and its segment through a file."""

    def __init__(self, ix: Any, head: Sequence[dict[str, Any]], groups: list[list[dict[str, Any]]]) -> None:
        self.ix, self.head, self.groups = ix, head, groups
        self.found = Path(ix.storage.folder) / f"child-{random_name()}.segment"
        self.pid = 0
        self.reader = -1
        self.written = 0

    def __enter__(self) -> _Child:
        reader, writer = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(reader)
            self._run(writer)  # never returns
        os.close(writer)
        os.set_blocking(reader, False)
        self.reader = reader
        return self

    def _run(self, pipe: int) -> None:
        status = 1
        try:
            writer = BulkWriter(self.ix, _lk=False)
            for document in self.head:
                writer.add_document(**document)
            for done, group in enumerate(self.groups, 1):
                for document in group:
                    writer.add_document(**document)
                if done % 50 == 0:
                    os.write(pipe, b".")
            self.found.write_bytes(pickle.dumps(writer._finalize_segment()))
            status = 0
        finally:
            # Straight out: nothing of the parent's (its database connections, its exit handlers) is run here.
            os._exit(status)

    def done(self) -> int:
        """Groups the child has written so far (counted by fifties)."""
        try:
            self.written += 50 * len(os.read(self.reader, 4096))
        except BlockingIOError:
            pass
        return self.written

    def segment(self, total: int, progress: Progress | None, written_here: int) -> Any:
        """Wait for the child (reporting its progress) and give its segment."""
        os.set_blocking(self.reader, True)
        while chunk := os.read(self.reader, 4096):
            self.written += 50 * len(chunk)
            if progress is not None:
                progress(min(written_here + self.written, total), total)
        _pid, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"the process writing the first half of the index failed ({status})")
        if progress is not None:
            progress(min(written_here + len(self.groups), total), total)
        # Written moments ago by our own child, in the index's folder.
        segment = pickle.loads(self.found.read_bytes())  # nosec B301
        self.found.unlink()
        return segment

    def __exit__(self, *_exc: object) -> None:
        os.close(self.reader)
        if self.pid:  # the parent failed first: stop the child
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        self.found.unlink(missing_ok=True)
