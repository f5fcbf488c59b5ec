"""What a reader types to get an implementation: one install line (or snippet, or link) per distribution.

An Implementation's ``distributions`` (CSPA 2.0 Annex 1, Implementation Description: where the
implementation can be obtained) are typed by the ecosystem they are published in. Each kind has its own
command; the descriptor schema's patterns on package, group, artifact, image and version are what make
these lines safe to show for copying. This module checks the same patterns again before it builds a line,
so a value that did not pass the validator (an old stored version, a direct call) never becomes a command:
it is left out instead. The page escapes every line as text (Jinja autoescape).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ECOSYSTEMS = ("cran", "pypi", "maven", "npm", "nuget", "container", "download")
"""The kinds of distribution, in the schema's order."""

LABELS = {
    "cran": "CRAN (R)",
    "pypi": "PyPI (Python)",
    "maven": "Maven (Java)",
    "npm": "npm (JavaScript)",
    "nuget": "NuGet (.NET)",
    "container": "Container image",
    "download": "Download",
}
"""Each kind as a reader knows it."""

# The schema's own patterns (schemas/cspa-service-descriptor.schema.json, $defs/distribution), per kind.
_CRAN = re.compile(r"[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9]")
_PYPI = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_NPM = re.compile(r"(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*")
_NUGET = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_MAVEN_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
_IMAGE = re.compile(
    r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?"
)
_URL = re.compile(r"https?://[^\s<>\"'`]+")


@dataclass(frozen=True)
class Instruction:
    """How to get one distribution: the kind, a label, the text to copy (None for a plain link), where the
    package's page is, and the language of the text (for the page's code block)."""

    kind: str
    label: str
    command: str | None
    url: str | None
    language: str
    one_line: str | None = None
    """The command on one line where the block is longer (a Maven artefact: `mvn dependency:get`), for
    exports with one cell per distribution."""

    @property
    def lines(self) -> int:
        """How many lines the command takes (a Maven dependency is a block)."""
        return (self.command or "").count("\n") + 1


def _ok(pattern: re.Pattern[str], value: Any, limit: int = 400) -> str | None:
    return value if isinstance(value, str) and len(value) <= limit and pattern.fullmatch(value) else None


def _version(entry: Mapping[str, Any]) -> str | None:
    return _ok(_VERSION, entry.get("version"))


def _cran(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    package = _ok(_CRAN, entry.get("package"))
    if package is None:
        return None
    # install.packages() takes no version; remotes::install_version() would, but needs another package.
    return f'install.packages("{package}")', "r"


def _pypi(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    package = _ok(_PYPI, entry.get("package"))
    if package is None:
        return None
    version = _version(entry)
    return f"pip install {package}=={version}" if version else f"pip install {package}", "shell"


def _npm(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    package = _ok(_NPM, entry.get("package"))
    if package is None:
        return None
    version = _version(entry)
    return f"npm install {package}@{version}" if version else f"npm install {package}", "shell"


def _nuget(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    package = _ok(_NUGET, entry.get("package"))
    if package is None:
        return None
    version = _version(entry)
    command = f"dotnet add package {package}"
    return f"{command} --version {version}" if version else command, "shell"


def _maven(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    group, artifact = _ok(_MAVEN_PART, entry.get("group")), _ok(_MAVEN_PART, entry.get("artifact"))
    if group is None or artifact is None:
        return None
    version = _version(entry)
    lines = ["<dependency>", f"  <groupId>{group}</groupId>", f"  <artifactId>{artifact}</artifactId>"]
    if version:
        lines.append(f"  <version>{version}</version>")
    lines.append("</dependency>")
    return "\n".join(lines), "xml"


def _container(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    image = _ok(_IMAGE, entry.get("image"))
    return (f"docker pull {image}", "shell") if image else None


_BUILDERS = {
    "cran": _cran,
    "pypi": _pypi,
    "npm": _npm,
    "nuget": _nuget,
    "maven": _maven,
    "container": _container,
}


def maven_coordinate(entry: Mapping[str, Any]) -> str | None:
    """group:artifact[:version] of a Maven distribution (the form `mvn dependency:get -Dartifact=` takes)."""
    group, artifact = _ok(_MAVEN_PART, entry.get("group")), _ok(_MAVEN_PART, entry.get("artifact"))
    if group is None or artifact is None:
        return None
    version = _version(entry)
    return f"{group}:{artifact}:{version}" if version else f"{group}:{artifact}"


def instruction(entry: Mapping[str, Any]) -> Instruction | None:
    """How to get one distribution, or None when it is not one the schema allows."""
    kind = entry.get("kind")
    if kind not in ECOSYSTEMS:
        return None
    url = _ok(_URL, entry.get("url"), 2000)
    if ("url" in entry and url is None) or ("version" in entry and _version(entry) is None):
        return None  # a value the schema refuses spoils the whole entry, never just disappears from it
    if kind == "download":
        return Instruction(kind, LABELS[kind], None, url, "text", url) if url else None
    built = _BUILDERS[str(kind)](entry)
    if built is None:
        return None
    command, language = built
    coordinate = maven_coordinate(entry) if kind == "maven" else None
    one_line = f"mvn dependency:get -Dartifact={coordinate}" if coordinate else command
    return Instruction(str(kind), LABELS[str(kind)], command, url, language, one_line)


def instructions(content: Mapping[str, Any]) -> list[Instruction]:
    """How to get the implementation a descriptor (or its bundle) describes, in the order it lists them."""
    implementation = content.get("implementation")
    entries = implementation.get("distributions") if isinstance(implementation, Mapping) else None
    if not isinstance(entries, list):
        return []
    found = (instruction(entry) for entry in entries if isinstance(entry, Mapping))
    return [item for item in found if item is not None]


def ecosystems(content: Mapping[str, Any]) -> list[str]:
    """The kinds of distribution a descriptor lists, each once, in the schema's order (search facets)."""
    implementation = content.get("implementation")
    entries = implementation.get("distributions") if isinstance(implementation, Mapping) else None
    kinds = {entry.get("kind") for entry in entries or [] if isinstance(entry, Mapping)}
    return [kind for kind in ECOSYSTEMS if kind in kinds]
