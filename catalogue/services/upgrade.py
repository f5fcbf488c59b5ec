"""Bringing a descriptor written to an earlier form of the contract to the current one (`catalogue upgrade`).

Every descriptor valid before linked layers is still valid and read the same (layers.bundle moves its
dependencies): upgrading only rewrites it in the current form, so that what is written is what is meant.
Today that is one move: Service dependencies belong to the Definition (CSPA 2.0 Annex 1, Statistical Service
Definition template), where earlier descriptors put them in the Specification. Everything else is kept: the
format, and for YAML the comments, key order and layout (a round trip through ruamel.yaml).
"""

from __future__ import annotations

import io
import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap


@dataclass
class Upgrade:
    """The descriptor's text in the current form, and what changed (empty when nothing did)."""

    text: str
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was left as it is, and why."""

    @property
    def changed(self) -> bool:
        """Whether the text was rewritten."""
        return bool(self.changes)


_KEPT = "kept specification.dependencies: the definition is referred to, so its owner states its dependencies"


def _move_dependencies(content: MutableMapping[str, Any], mapping: type[MutableMapping[str, Any]]) -> list[str]:
    """Move specification.dependencies to definition.dependencies (merged, without repeating an item)."""
    specification, definition = content.get("specification"), content.get("definition")
    if not isinstance(specification, MutableMapping) or "dependencies" not in specification:
        return []
    if "ref" in specification:
        return []  # a reference holds no dependencies (the schema refuses them)
    if definition is None:
        definition = content["definition"] = mapping()
    if not isinstance(definition, MutableMapping) or "ref" in definition:
        return [_KEPT]
    moved = specification.pop("dependencies")
    kept = definition.get("dependencies")
    merged = kept if isinstance(kept, list) else []
    count = 0
    for item in moved if isinstance(moved, list) else []:
        if item not in merged:
            merged.append(item)
            count += 1
    definition["dependencies"] = merged
    plural = "dependency" if count == 1 else "dependencies"
    return [f"moved {count} {plural} from specification.dependencies to definition.dependencies"]


def upgrade(text: str, fmt: str) -> Upgrade:
    """The descriptor text brought to the current form, in its own format; unchanged text when it is current.

    Raises ValueError when the text is not a YAML or JSON mapping (the validator says why in detail).
    """
    if fmt == "json":
        content = json.loads(text)
        if not isinstance(content, dict):
            raise ValueError("the descriptor is not a JSON object")
        changes = _move_dependencies(content, dict)
        if not changes or changes == [_KEPT]:
            return Upgrade(text, notes=changes)
        return Upgrade(json.dumps(content, indent=2, ensure_ascii=False) + "\n", changes)
    yaml = YAML()  # round trip: comments, order and quoting are kept
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line that was not folded
    content = yaml.load(text)
    if not isinstance(content, CommentedMap):
        raise ValueError("the descriptor is not a YAML mapping")
    changes = _move_dependencies(content, CommentedMap)
    if not changes or changes == [_KEPT]:
        return Upgrade(text, notes=changes)
    out = io.StringIO()
    yaml.dump(content, out)
    return Upgrade(out.getvalue(), changes)
