"""A command-line interface (CSPA 2.0 Implementation Guidance §II.5: a service may be invoked by a command line
run on an operating system the platform reaches): its commands are its operations.

The descriptor schema shapes it; here are the checks a schema cannot make: no command or argument named twice,
a format on every file, and a GSIM 1.2 object on a file where one is named.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from catalogue import reference
from catalogue.exceptions import Problem
from catalogue.services.interfaces.declared import INTERFACE_POINTER, Operation
from catalogue.services.json_pointer import join as join_pointer
from catalogue.services.readable import brief

POINTER = f"{INTERFACE_POINTER}/command_line"
LABEL = "command-line"


def _at(*path: Any) -> str:
    return join_pointer(POINTER, path)


def commands(interface: Any) -> list[tuple[int, dict[str, Any]]]:
    """(index, command) for every command that is an object with a name."""
    listed = interface.get("commands") if isinstance(interface, dict) else None
    return [
        (i, command)
        for i, command in enumerate(listed if isinstance(listed, list) else ())
        if isinstance(command, dict) and isinstance(command.get("name"), str)
    ]


def duplicates(items: Any, path: tuple[Any, ...], what: str) -> Iterator[Problem]:
    """An error for every item of the list whose name an earlier item already has."""
    seen: dict[str, int] = {}
    for i, item in enumerate(items if isinstance(items, list) else ()):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            message = f"{what} {brief(name)} is given twice; each needs a name of its own"
            yield Problem(_join(path, i, "name"), message, "interface")
        seen.setdefault(name, i)


def _join(path: tuple[Any, ...], *more: Any) -> str:
    return join_pointer(path[0], (*path[1:], *more))


def gsim_problems(file: dict[str, Any], pointer: str) -> Iterator[Problem]:
    """The file's GSIM object, when it names one, must be a GSIM 1.2 object."""
    name = file.get("gsim")
    if isinstance(name, str) and reference.gsim().lookup(name) is None:
        hint = reference.gsim().suggest(name)
        message = f"{brief(name)} is not a GSIM 1.2 object" + (f"; did you mean {hint!r}?" if hint else "")
        yield Problem(pointer + "/gsim", message, "reference")


def _file_problems(command: dict[str, Any], i: int) -> Iterator[Problem]:
    for side in ("inputs", "outputs"):
        files = command.get(side)
        for j, file in enumerate(files if isinstance(files, list) else ()):
            if not isinstance(file, dict):
                continue
            pointer = _at("commands", i, side, j)
            if isinstance(file.get("format"), str) and not file["format"].strip():
                yield Problem(
                    pointer + "/format", "give the file's format, such as text/csv or SDMX-ML 2.1", "interface"
                )
            yield from gsim_problems(file, pointer)
        yield from duplicates(files, (POINTER, "commands", i, side), "the file")


def problems(interface: Any) -> list[Problem]:
    """Every problem of a command-line interface the schema cannot see."""
    if not isinstance(interface, dict):
        return []
    found = list(duplicates(interface.get("commands"), (POINTER, "commands"), "the command"))
    for i, command in commands(interface):
        found.extend(duplicates(command.get("arguments"), (POINTER, "commands", i, "arguments"), "the argument"))
        found.extend(_file_problems(command, i))
    return found


def operations(interface: Any) -> list[Operation]:
    """The commands, by name (the first of a repeated name)."""
    found: dict[str, Operation] = {}
    for i, command in commands(interface):
        found.setdefault(command["name"], Operation(command["name"], _at("commands", i)))
    return list(found.values())
