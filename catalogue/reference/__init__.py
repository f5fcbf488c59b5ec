"""GSBPM 5.1 and GSIM 1.2 as data files, loaded once and looked up by code or name."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from catalogue import resources

_HERE = resources.REFERENCE_DIR


def _load(name: str) -> Any:
    return yaml.safe_load((_HERE / name).read_text("utf-8"))


@dataclass(frozen=True)
class Gsbpm:
    """The GSBPM 5.1 phases and their sub-processes, keyed by code."""

    phases: dict[str, dict[str, Any]]
    subprocesses: dict[str, dict[str, Any]]


@cache
def gsbpm() -> Gsbpm:
    """Load catalogue/reference/gsbpm.yaml."""
    data = _load("gsbpm.yaml")
    phases = {p["code"]: p for p in data["phases"]}
    subs = {s["code"]: {**s, "phase": p["code"]} for p in data["phases"] for s in p["subprocesses"]}
    return Gsbpm(phases=phases, subprocesses=subs)


def normalise_name(name: str) -> str:
    """Fold case, spaces, hyphens and underscores, so "DataSet" matches GSIM's "Data Set"."""
    return re.sub(r"[\s\-_]+", "", name).casefold()


# Words are split at spaces, hyphens and underscores, and where a capital follows a small letter or digit
# ("DataSet" is "Data" and "Set").
_WORD_BREAK = re.compile(r"[\s\-_]+|(?<=[^\W_A-Z])(?=[A-Z])")


def _spelling_key(name: str, spellings: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    """normalise_name with each word's UK or US spelling folded to one form ("Organisation" = "Organization")."""
    words = []
    for word in filter(None, _WORD_BREAK.split(name)):
        folded = word.casefold()
        for pattern, replacement in spellings:
            folded = pattern.sub(replacement, folded)
        words.append(folded)
    return "".join(words)


@dataclass(frozen=True)
class Gsim:
    """GSIM 1.2 information objects, looked up by a forgiving name match."""

    objects: dict[str, dict[str, Any]]
    by_key: dict[str, str]
    renamed: dict[str, tuple[str, ...]]
    """GSIM 2.0 name (by spelling key) → the GSIM 1.2 names of the same object."""
    spellings: tuple[tuple[re.Pattern[str], str], ...]

    def key(self, name: str) -> str:
        """The key a name is looked up by: case, spaces, hyphens and UK/US spelling folded."""
        return _spelling_key(name, self.spellings)

    def lookup(self, name: str) -> str | None:
        """The official GSIM 1.2 name for name, or None."""
        return self.by_key.get(self.key(name))

    def counterparts(self, name: str) -> tuple[str, ...]:
        """The GSIM 1.2 names of an object that GSIM 2.0 calls name; empty when name is no renamed 2.0 object."""
        return self.renamed.get(self.key(name), ())

    def suggest(self, name: str) -> str | None:
        """The GSIM 1.2 name to suggest for an unknown name: its 1.2 counterpart when it is a GSIM 2.0 name,
        otherwise the closest official name."""
        counterparts = self.counterparts(name)
        if counterparts:
            return counterparts[0]
        match = difflib.get_close_matches(self.key(name), list(self.by_key), n=1, cutoff=0.6)
        return self.by_key[match[0]] if match else None

    def hint(self, name: str) -> str:
        """A sentence to add to "name is not a GSIM 1.2 object", or an empty string when there is nothing to say."""
        counterparts = self.counterparts(name)
        if counterparts:
            names = " or ".join(repr(c) for c in counterparts)
            return f"{name!r} is the GSIM 2.0 name; GSIM 1.2 calls it {names}"
        suggestion = self.suggest(name)
        return f"did you mean {suggestion!r}?" if suggestion else ""


@cache
def gsim() -> Gsim:
    """Load catalogue/reference/gsim.yaml."""
    data = _load("gsim.yaml")
    objects = {o["name"]: {**o, "group": g["name"]} for g in data["groups"] for o in g["objects"]}
    spellings = tuple((re.compile(pattern), replacement) for pattern, replacement in data.get("spellings", ()))
    renamed = {_spelling_key(new, spellings): tuple(old) for new, old in (data.get("renamed_in_2_0") or {}).items()}
    by_key = {_spelling_key(n, spellings): n for n in objects}
    return Gsim(objects=objects, by_key=by_key, renamed=renamed, spellings=spellings)
