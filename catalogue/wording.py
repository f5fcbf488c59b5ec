"""Words a person reads: counts with their noun in the right number, never a hedged plural."""

from __future__ import annotations


def plural(count: int, word: str, words: str | None = None) -> str:
    """count with word in its right number: "1 error", "3 errors", "2 sub-processes" (words given)."""
    return f"{count} {word if count == 1 else (words or word + 's')}"
