"""CSPA compliance: a checklist of criteria, each pass / fail / not applicable with a reason, and a score."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml

from catalogue import resources
from catalogue.services.validation import OPENAPI_POINTER, Report, openapi_operations

_CRITERIA_FILE = resources.COMPLIANCE_FILE
_WEB_PROTOCOLS = {"REST", "SOAP", "GraphQL", "gRPC"}


@dataclass(frozen=True)
class Item:
    """The outcome of one criterion."""

    id: str
    layer: str
    title: str
    outcome: str  # pass | fail | not_applicable
    reason: str


@dataclass
class ComplianceReport:
    """All criteria for one version, and the share of applicable ones that pass (0-100)."""

    items: list[Item] = field(default_factory=list)

    @property
    def score(self) -> int:
        """Percentage of applicable criteria that pass."""
        applicable = [i for i in self.items if i.outcome != "not_applicable"]
        if not applicable:
            return 0
        return round(100 * sum(i.outcome == "pass" for i in applicable) / len(applicable))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form stored with each version."""
        return {"score": self.score, "items": [vars(i) for i in self.items]}


@cache
def criteria() -> list[dict[str, str]]:
    """The criteria's texts, from catalogue/reference/compliance.yaml."""
    return yaml.safe_load(_CRITERIA_FILE.read_text("utf-8"))["criteria"]  # type: ignore[no-any-return]


Outcome = tuple[str, dict[str, Any]]  # ("pass" | "fail" | "not_applicable", words for the template)


def _section(content: dict[str, Any], key: str) -> dict[str, Any]:
    value = content.get(key)
    return value if isinstance(value, dict) else {}


def _definition_complete(c: dict[str, Any], _r: Report) -> Outcome:
    d = _section(c, "definition")
    missing = [k.replace("_", " ") for k in ("name", "purpose", "business_function", "outcomes") if not d.get(k)]
    return ("fail", {"missing": ", ".join(missing)}) if missing else ("pass", {})


def _errors_under(report: Report, prefix: str) -> list[str]:
    return [p.message for p in report.errors if p.pointer == prefix or p.pointer.startswith(prefix + "/")]


def _gsbpm_aligned(c: dict[str, Any], r: Report) -> Outcome:
    codes = _section(c, "definition").get("gsbpm") or []
    if not codes or _errors_under(r, "/definition/gsbpm"):
        return "fail", {}
    return "pass", {"count": len(codes)}


def _gsim_information(c: dict[str, Any], r: Report) -> Outcome:
    d = _section(c, "definition")
    if not d.get("inputs") or not d.get("outputs"):
        return "fail", {"problem": "Inputs and outputs are not both described."}
    wrong = _errors_under(r, "/definition/inputs") + _errors_under(r, "/definition/outputs")
    if wrong:
        return "fail", {"problem": wrong[0]}
    return "pass", {}


def _openapi(c: dict[str, Any]) -> Any:
    return _section(_section(c, "specification"), "interface").get("openapi")


def _interface_described(c: dict[str, Any], r: Report) -> Outcome:
    if not isinstance(_openapi(c), dict):
        return "fail", {"problem": "No OpenAPI interface is given."}
    wrong = _errors_under(r, OPENAPI_POINTER)
    if wrong:
        return "fail", {"problem": f"The OpenAPI document has {len(wrong)} error(s)."}
    return "pass", {}


def _operations_documented(c: dict[str, Any], r: Report) -> Outcome:
    doc = _openapi(c)
    if not isinstance(doc, dict):
        return "not_applicable", {}
    operations = _section(c, "specification").get("operations") or []
    if not operations:
        return "fail", {"problem": "The specification lists no operations."}
    if any(not (isinstance(o, dict) and o.get("description")) for o in operations):
        return "fail", {"problem": "Some operations have no description."}
    if _errors_under(r, "/specification/operations"):
        return "fail", {"problem": "Some listed operations are not in the OpenAPI document."}
    unlisted = len(openapi_operations(doc)) - len(operations)
    if unlisted > 0:
        return "fail", {"problem": f"{unlisted} OpenAPI operation(s) are not listed."}
    return "pass", {"count": len(operations)}


def _standard_protocol(c: dict[str, Any], _r: Report) -> Outcome:
    protocol = _section(c, "specification").get("protocol")
    if protocol in _WEB_PROTOCOLS:
        return "pass", {"protocol": protocol}
    if protocol:
        return "fail", {"problem": f"It is used as a {protocol}, not called as a service over a network protocol."}
    return "fail", {"problem": "No protocol is given."}


def _open_licence(c: dict[str, Any], r: Report) -> Outcome:
    licence = _section(c, "implementation").get("licence")
    if not licence:
        return "fail", {"problem": "No licence is given."}
    if _errors_under(r, "/implementation/licence"):
        return "fail", {"problem": "The licence is not an SPDX identifier."}
    if str(licence).startswith("LicenseRef-"):
        return "fail", {"problem": f"{licence} is not a standard licence: the terms of reuse are not clear."}
    return "pass", {"licence": licence}


def _present(section: str, key: str) -> Callable[[dict[str, Any], Report], Outcome]:
    def check(c: dict[str, Any], _r: Report) -> Outcome:
        return ("pass", {}) if _section(c, section).get(key) else ("fail", {})

    return check


def _deployment_described(c: dict[str, Any], _r: Report) -> Outcome:
    i = _section(c, "implementation")
    missing = [k for k in ("technology", "deployment") if not i.get(k)]
    return ("fail", {"missing": ", ".join(missing)}) if missing else ("pass", {})


def _maturity_stated(c: dict[str, Any], _r: Report) -> Outcome:
    maturity = _section(c, "implementation").get("maturity")
    return ("pass", {"maturity": maturity}) if maturity else ("fail", {})


def _contact(c: dict[str, Any], _r: Report) -> Outcome:
    return ("pass", {}) if c.get("contacts") else ("fail", {})


_CHECKS: dict[str, Callable[[dict[str, Any], Report], Outcome]] = {
    "definition-complete": _definition_complete,
    "gsbpm-aligned": _gsbpm_aligned,
    "gsim-information": _gsim_information,
    "interface-described": _interface_described,
    "operations-documented": _operations_documented,
    "standard-protocol": _standard_protocol,
    "open-licence": _open_licence,
    "documentation": _present("implementation", "documentation"),
    "source-available": _present("implementation", "source"),
    "deployment-described": _deployment_described,
    "maturity-stated": _maturity_stated,
    "contact": _contact,
}


def assess(content: dict[str, Any], report: Report) -> ComplianceReport:
    """Apply every criterion to a descriptor and its validation report."""
    result = ComplianceReport()
    for criterion in criteria():
        outcome, words = _CHECKS[criterion["id"]](content, report)
        template = criterion.get(outcome, "")
        result.items.append(
            Item(criterion["id"], criterion["layer"], criterion["title"], outcome, template.format(**words))
        )
    return result
