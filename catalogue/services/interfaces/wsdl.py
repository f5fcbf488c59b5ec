"""WSDL 1.1 (SOAP services): the document read safely, its portTypes' operations, and what is wrong with it.

CSPA 2.0 Implementation Guidance (§II.3): SOAP services (WS-I) expose their documentation through WSDL. The
text is parsed with defusedxml: document type declarations, entities and external references are refused
(the billion-laughs and external-entity attacks), XInclude and imports of other files (wsdl:import,
xsd:import or xsd:include with a location) are refused, and nothing is ever fetched or opened. Every
problem points at the descriptor's `wsdl` key and names the line inside the WSDL text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from catalogue.exceptions import Problem
from catalogue.services.interfaces.declared import INTERFACE_POINTER, Operation

POINTER = f"{INTERFACE_POINTER}/wsdl"
LABEL = "WSDL"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL20_NS = "http://www.w3.org/ns/wsdl"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
MAX_DEPTH = 100
MAX_ELEMENTS = 50_000
# Elements that bring in another file, with the attribute naming it: refused, never followed.
_IMPORTS = {
    f"{{{WSDL_NS}}}import": "location",
    f"{{{XSD_NS}}}import": "schemaLocation",
    f"{{{XSD_NS}}}include": "schemaLocation",
    f"{{{XSD_NS}}}redefine": "schemaLocation",
    f"{{{XSD_NS}}}override": "schemaLocation",
}


@dataclass
class Element:
    """An XML element with the line its start tag is on (ElementTree keeps no lines)."""

    tag: str
    attrib: dict[str, str]
    line: int
    children: list[Element] = field(default_factory=list)
    text: str = ""

    @property
    def local(self) -> str:
        """The tag without its namespace."""
        return self.tag.rpartition("}")[2]

    def find(self, tag: str) -> list[Element]:
        """The children with this (namespaced) tag."""
        return [child for child in self.children if child.tag == tag]


class _TooLarge(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _Builder:
    """Builds Elements as the parser reads them, noting each start tag's line, within depth and size limits."""

    def __init__(self) -> None:
        self.parser: DefusedXMLParser | None = None
        self.stack: list[Element] = []
        self.root: Element | None = None
        self.count = 0

    def line(self) -> int:
        return int(self.parser.parser.CurrentLineNumber) if self.parser is not None else 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise _TooLarge(f"the WSDL has more than {MAX_ELEMENTS} elements", self.line())
        if len(self.stack) >= MAX_DEPTH:
            raise _TooLarge(f"the WSDL nests deeper than {MAX_DEPTH} elements", self.line())
        element = Element(tag, dict(attrib), self.line())
        if self.stack:
            self.stack[-1].children.append(element)
        else:
            self.root = element
        self.stack.append(element)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def data(self, data: str) -> None:
        # Only documentation's text is kept (and shown on the service page), up to a paragraph.
        if self.stack and self.stack[-1].local == "documentation" and len(self.stack[-1].text) < 2000:
            self.stack[-1].text += data[: 2000 - len(self.stack[-1].text)]

    def close(self) -> Element | None:
        return self.root


@dataclass(frozen=True)
class PortOperation:
    """One operation of a portType, with the messages it takes and gives."""

    port_type: str
    name: str
    input: str
    output: str
    faults: tuple[str, ...]
    documentation: str
    line: int


@dataclass(frozen=True)
class Reading:
    """What reading a WSDL text gave: its operations and its problems (each message names its line)."""

    operations: tuple[PortOperation, ...]
    problems: tuple[str, ...]
    complete: bool = True
    """False when the text could not be read, or brings in other files: its operations are then not all known."""


def _problem_at(line: int | None, message: str) -> str:
    return f"line {line} of the WSDL: {message}" if line else f"the WSDL: {message}"


_REFUSED: dict[type[Exception], str] = {
    DTDForbidden: "a document type declaration (DTD)",
    EntitiesForbidden: "an entity declaration",
    ExternalReferenceForbidden: "a reference to an external entity",
}
_NEVER = "entities, DTDs and external references are refused, never expanded or fetched"


def _parse(text: str) -> tuple[Element | None, str | None]:
    """The element tree of text, or the reason it cannot be read safely (with its line)."""
    builder = _Builder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(text)
        parser.close()
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        return None, _problem_at(builder.line(), f"{_REFUSED[type(exc)]} is not allowed; {_NEVER}")
    except _TooLarge as exc:
        return None, _problem_at(exc.line, str(exc))
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else builder.line()
        return None, _problem_at(line, f"not well-formed XML ({str(exc).split(':')[0]})")
    root = builder.root
    if root is None:
        return None, _problem_at(None, "no root element")
    return root, None


def _refused_references(root: Element) -> list[str]:
    """XInclude and imports or includes of other files, each refused with its line."""
    found = []
    todo = [root]
    while todo:
        element = todo.pop()
        todo.extend(element.children)
        if element.tag.startswith(f"{{{XINCLUDE_NS}}}"):
            found.append((element.line, "XInclude is not allowed; nothing is ever included or fetched"))
        attribute = _IMPORTS.get(element.tag)
        if attribute and element.attrib.get(attribute):
            where = element.attrib[attribute][:80]
            found.append(
                (
                    element.line,
                    (
                        f"{element.local} of {where!r} is not allowed; the WSDL must be self-contained, "
                        "and other files are never fetched or opened"
                    ),
                )
            )
    return [_problem_at(line, message) for line, message in sorted(found)]


def _local(qname: str) -> str:
    """The local part of a QName such as tns:GetData."""
    return qname.rpartition(":")[2]


def _documentation(element: Element) -> str:
    return " ".join(" ".join(child.text.split()) for child in element.find(f"{{{WSDL_NS}}}documentation"))


def _port_type_operations(root: Element, messages: set[str]) -> tuple[list[PortOperation], list[str]]:
    operations: list[PortOperation] = []
    problems: list[str] = []
    port_types = root.find(f"{{{WSDL_NS}}}portType")
    if not port_types:
        problems.append(
            _problem_at(root.line, "the definitions have no portType, so the service declares no operation")
        )
    for port_type in port_types:
        type_name = port_type.attrib.get("name", "")
        if not type_name:
            problems.append(_problem_at(port_type.line, "a portType has no name"))
        for operation in port_type.find(f"{{{WSDL_NS}}}operation"):
            name = operation.attrib.get("name", "")
            if not name:
                problems.append(_problem_at(operation.line, f"an operation of portType {type_name!r} has no name"))
                continue
            parts: dict[str, list[str]] = {}
            for role in ("input", "output", "fault"):
                for child in operation.find(f"{{{WSDL_NS}}}{role}"):
                    message = child.attrib.get("message", "")
                    if not message:
                        problems.append(_problem_at(child.line, f"the {role} of operation {name!r} names no message"))
                    elif _local(message) not in messages:
                        problems.append(
                            _problem_at(
                                child.line,
                                f"the {role} of operation {name!r} names the message "
                                f"{message!r}, which the WSDL does not define",
                            )
                        )
                    parts.setdefault(role, []).append(_local(message))
            operations.append(
                PortOperation(
                    port_type=type_name,
                    name=name,
                    input=(parts.get("input") or [""])[0],
                    output=(parts.get("output") or [""])[0],
                    faults=tuple(parts.get("fault", [])),
                    documentation=_documentation(operation),
                    line=operation.line,
                )
            )
    return operations, problems


# A few texts only: the cache spares reading one WSDL again within a validation and its page, and a text may
# be 2 MB.
@lru_cache(maxsize=4)
def read(text: str) -> Reading:
    """Read a WSDL 1.1 text: its portTypes' operations, and every problem found (never fetching anything)."""
    root, failure = _parse(text)
    if root is None:
        return Reading((), (failure or _problem_at(None, "cannot be read"),), complete=False)
    if root.tag == f"{{{WSDL20_NS}}}description":
        message = "this is WSDL 2.0; the catalogue reads WSDL 1.1 documents"
        return Reading((), (_problem_at(root.line, message),), complete=False)
    if root.tag != f"{{{WSDL_NS}}}definitions":
        message = f"the root element is {root.local!r}; a WSDL 1.1 document is a definitions element in {WSDL_NS}"
        return Reading((), (_problem_at(root.line, message),), complete=False)
    refused = _refused_references(root)
    messages = {m.attrib.get("name", "") for m in root.find(f"{{{WSDL_NS}}}message")}
    operations, problems = _port_type_operations(root, messages)
    return Reading(tuple(operations), tuple(refused + problems), complete=not refused)


def readable(text: Any) -> bool:
    """Whether the text could be read as a WSDL 1.1 document at all (so that its operations are known)."""
    if not isinstance(text, str):
        return False
    return read(text).complete


def problems(text: Any) -> list[Problem]:
    """Every problem of a WSDL text, at the descriptor's wsdl key; the message names the WSDL's line."""
    if not isinstance(text, str) or not text.strip():
        return []  # the descriptor schema reports a value of the wrong type or an empty one
    return [Problem(POINTER, message, "wsdl") for message in read(text).problems]


def operations(text: Any) -> list[Operation]:
    """The operations of the WSDL's portTypes (the first of a repeated name)."""
    if not isinstance(text, str):
        return []
    found: dict[str, Operation] = {}
    for operation in read(text).operations:
        found.setdefault(operation.name, Operation(operation.name, POINTER))
    return list(found.values())
