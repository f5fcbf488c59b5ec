"""Reading what whoosh stored for a term (its postings and word positions) and a field's lengths, as numpy arrays.

whoosh's own matcher answers one posting per call. Its block matcher is faster but still reads each block's header
in about twenty small file reads, and word positions are one pickle per posting: for a word found in most of
10,000 services that was most of a search's time. Here a term's whole posting list is read from the postings file
in one call and each block is decoded at once (one zlib call, one pickle load, one numpy sum for the document
numbers); the word positions of a block are decoded together, in one pickle load.

Each fast path reads private names of whoosh-reloaded (listed where used) and falls back to the public interface
when they are not as expected, counting it in FAST_PATHS (see FastPaths).
"""

from __future__ import annotations

import io
import logging
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from itertools import chain, compress

# whoosh's postings format pickles each block and each posting's positions; we decode those bytes, read from the
# catalogue's own index, as whoosh itself does.
from pickle import load, loads  # nosec B403
from typing import Any, NamedTuple

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.formats import Positions
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length

from catalogue.search.scores import within

log = logging.getLogger(__name__)


class FastPaths:
    """How often each fast path over whoosh-reloaded's private internals was taken, or fell back.

    Reading postings and word positions in blocks and field lengths in one call is what keeps searches and
    the first search after a write fast, and each reads private names (listed where each is used). A whoosh-reloaded that renames
    them still gives the same answers through its public interface, only several times slower; so
    tests/search/test_fast_paths.py checks that no fallback happens on a real index (an upgrade fails
    the suite instead of slowing searches down), and the first fallback in a process is logged.
    """

    POSTINGS_IN_BLOCKS = "postings read in blocks"
    LENGTHS_IN_ONE_CALL = "field lengths read in one call"
    POSITIONS_IN_BLOCKS = "word positions read in blocks"

    def __init__(self) -> None:
        self.taken: Counter[str] = Counter()
        self.fallbacks: Counter[str] = Counter()

    def take(self, path: str) -> None:
        """Count one use of the fast path."""
        self.taken[path] += 1

    def fall_back(self, path: str) -> None:
        """Count one use of the public interface where the fast path could not be taken."""
        if not self.fallbacks[path]:
            log.warning(
                "search: whoosh-reloaded's internals are not as expected, so the fast path '%s' falls back "
                "to the public interface (same answers, slower searches)",
                path,
            )
        self.fallbacks[path] += 1

    def reset(self) -> None:
        """Forget every count."""
        self.taken.clear()
        self.fallbacks.clear()


FAST_PATHS = FastPaths()

_NO_DOCS = np.zeros(0, dtype=np.int32)
_NO_WEIGHTS = np.zeros(0, dtype=np.float32)
_NO_KEYS = np.zeros(0, dtype=np.int64)
_BLOCK_LENGTH = struct.Struct("!i")  # whoosh's StructFile.read_int
_HEAD = "\x80\x02"  # protocol 2, as whoosh's Positions.encode pickles a posting's position gaps
_ENCODE = b"c_codecs\nencode\n"
"""How a protocol 2 pickle makes each bytes object: _codecs.encode(its latin-1 text, "latin1"), a call each."""
_ADD = b"c_operator\nadd\n"
_LATIN1 = len("latin1")


class _Span(NamedTuple):
    """Where one block of a posting list is: its postings, its last document, its data, its compression."""

    postings: int
    last: int
    start: int
    end: int
    compression: int


class _Blocks:
    """One term's posting list in one segment, as whoosh3 wrote it: blocks of up to 128 postings, each a pickled
    header (count, last document, ...) and a zlib-compressed pickle of (document gaps, weights, values).

    Read through the private `_terms` of whoosh's SegmentReader (a W3TermsReader: `term_info`, `_postfile`) and
    the term info's `extent`/`inlined_postings`; None from `of` when the reader is not of that shape.

    The values (each posting's positions, for a field that has them) are most of a block's pickle, and a
    protocol 2 pickle makes each bytes object with a function call: a block's pickle is read up to its values
    when only documents and weights are asked for, and with its values as text (one join) for positions.
    """

    __slots__ = ("_spans", "inlined", "raw")

    def __init__(self, inlined: Any, raw: bytes, spans: list[_Span] | None = None) -> None:
        self.inlined = inlined
        self.raw = raw
        self._spans = spans

    @property
    def spans(self) -> list[_Span]:
        """Where every block is (each block's header read once, when first asked for)."""
        if self._spans is None:
            self._spans = _spans(self.raw) if self.raw else []
        return self._spans

    @classmethod
    def of(cls, leaf: Any, fieldname: str, text: str) -> _Blocks | None:
        """The term's blocks in leaf (empty when leaf lacks the term), or None where the fast path cannot read."""
        terms = getattr(leaf, "_terms", None)
        postfile = getattr(terms, "_postfile", None)
        if not hasattr(terms, "term_info") or not hasattr(postfile, "get") or fieldname not in leaf.schema:
            return None
        try:
            info = terms.term_info(fieldname, leaf.schema[fieldname].to_bytes(text))  # type: ignore[union-attr]
        except TermNotFound:
            return cls(((), (), ()), b"", [])
        if type(info) is not W3TermInfo:
            return None
        if info.is_inlined():
            return cls(info.inlined_postings(), b"", [])
        offset, length = info.extent()
        if isinstance(length, tuple):  # W3TermInfo.from_bytes keeps the length as struct.unpack's 1-tuple
            (length,) = length
        raw = bytes(postfile.get(offset, length))  # type: ignore[union-attr]
        if raw[: len(WHOOSH3_HEADER_MAGIC)] != WHOOSH3_HEADER_MAGIC:
            return None
        return cls(None, raw)

    def _data(self, span: _Span) -> bytes:
        data = self.raw[span.start : span.end]
        return zlib.decompress(data) if span.compression else data

    def documents(self) -> tuple[Any, list[int], list[Any]]:
        """(document numbers as int32, how many each block holds, each block's weights as stored).

        The gaps of every block are made one array at once, and each block's running sum taken from the running
        sum of all (a few numpy calls per list rather than per block of 128)."""
        if self.inlined is not None:
            ids, weights, _values = self.inlined
            return np.asarray(ids, dtype=np.int32), [len(ids)], [weights]
        gaps: list[Any] = []
        stored: list[Any] = []
        for span in self.spans:
            data = self._data(span)
            found = _before_values(data, span.postings)
            block_gaps, block_weights = found if found is not None else loads(data)[:2]  # nosec B301
            gaps.append(block_gaps)
            stored.append(block_weights)
        counts = [len(block) for block in gaps]
        total = np.cumsum(np.fromiter(chain.from_iterable(gaps), dtype=np.int64, count=sum(counts)))
        ends = np.cumsum(counts)
        # Each block's gaps start from 0: take away the running sum of the blocks before it.
        before = np.concatenate(([0], total[ends[:-1] - 1])) if len(ends) else np.zeros(0, dtype=np.int64)
        return (total - np.repeat(before, counts)).astype(np.int32), counts, stored

    def positions(self, only: Any, listed: Any = None) -> Iterator[tuple[Any, Any, Any]]:
        """(document numbers as int32, how many positions each, their position gaps) of the blocks holding a
        document of only (of every block when only is None), restricted to the documents of only.

        listed, the term's document numbers (all its postings, ascending), tells which blocks hold only without
        reading every block's header (see _spans_numbered)."""
        if self.inlined is not None:
            ids, _weights, values = self.inlined
            if ids:
                yield _arrays(*_only(np.asarray(ids, dtype=np.int32), [_gaps(v) for v in values], only))
            return
        spans = None
        if only is not None and listed is not None and self._spans is None:
            spans = _spans_numbered(self.raw, np.unique(np.searchsorted(listed, only) // BLOCK_POSTINGS), listed)
        if spans is None:
            spans = self._holding(only)
        if not spans:
            return
        datas = [self._data(span) for span in spans]
        counts = [span.postings for span in spans]
        # numpy's few dozen calls cost more than loading the pickles of a short list
        found = _vector_positions(datas, counts) if sum(counts) >= _VECTOR_FROM else None
        parts = [found] if found is not None else [_block_positions_by_pickle(data) for data in datas]
        for docs, counts, gaps in parts:
            if only is not None:
                keep = within(docs, only)
                docs, counts, gaps = docs[keep], counts[keep], gaps[np.repeat(keep, counts)]
            if len(docs):
                yield docs, counts, gaps

    def _holding(self, only: Any) -> list[_Span]:
        """The blocks holding a document of only (sorted document numbers), or every block when only is None."""
        if only is None:
            return self.spans
        # The documents of only up to each block's last one: a block holds one when that count grows at it.
        upto = np.searchsorted(only, np.fromiter((span.last for span in self.spans), dtype=np.int64), side="right")
        return list(compress(self.spans, np.diff(upto, prepend=0).astype(bool).tolist()))


def _only(docs: Any, values: Any, only: Any) -> tuple[Any, Any]:
    """(docs, values) of the documents of only (all when only is None)."""
    if only is None:
        return docs, values
    keep = within(docs, only)
    return docs[keep], tuple(compress(values, keep.tolist()))


def _arrays(docs: Any, lists: Any) -> tuple[Any, Any, Any]:
    """(docs, how many gaps each, the gaps) from a list of gap lists."""
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    return docs, counts, np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum()))


def _block_positions_by_pickle(data: bytes) -> tuple[Any, Any, Any]:
    """(docs, how many positions each, their gaps) of a block, its pickle loaded (values read as text, joined
    into one pickle: _gap_lists), or as whoosh reads it when it is not of that shape."""
    try:
        gaps, _weights, texts = loads(data.replace(_ENCODE, _ADD))  # nosec B301
        lists = _gap_lists(texts)
    except Exception:  # noqa: BLE001 - a block not of the shape expected is read as whoosh reads it
        lists = None
    if lists is None:
        gaps, _weights, values = loads(data)  # nosec B301
        lists = [_gaps(v) for v in values]
    return _arrays(np.cumsum(np.asarray(gaps, dtype=np.int32), dtype=np.int32), lists)


_VECTOR_FROM = 512
"""Postings from which the blocks read for positions are read with numpy (_vector_positions)."""
_BINGET, _X, _K = ord("h"), ord("X"), ord("K")
"""Each value but the first starts in a block's pickle with BINGET (of the _codecs.encode read for the first),
then BINUNICODE (X: the value's latin-1 text, in UTF-8); K (BININT1) is a gap."""


def _vector_positions(datas: list[bytes], postings: list[int]) -> tuple[Any, Any, Any] | None:
    """(docs, how many positions each, their gaps) of blocks (the data of each, and its postings) whose every gap
    is below 128, read from the bytes of their pickles with numpy, all at once; None when any block is not
    exactly of that shape (then each is read on its own: the caller).

    Each value is pickled as the UTF-8 of its latin-1 text: a count (4 bytes), then whoosh's pickle of the gaps,
    `\\x80\\x02]q\\x00` and `K<gap>a.` (one gap) or `(K<gap>K<gap>...e.`. Gaps below 128 are one byte each in
    UTF-8 too, so every gap sits at a place known from the counts; the lengths and every opcode are checked."""
    if not datas:
        return _NO_DOCS, np.zeros(0, dtype=np.int64), _NO_KEYS
    found = _values_of(datas, postings)
    if found is None:
        return None
    ids, raw, starts, block_ends = found
    lengths = raw[starts + 1] | raw[starts + 2].astype(np.int64) << 8 | raw[starts + 3].astype(np.int64) << 16
    text = starts + 5  # each value's text: its count, then \xc2\x80 (the pickle's protocol, in UTF-8), ...
    counts = (raw[text + 2].astype(np.int64) << 8) | raw[text + 3]
    if raw[text].any() or raw[text + 1].any() or not counts.all():
        return None
    single = counts == 1
    ends = text + np.where(single, 14, 13 + 2 * counts)
    if not np.array_equal(lengths, ends - text) or (ends > block_ends).any():
        return None
    header = np.add.outer(text, np.arange(4, 10))
    if not (raw[header] == np.frombuffer(b"\xc2\x80\x02]q\x00", dtype=np.uint8)).all():
        return None
    closing = np.where(single, ord("a"), ord("e"))
    if not ((raw[ends - 2] == closing).all() and (raw[ends - 1] == ord(".")).all()):
        return None
    if not (raw[text[~single] + 10] == ord("(")).all():
        return None
    first_gap = np.repeat(text + np.where(single, 11, 12), counts)
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    places = first_gap + 2 * within
    if not (raw[places - 1] == _K).all() or (raw[places] >= 0x80).any():
        return None
    return ids, counts, raw[places].astype(np.int64)


def _values_of(datas: list[bytes], postings: list[int]) -> tuple[Any, Any, Any, Any] | None:
    """(docs, the blocks' bytes joined, where each value's BINUNICODE is, where its block ends), or None when a
    block does not hold its postings' values where expected."""
    ids, firsts, memos, offset = [], [], [], 0
    for data, count in zip(datas, postings, strict=True):
        found = _before_values(data, count)
        first = data.find(_ENCODE) + len(_ENCODE) + 2  # the first BINUNICODE, after BINPUT <memo>
        if found is None or data[first - 2 : first - 1] != b"q" or data[first : first + 1] != b"X":
            return None
        ids.append(np.cumsum(np.asarray(found[0], dtype=np.int32), dtype=np.int32))
        firsts.append(offset + first)
        memos.append(data[first - 1])  # BINGET <memo>, then BINUNICODE: where each next value of the block starts
        offset += len(data)
    raw = np.frombuffer(b"".join(datas), dtype=np.uint8)
    ends_of_blocks = np.cumsum([len(data) for data in datas])
    xs = np.flatnonzero(raw == _X)
    xs = xs[xs >= 2]
    block = np.searchsorted(ends_of_blocks, xs, side="right")
    later = (raw[xs - 2] == _BINGET) & (raw[xs - 1] == np.asarray(memos)[block]) & (xs > np.asarray(firsts)[block])
    starts = np.sort(np.concatenate((np.asarray(firsts, dtype=np.int64), xs[later])))  # each value's X
    if not np.array_equal(np.diff(np.searchsorted(starts, ends_of_blocks), prepend=0), postings):
        return None
    block_ends = ends_of_blocks[np.searchsorted(ends_of_blocks, starts, side="right")]
    if (starts + 5 > block_ends).any() or raw[starts + 4].any():
        return None
    return np.concatenate(ids), raw, starts, block_ends


def _before_values(data: bytes, count: int) -> tuple[Any, Any] | None:
    """(document gaps, weights) of a block's pickle, read up to its values (the first bytes object made in it),
    or None when the pickle is not of that shape."""
    cut = data.find(_ENCODE)
    if cut <= 0:
        return None
    head = data[: cut - 1] if data[cut - 1 : cut] == b"(" else data[:cut]  # the values' MARK, when a tuple has one
    try:  # ids and weights, then TUPLE2 and STOP
        found = loads(head + b"\x86.")  # nosec B301
    except Exception:  # noqa: BLE001 - not the shape expected: the caller reads the whole pickle
        return None
    if not (isinstance(found, tuple) and len(found) == 2 and isinstance(found[0], tuple) and len(found[0]) == count):
        return None
    weights = found[1]
    if weights is None or isinstance(weights, float | int) or (isinstance(weights, tuple) and len(weights) == count):
        return found
    return None


def _gap_lists(texts: tuple[str, ...]) -> list[list[int]] | None:
    """The position gaps of each posting of a block, from its values read as text (each value's latin-1 text
    followed by "latin1": _ADD in place of _ENCODE), or None when they are not of the shape expected.

    A value is whoosh's Positions.encode: a count (4 bytes), then a pickle of the gaps. The pickles are joined
    into one pickle of a list of lists, loaded at once, and checked against the counts."""
    if not texts:
        return []
    if not texts[0].endswith(".latin1") or texts[0][_INT_SIZE : _INT_SIZE + len(_HEAD)] != _HEAD:
        return None
    inner = slice(_INT_SIZE + len(_HEAD), -1 - _LATIN1)  # the pickle without its protocol and its STOP
    joined = "".join([_HEAD, "]("] + [text[inner] for text in texts] + ["e."]).encode("latin1")
    lists = loads(joined)  # nosec B301
    counts = np.frombuffer("".join([text[:_INT_SIZE] for text in texts]).encode("latin1"), dtype=">u4")
    if len(lists) != len(texts) or not np.array_equal(counts, [len(one) for one in lists]):
        return None
    return lists  # type: ignore[no-any-return]


BLOCK_POSTINGS = 128
"""Postings in each block of a posting list but its last (whoosh3's default block limit); checked when relied on."""


def _spans_numbered(raw: bytes, numbers: Any, listed: Any) -> list[_Span] | None:
    """Where the blocks numbered numbers (ascending) are, reading only their headers: each block but the last
    holds BLOCK_POSTINGS postings, so block k holds the postings k * BLOCK_POSTINGS onwards of listed (the term's
    document numbers). None when a block read does not hold what listed says it does (then every header is read).
    """
    spans: list[_Span] = []
    wanted = iter(numbers.tolist())
    number = next(wanted, None)
    stream = io.BytesIO(raw)
    at, block = len(WHOOSH3_HEADER_MAGIC), 0
    while number is not None:
        (length,) = _BLOCK_LENGTH.unpack_from(raw, at)
        end = at + _INT_SIZE + abs(length)
        if block == number:
            stream.seek(at + _INT_SIZE)
            header = load(stream)  # nosec B301
            first = block * BLOCK_POSTINGS
            count = min(BLOCK_POSTINGS, len(listed) - first)
            if count <= 0 or int(header[0]) != count or int(header[1]) != int(listed[first + count - 1]):
                return None
            spans.append(_Span(count, int(header[1]), stream.tell(), end, int(header[3])))
            number = next(wanted, None)
        if length < 0:
            return spans if number is None else None
        at, block = end, block + 1
    return spans


def _spans(raw: bytes) -> list[_Span]:
    """Where each block of a posting list is (whoosh3's W3LeafMatcher._goto: the block's length, negative for the
    last block, then its pickled header)."""
    spans = []
    stream = io.BytesIO(raw)
    at = len(WHOOSH3_HEADER_MAGIC)
    while True:
        (length,) = _BLOCK_LENGTH.unpack_from(raw, at)
        stream.seek(at + _INT_SIZE)
        # (postings, last document, max weight, compression, shortest and longest field length bytes)
        header = load(stream)  # nosec B301
        end = at + _INT_SIZE + abs(length)
        spans.append(_Span(int(header[0]), int(header[1]), stream.tell(), end, int(header[3])))
        if length < 0:
            return spans
        at = end


def _weights_of(stored: Any, count: int) -> Any:
    """A block's weights as float32 (whoosh stores None for all 1.0 and one float for all the same)."""
    if stored is None:
        return np.ones(count, dtype=np.float32)
    if isinstance(stored, float | int):
        return np.full(count, stored, dtype=np.float32)
    return np.asarray(stored, dtype=np.float32)


def _all_weights(stored: list[Any], counts: list[int]) -> Any:
    """The weights of every block (as stored: _weights_of) as one float32 array."""
    if stored and all(type(block) is tuple for block in stored):
        return np.fromiter(chain.from_iterable(stored), dtype=np.float32, count=sum(counts))
    found = [_weights_of(block, count) for block, count in zip(stored, counts, strict=True) if count]
    return np.concatenate(found) if found else _NO_WEIGHTS


def _deleted_docs(leaf: Any) -> Any:
    """The documents deleted from leaf's segment, as an int32 array (empty when none is)."""
    if not leaf.has_deletions():
        return _NO_DOCS
    return np.fromiter(leaf.deleted_docs_set, dtype=np.int32)


def postings(leaf: Any, fieldname: str, text: str, weights: bool = True, live: bool = True) -> tuple[Any, Any]:
    """(document numbers as int32, weights as float32) of the postings of a term in one segment (weights None
    unless asked for); with live False, deleted documents too (for what is kept per segment, which the documents
    deleted since are taken out of).

    The whole list in one read, a block at a time (_Blocks); the public matcher interface otherwise (counted in
    FAST_PATHS).
    """
    blocks = _Blocks.of(leaf, fieldname, text)
    if blocks is None:
        FAST_PATHS.fall_back(FastPaths.POSTINGS_IN_BLOCKS)
        return _postings_one_by_one(leaf, fieldname, text, weights, live)
    FAST_PATHS.take(FastPaths.POSTINGS_IN_BLOCKS)
    docs, counts, stored = blocks.documents()
    values = _all_weights(stored, counts) if weights else None
    if live and len(docs):
        deleted = _deleted_docs(leaf)
        if len(deleted):
            keep = ~np.isin(docs, deleted)
            docs = docs[keep]
            values = values[keep] if values is not None else None
    return docs, values


def _postings_one_by_one(leaf: Any, fieldname: str, text: str, weights: bool, live: bool) -> tuple[Any, Any]:
    """postings() through whoosh's public matcher interface, one posting per call."""
    try:
        matcher = leaf.postings(fieldname, text)
    except TermNotFound:
        return _NO_DOCS, (_NO_WEIGHTS if weights else None)
    if not live:
        matcher = _unfiltered(matcher)
    docs: list[int] = []
    weighed: list[float] = []
    while matcher.is_active():
        docs.append(matcher.id())
        if weights:
            weighed.append(matcher.weight())
        matcher.next()
    return np.asarray(docs, dtype=np.int32), (np.asarray(weighed, dtype=np.float32) if weights else None)


def _unfiltered(matcher: Any) -> Any:
    """The matcher under whoosh's filter of deleted documents (FilterMatcher), from its start (the filter moved
    it past the first deleted ones), or matcher itself."""
    if not isinstance(matcher, FilterMatcher):
        return matcher
    matcher.child.reset()
    return matcher.child


def position_keys(leaf: Any, fieldname: str, text: str, only: Any = None, listed: Any = None) -> Any:
    """Every position of a term in one segment, deleted documents included, as sorted int64 keys
    (document number << 32 | position); with only (sorted document numbers), in those documents alone.
    listed, the term's document numbers in the segment (its postings, deleted documents included) when known,
    saves reading the header of every block to find those holding only.

    From the blocks read in one call (_Blocks), a block's positions in one pickle load, and only the blocks
    holding a document of only; through the public matcher interface otherwise (counted in FAST_PATHS).
    """
    field = leaf.schema[fieldname] if fieldname in leaf.schema else None
    blocks = _Blocks.of(leaf, fieldname, text) if field is not None and type(field.format) is Positions else None
    if blocks is not None:
        FAST_PATHS.take(FastPaths.POSITIONS_IN_BLOCKS)
        docs, counts, positions = _positions_in_blocks(blocks, only, listed)
    else:
        FAST_PATHS.fall_back(FastPaths.POSITIONS_IN_BLOCKS)
        try:
            matcher = leaf.postings(fieldname, text)
        except TermNotFound:
            return _NO_KEYS
        matcher = _unfiltered(matcher)
        docs, counts, positions = positions_one_by_one(matcher, None if only is None else only.tolist())
    if not len(docs):
        return _NO_KEYS
    return (np.repeat(np.asarray(docs, dtype=np.int64), counts) << 32) | positions


def _positions_in_blocks(blocks: _Blocks, only: Any, listed: Any = None) -> tuple[Any, Any, Any]:
    """(documents, how many positions each, the positions) of the blocks read (see position_keys)."""
    parts = list(blocks.positions(only, listed))
    if not parts:
        return _NO_DOCS, np.zeros(0, dtype=np.int64), _NO_KEYS
    docs, count, flat = (np.concatenate(part) for part in zip(*parts, strict=True))
    ends = np.cumsum(flat)
    starts = np.cumsum(count) - count  # index of each posting's first gap
    # A document's positions are the running sum of its own gaps: the running sum of all, less what came before.
    before = np.repeat(ends[starts] - flat[starts], count) if len(flat) else flat
    return docs, count, ends - before


def _gaps(value: bytes) -> list[int]:
    """The position gaps of one posting (as whoosh's Positions.decode_positions reads them)."""
    body = value[_INT_SIZE:]
    return loads(body if body[-1:] == b"." else body + b".")  # type: ignore[no-any-return]  # nosec B301


def positions_one_by_one(matcher: Any, wanted: list[int] | None) -> tuple[list[int], Any, Any]:
    """(documents, how many positions each, the positions) through the public matcher interface."""
    chosen = None if wanted is None else set(wanted)
    docs: list[int] = []
    counts: list[int] = []
    found: list[int] = []
    while matcher.is_active():
        docnum = matcher.id()
        if chosen is None or docnum in chosen:
            here = matcher.value_as("positions")
            docs.append(docnum)
            counts.append(len(here))
            found.extend(here)
        matcher.next()
    return docs, np.asarray(counts, dtype=np.int64), np.asarray(found, dtype=np.int64)


_LENGTH_OF_BYTE = np.array([max(1, byte_to_length(byte)) for byte in range(256)], dtype=np.int32)


def field_lengths(leaf: Any, fieldname: str) -> Any:
    """The length of fieldname in every document of a leaf reader, as an int32 array.

    whoosh answers one document per call, and each call reads the file; its length column (one byte per
    document) is read here whole, in one call, through the codec's column reader (the private
    `_perdoc._cached_reader`, and the column's `_dbfile`, `_basepos` and `_count`). Where the codec
    differs, the public call per document is used (counted in FAST_PATHS).
    """
    count: int = leaf.doc_count_all()
    cached_reader = getattr(getattr(leaf, "_perdoc", None), "_cached_reader", None)
    if cached_reader is not None:
        column = cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        if column is None:
            # No document of this segment has the field, so whoosh writes no column: every length is 1.
            FAST_PATHS.take(FastPaths.LENGTHS_IN_ONE_CALL)
            return np.ones(count, dtype=np.int32)
        if all(hasattr(column, name) for name in ("_dbfile", "_basepos", "_count")):
            FAST_PATHS.take(FastPaths.LENGTHS_IN_ONE_CALL)
            lengths = np.ones(count, dtype=np.int32)
            read = _LENGTH_OF_BYTE[np.frombuffer(column._dbfile.get(column._basepos, column._count), dtype=np.uint8)]
            lengths[: len(read)] = read[:count]
            return lengths
    FAST_PATHS.fall_back(FastPaths.LENGTHS_IN_ONE_CALL)
    return np.array([leaf.doc_field_length(docnum, fieldname, 1) or 1 for docnum in range(count)], dtype=np.int32)
