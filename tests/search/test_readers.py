"""Searchers after a write reopen only the segments the write made (readers.SegmentReaders), see the deletions
the write made in the others, and a run of writes leaves one small segment (readers.merge_small). Checked
against whoosh's own searcher over the same files, on a real index on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh import fields, index
from whoosh.query import Every, Term
from whoosh.reading import SegmentReader

from catalogue.search import readers
from catalogue.search.readers import SMALL_SEGMENT, SegmentReaders, merge_small

_SCHEMA = fields.Schema(
    key=fields.ID(unique=True, stored=True),
    text=fields.TEXT(stored=True),
    tag=fields.KEYWORD(commas=True, stored=True),
)
_BIG = SMALL_SEGMENT + 50


def _index(folder: Path, size: int = _BIG) -> index.FileIndex:
    """An index of size documents in one segment, as after a rebuild."""
    ix = index.create_in(str(folder), _SCHEMA)
    writer = ix.writer()
    for number in range(size):
        writer.add_document(key=f"d{number}", text=f"word{number % 7} common text {number}", tag=f"t{number % 3}")
    writer.commit()
    return ix


def _update(ix: index.FileIndex, key: str, text: str, **commit: object) -> None:
    writer = ix.writer()
    writer.update_document(key=key, text=text, tag="changed")
    writer.commit(**commit)


def _answers(searcher) -> list[object]:
    """What a few searches find (documents, stored fields), to compare with whoosh's own searcher."""
    return [
        sorted((hit["key"], hit["text"], hit["tag"]) for hit in searcher.search(query, limit=None))
        for query in (Every(), Term("text", "common"), Term("text", "word3"), Term("tag", "changed"))
    ]


def test_a_write_reopens_only_its_new_segment_and_its_deletions_are_seen(tmp_path):
    ix = _index(tmp_path)
    segments = SegmentReaders()
    first = segments.searcher(ix)
    assert segments.opened == 1
    big_files = first.reader()._terms

    _update(ix, "d5", "renamed once", merge=False)  # deletes d5 from the big segment, adds a segment
    second = segments.searcher(ix)
    first.close()
    assert segments.opened == 2  # the big segment was not opened again
    leaves = [leaf for leaf, _offset in second.reader().leaf_readers()]
    assert any(leaf._terms is big_files for leaf in leaves)
    with ix.searcher() as whoosh_own:
        assert _answers(second) == _answers(whoosh_own)
    found = [hit["text"] for hit in second.search(Term("key", "d5"))]
    assert found == ["renamed once"]  # once, as updated: the reused segment sees the deletion
    assert second.doc_count() == _BIG
    second.close()


def test_segments_merged_away_are_closed_and_the_rest_kept(tmp_path):
    ix = _index(tmp_path)
    segments = SegmentReaders()
    _update(ix, "d1", "one", merge=False)
    before = segments.searcher(ix)
    small = [leaf for leaf, _offset in before.reader().leaf_readers() if leaf.doc_count_all() < _BIG]
    bases = dict(segments._bases)
    _update(ix, "d2", "two", mergetype=merge_small)  # merges the small segment into the new one
    after = segments.searcher(ix)
    before.close()
    gone = [bases[str(leaf.segment().segment_id())] for leaf in small]
    assert gone and all(base.is_closed for base in gone)
    assert len(segments._bases) == 2
    with ix.searcher() as whoosh_own:
        assert _answers(after) == _answers(whoosh_own)
    segments.close()
    assert not segments._bases


def test_writes_leave_one_small_segment_beside_the_big_one(tmp_path):
    ix = _index(tmp_path)
    for number in range(8):
        _update(ix, f"d{number}", f"edit {number}", mergetype=merge_small)
    sizes = sorted(segment.doc_count_all() for segment in ix._segments())
    assert len(sizes) == 2, sizes  # whoosh's own policy leaves one segment per write until five pile up
    assert sizes[1] == _BIG  # the big segment is never rewritten by a write
    with ix.searcher() as searcher:
        assert searcher.doc_count() == _BIG
        assert [hit["text"] for hit in searcher.search(Term("key", "d7"))] == ["edit 7"]


@pytest.mark.parametrize("size", [3, readers.READ_WHOLE + 1])
def test_a_small_segment_read_into_memory_reads_as_from_its_file(tmp_path, size):
    ix = _index(tmp_path, size)
    toc = ix._read_toc()
    segment = toc.segments[0]
    from_file = SegmentReader(ix.storage, toc.schema, segment)
    whole = SegmentReader(readers._WholeFiles(ix.storage), toc.schema, segment)
    try:
        assert list(whole.all_terms()) == list(from_file.all_terms())
        for fieldname, text in from_file.all_terms():
            assert list(whole.postings(fieldname, text).items_as("frequency")) == list(
                from_file.postings(fieldname, text).items_as("frequency")
            )
        assert list(whole.all_stored_fields()) == list(from_file.all_stored_fields())
        assert [whole.doc_field_length(d, "text") for d in range(size)] == [
            from_file.doc_field_length(d, "text") for d in range(size)
        ]
    finally:
        whole.close()
        from_file.close()
    segments = SegmentReaders()
    searcher = segments.searcher(ix)
    overlay = searcher.reader()._storage  # whoosh's overlay of the segment's compound file and the storage
    assert isinstance(overlay.b, readers._WholeFiles) == (size <= readers.READ_WHOLE)
    searcher.close()
    segments.close()
