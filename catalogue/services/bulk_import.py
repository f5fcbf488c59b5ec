"""Import a folder of descriptors: each file in a transaction of its own through workflow.submit_version,
so a refused file changes nothing and never stops the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from catalogue import exceptions
from catalogue.auth import actors
from catalogue.db import db
from catalogue.exceptions import DescriptorError, Problem
from catalogue.services import descriptors, workflow

DESCRIPTOR_SUFFIXES = (".yaml", ".yml", ".json")
"""Files of these kinds in the folder are read as descriptors; everything else is left alone."""

RESULTS = ("imported", "unchanged", "refused")


@dataclass(frozen=True)
class Outcome:
    """What became of one file: imported, unchanged (stored already) or refused, with the reason."""

    file: str
    result: str
    service: str | None = None
    version: str | None = None
    reason: str = ""
    problems: list[Problem] = field(default_factory=list)


def descriptor_files(folder: Path) -> list[Path]:
    """The descriptor files directly in folder, by name (hidden files skipped)."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in DESCRIPTOR_SUFFIXES and not p.name.startswith(".")
    )


def import_file(path: Path, actor: actors.Actor, status: str, limits: descriptors.Limits) -> Outcome:
    """Store one descriptor file as a new version in status, committed on its own; refusals are reported, not raised."""
    name = path.name
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    try:
        data = path.read_bytes()
    except OSError as error:
        return Outcome(name, "refused", reason=f"cannot read the file: {error.strerror}")
    return import_text(name, data, fmt, actor, status, limits)


def import_text(
    name: str, data: bytes, fmt: str, actor: actors.Actor, status: str, limits: descriptors.Limits
) -> Outcome:
    """Store one descriptor text (JSON or YAML) as a new version in status, committed on its own."""
    try:
        descriptor = descriptors.parse(data, fmt, limits)
    except DescriptorError as error:
        return Outcome(name, "refused", reason="the descriptor could not be read", problems=[error.problem])
    slug, label = _text(descriptor.content.get("id")), _text(descriptor.content.get("version"))
    try:
        with db.transaction() as session:
            _version, created = workflow.submit_version(session, actor, descriptor, fmt, status=status)
    except exceptions.RegistryError as error:  # a refusal is already on the audit trail (db.transaction)
        return Outcome(name, "refused", slug, label, error.detail, list(error.problems))
    return Outcome(name, "imported" if created else "unchanged", slug, label)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def summary(outcomes: list[Outcome]) -> str:
    """A plain-text table of the outcomes, refusals followed by their problems (pointer, line, message)."""
    rows = [("file", "result", "service", "reason")]
    for outcome in outcomes:
        service = (
            f"{outcome.service or '?'} {outcome.version or ''}".strip() if outcome.service or outcome.version else ""
        )
        rows.append((outcome.file, outcome.result, service, outcome.reason))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
        if index == 0:
            lines.append("  ".join("-" * width for width in widths) + "  " + "-" * 6)
            continue
        for problem in outcomes[index - 1].problems:
            where = problem.pointer or "/"
            if problem.line:
                where += f" (line {problem.line})"
            lines.append(f"    {where}: {problem.message}")
    counts = {result: sum(o.result == result for o in outcomes) for result in RESULTS}
    lines.append(", ".join(f"{count} {result}" for result, count in counts.items()))
    return "\n".join(line.rstrip() for line in lines) + "\n"
