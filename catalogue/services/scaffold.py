"""A descriptor skeleton from a bare OpenAPI document, or for a library or a command-line program, for a
submitter to complete.

What the document states is filled in: the id and name from info.title, the version from
info.version (as a semantic version), protocol REST, the document itself inline, one operation per
operationId (with its summary), and the description, contact and documentation the document gives.
Everything else is present as `~  # TODO: ...`: a null the validator flags until a value replaces it.
Operations without an operationId are not given one (the submitter must, in the document); each is
listed in a TODO comment instead. A library or command-line skeleton (`skeleton_for`) has the same
Definition, Implementation and contacts, and the interface description of its kind to fill in.
The CSPA 2.0 Annex 1 fields are offered where the template has them: dependencies in the Definition; input
and output messages and methodologies in the Specification; builder, software version, formats and
distributions in the Implementation.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import semver
import yaml

from catalogue.exceptions import Problem
from catalogue.services import descriptors, json_pointer
from catalogue.services.validation import HTTP_METHODS, OPENAPI_POINTER

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
_LEADING_NUMBERS = re.compile(r"^[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_UNSAFE_IN_COMMENT = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


class ScaffoldRefused(Exception):
    """The document cannot be the interface of a descriptor; problems say why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass
class Skeleton:
    """The descriptor text, and the JSON pointers of the TODO placeholders still in it."""

    text: str
    todo: list[str] = field(default_factory=list)
    unnamed_operations: list[str] = field(default_factory=list)


def service_id(title: Any) -> str | None:
    """A catalogue id from a title (lower-case words joined by hyphens), or None if none can be made."""
    if not isinstance(title, str):
        return None
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:64].strip("-")
    return slug if _ID.match(slug) else None


def semantic_version(raw: Any) -> str | None:
    """info.version as MAJOR.MINOR.PATCH ("1.0" → "1.0.0", "v2" → "2.0.0"), or None if it has no number."""
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
        return None
    text = str(raw).strip()
    try:
        return str(semver.Version.parse(text.lstrip("vV"), optional_minor_and_patch=True))
    except ValueError:
        match = _LEADING_NUMBERS.match(text)
        if match is None:
            return None
        return ".".join(str(int(part or 0)) for part in match.groups())


def _external_refs(doc: Any) -> list[Problem]:
    """Every $ref that leaves the document: the registry never fetches or opens one (nor does scaffold)."""
    problems, todo = [], [(doc, "")]
    while todo:
        item, pointer = todo.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and not json_pointer.is_local(ref):
                problems.append(
                    Problem(
                        OPENAPI_POINTER + pointer + "/$ref",
                        f"the reference {ref!r} points outside the "
                        "document; only local references (#/...) are allowed, and it was not fetched or opened",
                        "openapi",
                    )
                )
            todo.extend((v, f"{pointer}/{json_pointer.escape(str(k))}") for k, v in item.items())
        elif isinstance(item, list):
            todo.extend((v, f"{pointer}/{i}") for i, v in enumerate(item))
    return sorted(problems, key=lambda p: p.pointer)


def _is_openapi(doc: dict[str, Any]) -> bool:
    return doc.get("swagger") == "2.0" or (isinstance(doc.get("openapi"), str) and doc["openapi"].startswith("3."))


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated values out in full: anchors and aliases would puzzle a submitter editing the file."""

    def ignore_aliases(self, data: Any) -> bool:
        """Never write an alias."""
        return True


def _scalar(value: Any) -> str:
    # A JSON string is a valid YAML double-quoted scalar, with every character escaped as YAML needs.
    return json.dumps(value, ensure_ascii=False)


def _comment(text: str) -> str:
    # Text from the document goes into comments: a newline there would end the comment and inject YAML.
    return _UNSAFE_IN_COMMENT.sub(" ", text)


def _operations(doc: dict[str, Any]) -> tuple[list[tuple[str, str | None]], list[str]]:
    """(operationId, summary) of every operation that has one, and "METHOD /path" of those without."""
    named: list[tuple[str, str | None]] = []
    unnamed: list[str] = []
    seen: set[str] = set()
    paths = doc.get("paths")
    for url, item in paths.items() if isinstance(paths, dict) else []:
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            op_id = operation.get("operationId")
            if isinstance(op_id, str) and op_id:
                if op_id not in seen:
                    seen.add(op_id)
                    summary = operation.get("summary") or operation.get("description")
                    named.append((op_id, summary.strip() if isinstance(summary, str) and summary.strip() else None))
            else:
                unnamed.append(f"{method.upper()} {url}")
    return named, unnamed


class _Writer:
    """Lines of the skeleton, remembering the pointer of each TODO placeholder."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.todo: list[str] = []

    def line(self, text: str) -> None:
        """A line as it is."""
        self.lines.append(text)

    def value(self, indent: int, key: str, pointer: str, value: Any, hint: str) -> None:
        """key: value when the document gave one, else key: ~ with a TODO comment."""
        pad = " " * indent
        if value is None:
            self.todo.append(pointer)
            self.lines.append(f"{pad}{key}: ~  # TODO: {_comment(hint)}")
        else:
            self.lines.append(f"{pad}{key}: {_scalar(value)}")


def _http(value: Any) -> str | None:
    return value if isinstance(value, str) and re.match(r"^https?://\S+$", value) else None


def _part(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    """The mapping under key, or an empty one."""
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def _filled(value: Any, shortest: int = 1) -> str | None:
    """value when it is text with at least shortest characters besides spaces, else None."""
    return value if isinstance(value, str) and len(value.strip()) >= shortest else None


def _read_openapi(data: bytes | str, fmt: str, limits: descriptors.Limits | None) -> dict[str, Any]:
    """The OpenAPI document in data; ScaffoldRefused when it is not one or refers outside itself."""
    doc = descriptors.parse(data, fmt, limits).content
    if not _is_openapi(doc):
        raise ScaffoldRefused(
            [
                Problem(
                    OPENAPI_POINTER,
                    'not an OpenAPI document: it needs `openapi: "3.x.y"` or `swagger: "2.0"`',
                    "openapi",
                )
            ]
        )
    refused = _external_refs(doc)
    if refused:
        raise ScaffoldRefused(refused)
    return doc


def _write_definition(out: _Writer, doc: dict[str, Any]) -> None:
    info = _part(doc, "info")
    title = _filled(info.get("title"), shortest=2)
    out.line('cspa: "2.0"')
    out.value(
        0, "id", "/id", service_id(title), "the service's id: lower-case letters, digits and hyphens, e.g. my-service"
    )
    out.value(
        0, "version", "/version", semantic_version(info.get("version")), "the version as MAJOR.MINOR.PATCH, e.g. 1.0.0"
    )
    out.line("definition:")
    out.value(2, "name", "/definition/name", title, "a short human-readable name")
    out.value(
        2,
        "purpose",
        "/definition/purpose",
        None,
        "one or two sentences: what the service does and why an organisation would use it",
    )
    out.value(
        2,
        "description",
        "/definition/description",
        _filled(info.get("description")),
        "(optional) a longer description in Markdown: methods, scope, limits",
    )
    out.value(
        2,
        "keywords",
        "/definition/keywords",
        None,
        "(optional) a list of keywords, e.g. [record linkage, deduplication]",
    )
    out.value(2, "gsbpm", "/definition/gsbpm", None, 'the GSBPM 5.1 sub-processes the service supports, e.g. ["5.1"]')
    out.value(
        2,
        "business_function",
        "/definition/business_function",
        None,
        "the business function it performs, in the statistical domain's words",
    )
    out.value(
        2, "outcomes", "/definition/outcomes", None, "a list of the results it brings about for the statistical process"
    )
    out.value(
        2,
        "inputs",
        "/definition/inputs",
        None,
        "a list of GSIM 1.2 objects it consumes, e.g. [{gsim: Unit Data Set, description: ...}]",
    )
    out.value(
        2,
        "outputs",
        "/definition/outputs",
        None,
        "a list of GSIM 1.2 objects it produces, e.g. [{gsim: Data Set, description: ...}]",
    )
    out.value(
        2,
        "restrictions",
        "/definition/restrictions",
        None,
        "(optional) known limits: data sizes, methods not covered, legal constraints",
    )
    out.value(
        2,
        "dependencies",
        "/definition/dependencies",
        None,
        "(optional) a list of services, data or standards it needs",
    )


def _write_specification(
    out: _Writer, doc: dict[str, Any], named: list[tuple[str, str | None]], unnamed: list[str]
) -> None:
    out.line("specification:")
    out.line("  protocol: REST")
    out.line("  interface:")
    out.line("    openapi:")
    dumped = yaml.dump(
        doc, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False
    )
    out.lines.extend("      " + line for line in dumped.rstrip("\n").split("\n"))
    if named:
        out.line("  operations:")
        for index, (op_id, summary) in enumerate(named):
            out.line(f"    - id: {_scalar(op_id)}")
            out.value(
                6,
                "description",
                f"/specification/operations/{index}/description",
                summary,
                "what the operation does, in business terms",
            )
    else:
        out.value(
            2,
            "operations",
            "/specification/operations",
            None,
            "no operation of the document has an operationId: give each one an operationId there, then list them here as [{id: ..., description: ...}]",
        )
    for where in unnamed:
        out.line(
            f"    # TODO: {_comment(where)} has no operationId; give it one in the OpenAPI document, then list it here"
        )
    _write_annex_specification(out)


def _write_annex_specification(out: _Writer) -> None:
    out.value(
        2,
        "input_messages",
        "/specification/input_messages",
        None,
        "(optional) the messages it takes in, e.g. [{name: records, gsim: Unit Data Set, format: text/csv}]",
    )
    out.value(
        2,
        "output_messages",
        "/specification/output_messages",
        None,
        "(optional) the messages it gives back, e.g. [{name: links, gsim: Data Set, format: application/json}]",
    )
    out.value(
        2,
        "methodologies",
        "/specification/methodologies",
        None,
        "(optional) the statistical methods it applies, e.g. [{name: Fellegi-Sunter record linkage}]",
    )


_INTERFACE_HINTS = {
    "library": (
        "library",
        [
            ("language", "the programming language it is called from, e.g. R, Python or Java"),
            ("package", "the package a program loads, e.g. sdcMicro"),
            ("functions", "(optional) the functions it exports, e.g. [{name: createSdcObj, description: ...}]"),
        ],
    ),
    "command_line": (
        "command-line",
        [
            ("program", "the program's name as it is typed, e.g. banffprocessor"),
            (
                "commands",
                (
                    "its commands, e.g. [{name: banffprocessor, usage: banffprocessor JOB.json}]; a program "
                    "without sub-commands has one, named as the program"
                ),
            ),
        ],
    ),
}
"""The kinds of interface a skeleton can be written for without a document, with their protocol and fields."""

SKELETON_KINDS = tuple(_INTERFACE_HINTS)


def _write_described_specification(out: _Writer, kind: str) -> None:
    protocol, fields = _INTERFACE_HINTS[kind]
    out.line("specification:")
    out.line(f"  protocol: {protocol}")
    out.line("  interface:")
    out.line(f"    {kind}:")
    for name, hint in fields:
        out.value(6, name, f"/specification/interface/{kind}/{name}", None, hint)
    out.value(
        2,
        "operations",
        "/specification/operations",
        None,
        "a list of [{id: ..., description: ...}], each id a function or command of the interface",
    )
    _write_annex_specification(out)


def _write_implementation(out: _Writer, doc: dict[str, Any]) -> None:
    out.line("implementation:")
    out.value(2, "owner", "/implementation/owner", None, "your organisation's code, upper case, e.g. ISTAT")
    out.value(2, "owner_name", "/implementation/owner_name", None, "your organisation's full name")
    out.value(2, "country", "/implementation/country", None, "ISO 3166-1 alpha-2 code of the owner's country, or INT")
    out.value(
        2,
        "technology",
        "/implementation/technology",
        None,
        "a list of languages and platforms, e.g. [Java, PostgreSQL]",
    )
    licence = _part(_part(doc, "info"), "license")
    named_licence = licence.get("identifier") or licence.get("name")
    licence_hint = f" (the OpenAPI document names {named_licence!r})" if isinstance(named_licence, str) else ""
    out.value(
        2,
        "licence",
        "/implementation/licence",
        None,
        f"an SPDX licence identifier or expression, e.g. EUPL-1.2{licence_hint}",
    )
    out.value(
        2,
        "deployment",
        "/implementation/deployment",
        None,
        "a list among container, serverless, notebook, on-premises, desktop, library, web-service, cloud",
    )
    out.value(
        2,
        "documentation",
        "/implementation/documentation",
        _http(_part(doc, "externalDocs").get("url")),
        "the address of the user documentation",
    )
    out.value(2, "source", "/implementation/source", None, "(optional) the address of the source code")
    out.value(2, "maturity", "/implementation/maturity", None, "prototype, pilot or production")
    out.value(
        2,
        "builder",
        "/implementation/builder",
        None,
        "(optional) the organisation that built it, when it is not the owner",
    )
    out.value(
        2,
        "software_version",
        "/implementation/software_version",
        None,  # an OpenAPI info.version numbers the document, not the software behind it
        "the version of the software described, as its makers number it",
    )
    out.value(
        2,
        "formats",
        "/implementation/formats",
        None,
        "(optional) formats it reads and writes, e.g. {accepts: [text/csv], produces: [SDMX-ML 2.1]}",
    )
    out.value(
        2,
        "distributions",
        "/implementation/distributions",
        None,
        "(optional) where to get it, e.g. [{kind: cran, package: sdcMicro}], [{kind: pypi, package: banffprocessor}], "
        "[{kind: container, image: registry.example.org/owner/name:1.0}]",
    )


def _write_contacts(out: _Writer, doc: dict[str, Any]) -> None:
    contact = _part(_part(doc, "info"), "contact")
    out.line("contacts:")
    out.value(2, "- name", "/contacts/0/name", _filled(contact.get("name")), "the person or team to contact")
    email = contact.get("email") if isinstance(contact.get("email"), str) else None
    url = _http(contact.get("url"))
    if not email and not url:
        out.value(4, "email", "/contacts/0/email", None, "(or url:) how to reach them")
    if email:
        out.value(4, "email", "/contacts/0/email", email, "")
    if url:
        out.value(4, "url", "/contacts/0/url", url, "")


def scaffold(
    data: bytes | str, fmt: str = "yaml", limits: descriptors.Limits | None = None, source: str = "openapi.yaml"
) -> Skeleton:
    """The descriptor skeleton for an OpenAPI 2.0 or 3.x document (text in fmt, read within limits).

    Raises DescriptorError when the text cannot be read, ScaffoldRefused when it is not an OpenAPI
    document or refers outside itself.
    """
    doc = _read_openapi(data, fmt, limits)
    named, unnamed = _operations(doc)
    out = _Writer()
    out.line(f"# CSPA descriptor skeleton written by `catalogue scaffold` from {_comment(source)}.")
    out.line("# Each `~  # TODO` still needs a value (optional fields may be deleted instead);")
    out.line("# `catalogue validate` reports every one that is left.")
    _write_definition(out, doc)
    _write_specification(out, doc, named, unnamed)
    _write_implementation(out, doc)
    _write_contacts(out, doc)
    return Skeleton(text="\n".join(out.lines) + "\n", todo=out.todo, unnamed_operations=unnamed)


def skeleton_for(kind: str) -> Skeleton:
    """The descriptor skeleton of a service called through a library or a command line (kind: one of
    SKELETON_KINDS), which has no document to start from."""
    if kind not in _INTERFACE_HINTS:
        raise ValueError(f"no skeleton for interface kind {kind!r}: choose one of {', '.join(SKELETON_KINDS)}")
    out = _Writer()
    out.line(f"# CSPA descriptor skeleton written by `catalogue scaffold --kind {kind}`.")
    out.line("# Each `~  # TODO` still needs a value (optional fields may be deleted instead);")
    out.line("# `catalogue validate` reports every one that is left.")
    _write_definition(out, {})
    _write_described_specification(out, kind)
    _write_implementation(out, {})
    _write_contacts(out, {})
    return Skeleton(text="\n".join(out.lines) + "\n", todo=out.todo)
