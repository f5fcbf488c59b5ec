"""JSON pointers (RFC 6901) and the local references (``#/...``) that carry them inside one document.

A pointer is a list of tokens, each written with ``~`` as ``~0`` and ``/`` as ``~1``. A reference such as
``$ref: "#/components/responses/Ok%20Reply"`` is a URI fragment, so it is percent-decoded first (RFC 3986,
as RFC 6901 section 6 asks) and only then read as a pointer. The validator, the service page's reading of an
OpenAPI document and the comparison of two versions all follow references through this module, so a
reference that passes validation is followed the same way everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote

from catalogue.services.readable import brief

_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")  # RFC 6901: no sign, no leading zero, ASCII digits only
_BAD_ESCAPE = re.compile(r"~(?![01])")  # RFC 6901: a ~ is only ever written as ~0 or ~1


class PointerError(LookupError):
    """A pointer that is not well formed, or that leads to nothing in the document."""


class NotLocal(PointerError):
    """A reference to another document (a URL or a file name): never fetched or opened."""


def escape(token: str) -> str:
    """One token written for a pointer: ``~`` as ``~0``, ``/`` as ``~1``."""
    return token.replace("~", "~0").replace("/", "~1")


def join(base: str, parts: Iterable[Any]) -> str:
    """The pointer of parts (keys and indexes) below the pointer base."""
    return base + "".join("/" + escape(str(part)) for part in parts)


def tokens(pointer: str) -> list[str]:
    """The tokens of a pointer, unescaped; ``""`` (the whole document) has none."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PointerError(f"{pointer!r} is not a JSON pointer: it must be empty or start with /")
    found = []
    for raw in pointer[1:].split("/"):
        if _BAD_ESCAPE.search(raw):
            raise PointerError(f"{pointer!r} is not a JSON pointer: ~ must be followed by 0 or 1")
        # ~1 first, then ~0: "~01" is the text "~1", not "/".
        found.append(raw.replace("~1", "/").replace("~0", "~"))
    return found


def is_local(ref: str) -> bool:
    """Whether a reference stays inside its document (a fragment, ``#...``): the only kind ever followed."""
    return ref.startswith("#")


def fragment(ref: str) -> str:
    """The pointer a local reference holds: its fragment, percent-decoded.

    Raises NotLocal for any other reference, UnicodeDecodeError when the decoded bytes are not UTF-8.
    """
    if not is_local(ref):
        raise NotLocal(f"{ref!r} refers to another document")
    return unquote(ref[1:], errors="strict")


def resolve(document: Any, pointer: str) -> Any:
    """The value at pointer in document; PointerError when the pointer is malformed or leads to nothing."""
    target = document
    path = tokens(pointer)
    for depth, token in enumerate(path):
        if isinstance(target, dict) and token in target:
            target = target[token]
        elif isinstance(target, list) and _ARRAY_INDEX.fullmatch(token) and int(token) < len(target):
            target = target[int(token)]
        else:
            raise PointerError(f"nothing is at {join('', path[: depth + 1])!r}")
    return target


def follow(document: Any, ref: str) -> Any:
    """The value a local reference (``#`` and a pointer) points to in document.

    Raises NotLocal for a reference to another document, PointerError when it leads to nothing.
    """
    try:
        pointer = fragment(ref)
    except UnicodeDecodeError:
        raise PointerError(f"{ref!r} has percent-escapes that are not UTF-8 text") from None
    return resolve(document, pointer)


def last_token(ref: str) -> str | None:
    """The name a reference ends with, decoded (``#/components/schemas/Ok%20Reply`` → ``Ok Reply``), or None."""
    try:
        found = tokens(fragment(ref))
    except (PointerError, UnicodeDecodeError):
        return None
    return found[-1] if found else None


def references(document: Any) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every ``$ref`` in a JSON value, with the path (keys and indexes) of the object that holds it."""
    todo: list[tuple[Any, tuple[Any, ...]]] = [(document, ())]
    while todo:
        item, path = todo.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                yield path, ref
            todo.extend((v, (*path, k)) for k, v in item.items())
        elif isinstance(item, list):
            todo.extend((v, (*path, i)) for i, v in enumerate(item))


def unfollowed_references(document: Any, within: str) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Each ``$ref`` of document that cannot be followed inside it, with the path of the object that holds it
    and why, in plain words (within names the document: "schema", "document"): one pointing elsewhere, which
    is never fetched or opened, or one that resolves to nothing."""
    for path, ref in references(document):
        try:
            follow(document, ref)
        except NotLocal:
            yield (
                path,
                (
                    f"the reference {brief(ref)} points outside the {within}; only local references (#/...) are "
                    "allowed, and it was not fetched or opened"
                ),
            )
        except PointerError:
            yield path, f"the reference {brief(ref)} does not resolve to anything in the {within}"


def texts(value: Any) -> Iterator[tuple[str, str, bool]]:
    """Every key and string in a JSON value, as (pointer, text, is_key); a key comes before what it holds.

    A loop, not recursion: JSON nested 10,000 deep must not overflow the stack.
    """
    todo: list[tuple[Any, str]] = [(value, "")]
    while todo:
        item, pointer = todo.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                inner = f"{pointer}/{escape(str(key))}"
                yield inner, str(key), True
                todo.append((child, inner))
        elif isinstance(item, list):
            todo.extend((child, f"{pointer}/{index}") for index, child in enumerate(item))
        elif isinstance(item, str):
            yield pointer, item, False
