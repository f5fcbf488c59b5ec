"""CSPA compliance: a checklist of criteria, each pass / fail / not applicable with a reason, and a score.

The criteria, their words and the CSPA 2.0 section each comes from are data (catalogue/reference/compliance.yaml);
this module holds one check per criterion. Checks read the descriptor's bundle (layers.bundle): every layer
inline, whatever form the descriptor was written in. A layer the descriptor only refers to, and that is not
resolved (offline), makes its criteria not applicable, never a fail: they are checked when it is submitted.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml

from catalogue import reference, resources
from catalogue.services import layers, licences
from catalogue.services.validation import Report

_CRITERIA_FILE = resources.COMPLIANCE_FILE


@dataclass(frozen=True)
class Item:
    """The outcome of one criterion, with the CSPA text it comes from."""

    id: str
    layer: str
    title: str
    outcome: str  # pass | fail | not_applicable
    reason: str
    source: dict[str, str] = field(default_factory=dict)


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


@dataclass(frozen=True)
class Protocol:
    """How one protocol of the Specification is invoked: whether CSPA accepts it, and the interface it needs."""

    name: str
    accepted: bool
    interface: str | None = None
    form: str | None = None
    section: str | None = None
    reading: str | None = None


@dataclass(frozen=True)
class Rules:
    """Everything compliance.yaml holds besides the criteria's words."""

    protocols: dict[str, Protocol]
    method_subprocesses: frozenset[str]
    unresolved: str


@cache
def _data() -> dict[str, Any]:
    return yaml.safe_load(_CRITERIA_FILE.read_text("utf-8"))  # type: ignore[no-any-return]


def criteria() -> list[dict[str, Any]]:
    """The criteria's texts and sources, from catalogue/reference/compliance.yaml."""
    return _data()["criteria"]  # type: ignore[no-any-return]


@cache
def rules() -> Rules:
    """The protocol table, the GSBPM sub-processes that apply a statistical method, and shared words."""
    data = _data()
    protocols = {name: Protocol(name=name, **row) for name, row in data["protocols"].items()}
    return Rules(protocols, frozenset(data["method_subprocesses"]), data["unresolved"])


def sources(criterion: Mapping[str, Any]) -> list[dict[str, str]]:
    """The CSPA texts a criterion cites: its source, then any further one."""
    return [dict(criterion[key]) for key in ("source", "also") if isinstance(criterion.get(key), dict)]


def citations(item: Mapping[str, Any]) -> list[dict[str, str]]:
    """The CSPA texts to show next to a stored outcome: its criterion's sources as the catalogue has them now,
    or the source stored with the outcome when the criterion is gone."""
    criterion = next((c for c in criteria() if c["id"] == item.get("id")), None)
    if criterion is not None:
        return sources(criterion)
    stored = item.get("source")
    return [dict(stored)] if isinstance(stored, dict) and stored else []


class _Words(string.Formatter):
    """str.format, plus "{n:one/many}", which writes a count with its noun in the right number."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, int) and "/" in format_spec:
            one, many = format_spec.split("/", 1)
            return f"{value} {one if value == 1 else many}"
        return str(super().format_field(value, format_spec))


_WORDS = _Words()


def words(template: str, values: Mapping[str, Any]) -> str:
    """Fill a criterion's sentence: plain values, and counts with their noun in the right number."""
    return _WORDS.vformat(template, (), dict(values))


def count(n: int, one: str, many: str) -> str:
    """ "1 error", "2 errors": a count with its noun in the right number."""
    return f"{n} {one if n == 1 else many}"


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


Outcome = tuple[str, dict[str, Any]]  # ("pass" | "fail" | "not_applicable", words for the template)
Check = Callable[[dict[str, Any], Report], Outcome]


def _section(content: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = content.get(key)
    return value if isinstance(value, dict) else {}


def _items(content: Mapping[str, Any], key: str) -> list[Any]:
    """The list under key, or an empty one when it is missing or of the wrong type: the validation report
    names a wrong type; the criteria, which are also assessed on invalid descriptors, must not fail on it."""
    value = content.get(key)
    return value if isinstance(value, list) else []


def _errors_under(report: Report, prefix: str) -> list[str]:
    return [p.message for p in report.errors if p.pointer == prefix or p.pointer.startswith(prefix + "/")]


# --- definition ---------------------------------------------------------------------------------


def _definition_complete(c: dict[str, Any], _r: Report) -> Outcome:
    d = _section(c, "definition")
    missing = [k.replace("_", " ") for k in ("name", "purpose", "business_function", "outcomes") if not d.get(k)]
    return ("fail", {"missing": _listed(missing)}) if missing else ("pass", {})


def _gsbpm_aligned(c: dict[str, Any], r: Report) -> Outcome:
    codes = _items(_section(c, "definition"), "gsbpm")
    if not codes or _errors_under(r, "/definition/gsbpm"):
        return "fail", {}
    return "pass", {"count": len(codes)}


def _gsim_information(c: dict[str, Any], r: Report) -> Outcome:
    d = _section(c, "definition")
    if not d.get("inputs") or not d.get("outputs"):
        return "fail", {"problem": "Inputs and outputs are not both described."}
    wrong = _errors_under(r, "/definition/inputs") + _errors_under(r, "/definition/outputs")
    if wrong:
        return "fail", {"problem": _sentence(wrong[0])}
    return "pass", {}


def _sentence(message: str) -> str:
    """A validation message as a sentence on the page."""
    text = message[:1].upper() + message[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


# --- specification ------------------------------------------------------------------------------


def _protocol(c: dict[str, Any]) -> Protocol | None:
    name = _section(c, "specification").get("protocol")
    return rules().protocols.get(name) if isinstance(name, str) else None


def _invocation_protocol(c: dict[str, Any], _r: Report) -> Outcome:
    protocol = _protocol(c)
    if protocol is None:
        return "fail", {"problem": "No protocol for invoking the service is given."}
    if not protocol.accepted:
        accepted = _listed([p.name for p in rules().protocols.values() if p.accepted])
        return "fail", {
            "problem": f"{protocol.name} is not among the ways the CSPA 2.0 Implementation Guidance names "
            f"for invoking a service ({accepted})."
        }
    return "pass", {"protocol": protocol.name}


def _interface_described(c: dict[str, Any], r: Report) -> Outcome:
    interface = _section(_section(c, "specification"), "interface")
    protocol = _protocol(c)
    if protocol is not None and protocol.interface is None:
        return "not_applicable", {"problem": f"The catalogue has no interface form for {protocol.name}."}
    if protocol is None:
        given = [kind for kind in layers.INTERFACE_KINDS if kind in interface]
        if not given:
            return "fail", {"problem": "No interface description is given."}
        kind, form = given[0], "An interface description"
    else:
        kind, form = str(protocol.interface), str(protocol.form)
        if kind not in interface:
            return "fail", {"problem": f"It is invoked as {protocol.name}, but {form} is not given."}
    wrong = _errors_under(r, f"/specification/interface/{kind}")
    if wrong:
        return "fail", {"problem": f"{form[:1].upper() + form[1:]} has {count(len(wrong), 'error', 'errors')}."}
    return "pass", {"form": form[:1].upper() + form[1:]}


def _unlisted(report: Report) -> int:
    # The validator warns, at the operation's place in the interface, about each operation the interface
    # declares and the Specification does not list; those are its only warnings inside an interface.
    return sum(p.pointer.startswith("/specification/interface/") for p in report.warnings)


def _operations_documented(c: dict[str, Any], r: Report) -> Outcome:
    specification = _section(c, "specification")
    interface = _section(specification, "interface")
    protocol = _protocol(c)
    expected = protocol.interface if protocol is not None else None
    if not interface or (expected is not None and expected not in interface) or (protocol and not expected):
        return "not_applicable", {}
    operations = _items(specification, "operations")
    if not operations:
        return "fail", {"problem": "The specification lists no operations."}
    undescribed = sum(not (isinstance(o, dict) and o.get("description")) for o in operations)
    if undescribed:
        return "fail", {"problem": f"{count(undescribed, 'operation has', 'operations have')} no description."}
    missing = _errors_under(r, "/specification/operations")
    if missing:
        return "fail", {"problem": _sentence(missing[0])}
    unlisted = _unlisted(r)
    if unlisted:
        noun = count(unlisted, "operation of the interface is", "operations of the interface are")
        return "fail", {"problem": f"{noun} not listed in the specification."}
    return "pass", {"count": len(operations)}


def _message_problem(side: str, messages: Any) -> str | None:
    label = "input" if side == "input_messages" else "output"
    if not isinstance(messages, list) or not messages:
        return f"No {label} message is described."
    gsim = reference.gsim()
    for i, message in enumerate(messages, start=1):
        message = message if isinstance(message, dict) else {}
        name = message.get("gsim")
        if not isinstance(name, str) or gsim.lookup(name) is None:
            hint = gsim.hint(name) if isinstance(name, str) else ""
            return f"{label.capitalize()} message {i} names {name!r}, not a GSIM 1.2 object" + (
                f": {hint}." if hint else "."
            )
        if not message.get("format"):
            return f"{label.capitalize()} message {i} has no format."
    return None


def _messages_described(c: dict[str, Any], _r: Report) -> Outcome:
    specification = _section(c, "specification")
    for side in ("input_messages", "output_messages"):
        problem = _message_problem(side, specification.get(side))
        if problem:
            return "fail", {"problem": problem}
    return "pass", {"inputs": len(specification["input_messages"]), "outputs": len(specification["output_messages"])}


def _methodologies_stated(c: dict[str, Any], _r: Report) -> Outcome:
    codes = [code for code in _items(_section(c, "definition"), "gsbpm") if isinstance(code, str)]
    methods = sorted(set(codes) & rules().method_subprocesses)
    named = _items(_section(c, "specification"), "methodologies")
    if named:
        return "pass", {"count": len(named)}
    if not codes:
        return "not_applicable", {"codes": "no GSBPM sub-process"}
    if methods:
        return "fail", {"codes": "GSBPM " + _listed(methods)}
    return "not_applicable", {"codes": "GSBPM " + _listed(sorted(codes))}


# --- implementation -----------------------------------------------------------------------------


def _open_licence(c: dict[str, Any], r: Report) -> Outcome:
    licence = _section(c, "implementation").get("licence")
    if not isinstance(licence, str) or not licence:
        return "fail", {"problem": "No licence is given."}
    if _errors_under(r, licences.POINTER) or licences.problem(licence):
        return "fail", {"problem": f"{licence!r} is not an SPDX licence identifier or expression."}
    found = licences.openness(licence)
    if found.open:
        return "pass", {"licence": licence}
    closed = _listed(list(found.closed))
    if all(key.startswith("LicenseRef-") for key in found.closed):
        return "fail", {
            "problem": f"{closed} is not a licence in the SPDX list, so its terms of reuse cannot be judged. "
            f"A work in the public domain, such as a US Government work, is declared as {licences.PUBLIC_DOMAIN}."
        }
    return "fail", {
        "problem": f"{closed} is neither OSI-approved nor FSF-libre in the SPDX licence list: "
        "it does not let others freely use, change and share the software."
    }


def _present(section: str, key: str) -> Check:
    def check(c: dict[str, Any], _r: Report) -> Outcome:
        return ("pass", {}) if _section(c, section).get(key) else ("fail", {})

    return check


def _builder_named(c: dict[str, Any], _r: Report) -> Outcome:
    i = _section(c, "implementation")
    builder = i.get("builder") or i.get("owner_name")
    return ("pass", {"builder": builder}) if builder else ("fail", {"owner": i.get("owner") or "of the owner"})


def _software_version(c: dict[str, Any], _r: Report) -> Outcome:
    version = _section(c, "implementation").get("software_version")
    return ("pass", {"version": version}) if version else ("fail", {})


def _deployment_described(c: dict[str, Any], _r: Report) -> Outcome:
    i = _section(c, "implementation")
    missing = [k for k in ("technology", "deployment") if not i.get(k)]
    return ("fail", {"missing": _listed(missing)}) if missing else ("pass", {})


def _technical_requirements(c: dict[str, Any], _r: Report) -> Outcome:
    requirements = _items(_section(c, "implementation"), "requirements")
    return ("pass", {"count": len(requirements)}) if requirements else ("fail", {})


def _installation_described(c: dict[str, Any], _r: Report) -> Outcome:
    i = _section(c, "implementation")
    distributions = _items(i, "distributions")
    if distributions:
        kinds = sorted({str(d["kind"]) for d in distributions if isinstance(d, dict) and d.get("kind")})
        where = f" from {_listed(kinds)}" if kinds else ""
        return "pass", {"how": f"Published as {count(len(distributions), 'distribution', 'distributions')}{where}."}
    if i.get("installation"):
        return "pass", {"how": "Installation instructions are given."}
    return "fail", {}


def _formats_stated(c: dict[str, Any], _r: Report) -> Outcome:
    formats = _section(_section(c, "implementation"), "formats")
    missing = [
        label for key, label in (("accepts", "formats read"), ("produces", "formats written")) if not formats.get(key)
    ]
    if missing:
        return "fail", {"missing": _listed(missing)}
    return "pass", {"accepts": len(formats["accepts"]), "produces": len(formats["produces"])}


def _maturity_stated(c: dict[str, Any], _r: Report) -> Outcome:
    maturity = _section(c, "implementation").get("maturity")
    return ("pass", {"maturity": maturity}) if maturity else ("fail", {})


def _contact(c: dict[str, Any], _r: Report) -> Outcome:
    return ("pass", {}) if c.get("contacts") else ("fail", {})


CHECKS: dict[str, Check] = {
    "definition-complete": _definition_complete,
    "gsbpm-aligned": _gsbpm_aligned,
    "gsim-information": _gsim_information,
    "invocation-protocol": _invocation_protocol,
    "interface-described": _interface_described,
    "operations-documented": _operations_documented,
    "messages-described": _messages_described,
    "methodologies-stated": _methodologies_stated,
    "open-licence": _open_licence,
    "documentation": _present("implementation", "documentation"),
    "source-available": _present("implementation", "source"),
    "builder-named": _builder_named,
    "software-version": _software_version,
    "deployment-described": _deployment_described,
    "technical-requirements": _technical_requirements,
    "installation-described": _installation_described,
    "formats-stated": _formats_stated,
    "maturity-stated": _maturity_stated,
    "contact": _contact,
}
"""One check per criterion of compliance.yaml (a test checks both ways)."""


def _unresolved(bundle: Mapping[str, Any], layer: str) -> bool:
    """Whether layer is known only by a reference not resolved here (offline)."""
    if layer == "definition" and "definition" not in bundle:
        # A descriptor that refers to its Specification gets the Definition through it.
        return "ref" in _section(bundle, "specification")
    return layer in layers.KINDS and "ref" in _section(bundle, layer)


def assess(
    content: dict[str, Any], report: Report, resolved: Mapping[str, Mapping[str, Any]] | None = None
) -> ComplianceReport:
    """Apply every criterion to a descriptor's bundle and its validation report.

    ``resolved`` maps a layer kind to the content of the layer its reference points to (see layers.bundle);
    a layer referred to and not resolved makes its criteria not applicable.
    """
    bundle = layers.bundle(content, resolved)
    result = ComplianceReport()
    for criterion in criteria():
        layer = criterion["layer"]
        unresolved = [kind for kind in (layer, *criterion.get("needs", ())) if _unresolved(bundle, kind)]
        if unresolved:
            outcome, reason = "not_applicable", words(rules().unresolved, {"layer": unresolved[0]})
        else:
            outcome, values = CHECKS[criterion["id"]](bundle, report)
            reason = words(criterion.get(outcome, ""), values)
        result.items.append(
            Item(criterion["id"], layer, criterion["title"], outcome, reason, dict(criterion.get("source") or {}))
        )
    return result


@dataclass(frozen=True)
class Tally:
    """How many descriptors pass, fail and are not applicable for one criterion, and which ones fail."""

    id: str
    passed: int
    failed: int
    not_applicable: int
    failing: tuple[str, ...]


def tally(reports: Mapping[str, ComplianceReport]) -> list[Tally]:
    """Per criterion, in the criteria's order: the counts of each outcome over named reports, and the names failing."""
    rows = []
    for criterion in criteria():
        outcomes = {
            name: next(i.outcome for i in report.items if i.id == criterion["id"]) for name, report in reports.items()
        }
        rows.append(
            Tally(
                criterion["id"],
                sum(o == "pass" for o in outcomes.values()),
                sum(o == "fail" for o in outcomes.values()),
                sum(o == "not_applicable" for o in outcomes.values()),
                tuple(name for name, o in outcomes.items() if o == "fail"),
            )
        )
    return rows
