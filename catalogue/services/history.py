"""A service's history as plain sentences that name who did what: "Ana Lima (CBS) asked for changes to
version 1.0.0: …". The events stay the audit trail; this module only words them for readers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from catalogue.auth.actors import Actor
from catalogue.events import Event
from catalogue.services.reads import Person, people, service_history

# What each kind of event says, after the person's name; {version} is the version's number.
_SAYS = {
    "version.created": "saved version {version} as a draft",
    "version.edited": "saved the draft of version {version} again",
    "version.submitted": "submitted version {version} for review",
    "version.in_review": "started reviewing version {version}",
    "version.approved": "approved version {version}",
    "version.changes_requested": "asked for changes to version {version}",
    "version.rejected": "rejected version {version}",
    "version.deprecated": "deprecated version {version}",
    "version.retired": "retired version {version}",
    "version.commented": "wrote about version {version}",
    "permission.denied": "was refused",
}


@dataclass(frozen=True)
class HistoryLine:
    """One event of a service's history with the person who caused it and a sentence saying what happened."""

    event: Event
    person: Person
    sentence: str
    comment: str

    @property
    def id(self) -> int:
        return self.event.id

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def created_at(self) -> Any:
        return self.event.created_at

    @property
    def data(self) -> dict[str, Any]:
        return self.event.data or {}


def sentence(event: Event, person: Person) -> str:
    """What happened in event, as a sentence that starts with who did it."""
    data = event.data or {}
    version = data.get("version")
    template = _SAYS.get(event.kind)
    if event.kind == "version.submitted" and data.get("to") == "approved":
        template = "added version {version}, approved"  # the seed loader and bulk import store approved versions
    if template is None:
        what = event.kind.replace(".", " ").replace("_", " ")
        said = f"{what} (version {version})" if version else what
    elif version is None and "{version}" in template:
        said = template.replace(" version {version}", " a version")
    else:
        said = template.format(version=version)
    if event.kind == "permission.denied" and data.get("detail"):
        said = f"{said}: {data['detail']}"
    text = f"{person} {said}."
    return text[0].upper() + text[1:]


def history_lines(session: Session, actor: Actor, slug: str) -> list[HistoryLine]:
    """The history of one visible service (reads.service_history), oldest first, each line worded."""
    events = service_history(session, actor, slug)
    names = people(session, [e.actor_id for e in events])
    lines = []
    for event in events:
        person = names.get(event.actor_id) or Person("someone no longer registered")
        comment = str((event.data or {}).get("comment") or "") if event.kind != "permission.denied" else ""
        lines.append(HistoryLine(event, person, sentence(event, person), comment))
    return lines
