"""Searchers that reopen only the segments a write changed.

A whoosh index is a list of segments. A segment's files never change once written; a write adds a segment,
marks documents of older ones deleted (in the table of contents, not in their files), and may merge small
segments into a new one. Opening a searcher from scratch after every write reads the big segment's term table,
stored-field offsets and columns again, which at 30,000 services cost more than the search itself.

whoosh's own ``Searcher.refresh()`` reuses segment readers, but a reused reader keeps the deletions it was
opened with, so a document updated since shows twice. Here, each segment is opened once (its *base* reader,
which owns the open files) and every searcher gets a light view of it carrying the segment as the newest table
of contents describes it, deletions included.
"""

from __future__ import annotations

import copy
from typing import Any

from whoosh import index
from whoosh.filedb.structfile import BufferFile
from whoosh.reading import EmptyReader, IndexReader, MultiReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.writing import MERGE_SMALL

_PER_DELETIONS = ("deleted_docs_set",)
"""Attributes a whoosh reader computes from its segment's deletions and keeps (cached properties)."""


SMALL_SEGMENT = 100
"""Documents in a segment that a write merges into its own new segment (see merge_small)."""


def merge_small(writer: Any, segments: list[Any]) -> list[Any]:
    """whoosh merge policy for a write: every segment of at most SMALL_SEGMENT documents goes into the segment
    the write makes, so a run of writes leaves one small segment beside the big ones, not one per write (each
    segment costs every search a little, and a new one costs the first search after the write a little more);
    the segments left are merged by whoosh's own policy (MERGE_SMALL), which leaves big ones alone."""
    small = [segment for segment in segments if segment.doc_count_all() <= SMALL_SEGMENT]
    for segment in small:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        try:
            writer.add_reader(reader)  # copies the live documents, postings and all, without analysing them
        finally:
            reader.close()
    left: list[Any] = MERGE_SMALL(writer, [segment for segment in segments if segment.doc_count_all() > SMALL_SEGMENT])
    return left


READ_WHOLE = 1_000
"""Documents in a segment whose file is read into memory whole when it is opened (about 3.5 KB each)."""


class _WholeFiles:
    """The index's storage, but a file opened through it is read into memory whole: the many small reads of a
    small segment's term table then cost a fifth (no mmap: a file cut short by damage would crash the process
    on a read, where a read from memory raises an error the index heals from)."""

    supports_mmap = False

    def __init__(self, storage: Any) -> None:
        self._storage = storage

    def open_file(self, name: str, *args: Any, **kwargs: Any) -> BufferFile:
        handle = self._storage.open_file(name, *args, **kwargs)
        try:
            return BufferFile(handle.read(), name=name)
        finally:
            handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


class _SegmentView(SegmentReader):
    """A reader of one segment that shares the open files of the segment's base reader and sees the
    deletions of ``segment`` (the same segment, as a newer table of contents describes it).

    Closing a view closes nothing: the files belong to the base reader (see SegmentReaders)."""

    def __init__(self, base: SegmentReader, segment: Any, generation: int) -> None:
        # No SegmentReader.__init__: it would open the segment's files again.
        state = {k: v for k, v in base.__dict__.items() if k not in _PER_DELETIONS}
        self.__dict__.update(state)
        self._segment = segment
        self._gen = generation
        self._perdoc = copy.copy(base._perdoc)  # shares its open column files and column readers
        self._perdoc._segment = segment
        self.is_closed = False

    def close(self) -> None:
        self.is_closed = True


class SegmentReaders:
    """The base reader of every segment in use, by segment id; opens searchers whose leaves are views of them.

    Not thread-safe: the caller holds its own lock (SearchIndex does).
    """

    def __init__(self) -> None:
        self._bases: dict[str, SegmentReader] = {}
        self.opened = 0
        """Segment readers opened since the start (tests and benchmarks read it)."""

    def searcher(self, ix: index.FileIndex) -> Searcher:
        """A searcher of ix's latest generation; segments still in it are not opened again."""
        toc = ix._read_toc()  # as whoosh's FileIndex.reader() reads it
        leaves: list[IndexReader] = []
        for segment in toc.segments:
            key = str(segment.segment_id())
            base = self._bases.get(key)
            if base is None or base.doc_count_all() != segment.doc_count_all():
                storage = _WholeFiles(ix.storage) if segment.doc_count_all() <= READ_WHOLE else ix.storage
                base = self._bases[key] = SegmentReader(storage, toc.schema, segment, generation=toc.generation)
                self.opened += 1
            leaves.append(_SegmentView(base, segment, toc.generation))
        self._forget({str(segment.segment_id()) for segment in toc.segments})
        reader: IndexReader
        if not leaves:
            reader = EmptyReader(toc.schema)
        elif len(leaves) == 1:
            reader = leaves[0]
        else:
            reader = MultiReader(leaves, generation=toc.generation)
        return Searcher(reader, fromindex=ix)

    def _forget(self, keep: set[str]) -> None:
        """Close the base readers of segments no longer in the index (merged away)."""
        for key in [k for k in self._bases if k not in keep]:
            self._bases.pop(key).close()

    def close(self) -> None:
        """Close every base reader (searchers made before must not be used after this)."""
        self._forget(set())
