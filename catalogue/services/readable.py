"""Values and library messages shortened for people: a problem report never echoes a huge value back."""

from __future__ import annotations

from typing import Any

MESSAGE_CHARS = 500


def brief(value: Any) -> str:
    """A short repr: a 10,000-character name or a list of 20,000 keywords is not echoed back whole."""
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:40]!r}… ({len(value)} characters)"
    if isinstance(value, (list, dict)) and len(repr(value)) > 80:
        kind = "items" if isinstance(value, list) else "keys"
        return f"{'[…]' if isinstance(value, list) else '{…}'} ({len(value)} {kind})"
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + "…"


def readable_message(message: str, instance: Any) -> str:
    """The library's message with the checked value shortened, and never longer than a paragraph."""
    if len(message) > MESSAGE_CHARS:
        message = message.replace(repr(instance), brief(instance))
    return message if len(message) <= MESSAGE_CHARS else message[: MESSAGE_CHARS - 1] + "…"
