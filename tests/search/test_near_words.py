"""The spelling candidates found in memory: every word within the edits asked, first letter kept, and at least
every word whoosh's automaton search finds (which misses some: 'aa' is two edits from 'abta')."""

from __future__ import annotations

import random

from whoosh import fields, index
from whoosh.spelling import ListCorrector

from catalogue.search.query import SegmentSets, _near_words, _ReaderView


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        previous = current
    return previous[-1]


def test_near_words_are_every_word_within_the_edits_and_whoosh_finds_no_other():
    rng = random.Random(4)
    letters = "abcdeilmnorst"
    words = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(3000)})
    corrector = ListCorrector(words)
    for _ in range(300):
        word = "".join(rng.choice(letters) for _ in range(rng.randint(3, 9)))
        for maxdist in (1, 2):
            found = sorted(_near_words(words, word, maxdist))
            expected = [w for w in words if w != word and w[0] == word[0] and _levenshtein(w, word) <= maxdist]
            assert found == expected, (word, maxdist)
            assert {w for _score, w in corrector._suggestions(word, maxdist, 1) if w != word} <= set(found)


def test_identifiers_near_a_word_are_those_close_to_the_whole_form_or_to_its_start(tmp_path):
    ix = index.create_in(str(tmp_path), fields.Schema(identifiers=fields.ID()))
    view = _ReaderView(ix.searcher(), SegmentSets())
    rng = random.Random(7)
    letters = "abcdeilmnorst"
    view._identifiers = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(2, 14))) for _ in range(4000)})
    for _ in range(200):
        word = "".join(rng.choice(letters) for _ in range(rng.randint(3, 9)))
        maxdist = 1 if len(word) <= 5 else 2
        expected = tuple(
            form
            for form in view._identifiers
            if form[0] == word[0] and min(_levenshtein(word, form), _levenshtein(word, form[: len(word)])) <= maxdist
        )
        assert view.near_identifiers(word) == expected, word
