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


@dataclass(frozen=True)
class Gsim:
    """GSIM 1.2 information objects, looked up by a forgiving name match."""

    objects: dict[str, dict[str, Any]]
    by_key: dict[str, str]

    def lookup(self, name: str) -> str | None:
        """The official GSIM name for name, or None."""
        return self.by_key.get(normalise_name(name))

    def suggest(self, name: str) -> str | None:
        """The closest official GSIM name, for a did-you-mean."""
        match = difflib.get_close_matches(normalise_name(name), list(self.by_key), n=1, cutoff=0.6)
        return self.by_key[match[0]] if match else None


@cache
def gsim() -> Gsim:
    """Load catalogue/reference/gsim.yaml."""
    data = _load("gsim.yaml")
    objects = {o["name"]: {**o, "group": g["name"]} for g in data["groups"] for o in g["objects"]}
    return Gsim(objects=objects, by_key={normalise_name(n): n for n in objects})
