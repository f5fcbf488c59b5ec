"""A library interface (a package a program loads and calls in-process): its functions, classes and their
methods are its operations, named `function`, `Class` and `Class.method`.

The descriptor schema shapes it; here are the checks a schema cannot make: no function, class or method of a
class named twice, and no function named like a class.
"""

from __future__ import annotations

from typing import Any

from catalogue.exceptions import Problem
from catalogue.services.interfaces.command_line import duplicates
from catalogue.services.interfaces.declared import INTERFACE_POINTER, Operation
from catalogue.services.json_pointer import join as join_pointer
from catalogue.services.readable import brief

POINTER = f"{INTERFACE_POINTER}/library"
LABEL = "library"


def _at(*path: Any) -> str:
    return join_pointer(POINTER, path)


def _named(items: Any) -> list[tuple[int, dict[str, Any]]]:
    return [
        (i, item)
        for i, item in enumerate(items if isinstance(items, list) else ())
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    ]


def problems(interface: Any) -> list[Problem]:
    """Every problem of a library interface the schema cannot see."""
    if not isinstance(interface, dict):
        return []
    found = list(duplicates(interface.get("functions"), (POINTER, "functions"), "the function"))
    found.extend(duplicates(interface.get("classes"), (POINTER, "classes"), "the class"))
    classes = {item["name"] for _i, item in _named(interface.get("classes"))}
    for i, function in _named(interface.get("functions")):
        if function["name"] in classes:
            message = f"{brief(function['name'])} is given both as a function and as a class"
            found.append(Problem(_at("functions", i, "name"), message, "interface"))
    for i, item in _named(interface.get("classes")):
        found.extend(duplicates(item.get("methods"), (POINTER, "classes", i, "methods"), "the method"))
    return found


def operations(interface: Any) -> list[Operation]:
    """The functions, and each class with its methods (`Class.method`) as other names for it."""
    if not isinstance(interface, dict):
        return []
    found: dict[str, Operation] = {}
    for i, function in _named(interface.get("functions")):
        found.setdefault(function["name"], Operation(function["name"], _at("functions", i)))
    for i, item in _named(interface.get("classes")):
        methods = tuple(f"{item['name']}.{m['name']}" for _j, m in _named(item.get("methods")))
        known = found.get(item["name"])  # a name given twice is an error above; its names still count
        found[item["name"]] = Operation(
            item["name"], known.pointer if known else _at("classes", i), (*(known.aliases if known else ()), *methods)
        )
    return list(found.values())
