"""whoosh names segments and temporary files at random: the names never repeat, even when something seeds the
shared random generator the same way before each write (hypothesis does, in the thread that runs the test,
while the index follower writes from its own thread)."""

from __future__ import annotations

import random

import whoosh.util

import catalogue.search.index  # noqa: F401  (importing it gives whoosh its own generator)


def test_seeding_the_shared_generator_does_not_repeat_whoosh_names() -> None:
    names = set()
    for _ in range(5):
        random.seed(1234)
        names.add(whoosh.util.random_name(16))
    assert len(names) == 5
