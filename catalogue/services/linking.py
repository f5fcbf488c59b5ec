"""Linking a submitted version to its Definition and Specification (CSPA 2.0 Annex 1).

A descriptor describes each layer inline or refers to one already in the catalogue. At submission the
references are resolved against the layers the submitter may see, inline layers are matched with the layer
versions already stored under the same identity, and the version's bundle is made with every layer inline.
Nothing is written until every check passed: plan() only reads and raises ValidationFailed with every
problem; apply() stores what the plan says.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import semver
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from catalogue.auth.actors import Actor
from catalogue.auth.models import Organisation
from catalogue.events import record_event, serialise_writers
from catalogue.exceptions import Problem, ValidationFailed
from catalogue.services import layers, validation
from catalogue.services.descriptors import Descriptor
from catalogue.services.models import LAYER_KINDS, PUBLIC_STATUSES, LayerVersion, ServiceVersion
from catalogue.services.permissions import visible_layers


@dataclass
class _Inline:
    """An inline layer of the submission: the stored version it reuses or replaces, or None when new."""

    kind: str
    content: dict[str, Any]
    digest: str
    existing: LayerVersion | None


@dataclass
class Plan:
    """What a submission links to: the bundle, the layers referred to and the inline layers to store."""

    bundle: dict[str, Any]
    referred: dict[str, LayerVersion] = field(default_factory=dict)
    inline: dict[str, _Inline] = field(default_factory=dict)


def plan(session: Session, actor: Actor, descriptor: Descriptor, organisation: Organisation | None) -> Plan:
    """Resolve the references and match the inline layers of descriptor, or raise ValidationFailed.

    organisation is the implementation's owner (None when it is not in the catalogue yet).
    """
    # Two submissions storing one layer identity at once would both find it new, and the second insert would
    # break the unique constraint (a 500): taking the event writers' lock first (every submission records an
    # event, so it waits for it anyway) makes the second see the first one's layer, once committed.
    serialise_writers(session)
    content = descriptor.content
    problems: list[Problem] = []
    referred: dict[str, LayerVersion] = {}
    for ref in layers.references(content):
        found = _resolve(session, actor, ref, organisation, problems)
        if found is not None:
            referred[ref.kind] = found
    if "specification" in referred:
        _bring_definition(content, referred, organisation, problems)
    result = Plan(layers.bundle(content, {kind: layer.content for kind, layer in referred.items()}), referred)
    for kind in LAYER_KINDS:
        if kind in referred or layers.identity(content, kind) is None:
            continue
        layer_content = result.bundle[kind]
        inline = _Inline(kind, layer_content, validation.content_hash(layer_content), None)
        if organisation is not None:
            inline.existing = _stored(session, kind, organisation.id, layer_content)
            if inline.existing is not None and inline.existing.content_hash != inline.digest:
                _check_replaceable(session, content, inline, problems)
        result.inline[kind] = inline
    if problems:
        raise ValidationFailed(
            f"the descriptor's layers have {len(problems)} problem{'s' if len(problems) > 1 else ''}",
            [Problem(p.pointer, p.message, p.source, descriptor.line_for(p.pointer)) for p in problems],
        )
    return result


def apply(session: Session, actor: Actor, result: Plan, organisation: Organisation, version: ServiceVersion) -> None:
    """Store the plan's new layer versions, replace the unpublished ones it changes, link version to its
    layers and record an event for each layer version stored for the first time."""
    linked = dict(result.referred)
    for kind in LAYER_KINDS:
        inline = result.inline.get(kind)
        if inline is None:
            continue
        layer = inline.existing
        if layer is None:
            layer = LayerVersion(
                kind=kind,
                organisation_id=organisation.id,
                slug=inline.content["id"],
                version=inline.content["version"],
                content=inline.content,
                content_hash=inline.digest,
                introduced_by_id=version.id,
            )
            session.add(layer)
            session.flush()
            # The event belongs to the layer, not to the service's history: the version that introduced it
            # is named, the service is not (its history lists only its own versions' events).
            record_event(
                session,
                "layer.stored",
                actor.user_id,
                version_id=version.id,
                data={"kind": kind, "owner": organisation.code, "id": layer.slug, "version": layer.version},
            )
        elif layer.content_hash != inline.digest:
            # Only unpublished versions use it (plan checked): each keeps its own bundle, so nothing is lost.
            layer.content, layer.content_hash = inline.content, inline.digest
        linked[kind] = layer
    specification = linked.get("specification")
    if specification is not None and "specification" in result.inline:
        specification.specifies_id = linked["definition"].id if "definition" in linked else None
    before = {version.definition_version_id, version.specification_version_id}
    version.definition_version_id = linked["definition"].id if "definition" in linked else None
    version.specification_version_id = specification.id if specification is not None else None
    session.flush()
    _drop_unused(session, before - {version.definition_version_id, version.specification_version_id})


def _drop_unused(session: Session, layer_ids: set[int | None]) -> None:
    """Delete the layer versions a replaced draft linked to and nothing uses any more (never published:
    a published version is never replaced), specifications before the definitions they specify."""
    candidates = session.scalars(select(LayerVersion).where(LayerVersion.id.in_(layer_ids - {None})))
    for layer in sorted(candidates, key=lambda layer: layer.kind != "specification"):
        used = exists().where(
            or_(ServiceVersion.definition_version_id == layer.id, ServiceVersion.specification_version_id == layer.id)
        )
        specified = exists().where(LayerVersion.specifies_id == layer.id)
        if not session.scalar(select(used | specified)):
            session.delete(layer)
            session.flush()


# --- the checks ----------------------------------------------------------------------------------


def version_order(version: str) -> tuple[int, semver.Version, str]:
    """Order of layer versions: semantic versions by precedence, after any that are not one."""
    if semver.Version.is_valid(version):
        return (1, semver.Version.parse(version), version)
    return (0, semver.Version(0), version)


def _latest(candidates: list[LayerVersion]) -> LayerVersion:
    return max(candidates, key=lambda layer: version_order(layer.version))


def _resolve(
    session: Session, actor: Actor, ref: layers.Reference, organisation: Organisation | None, problems: list[Problem]
) -> LayerVersion | None:
    """The layer version ref names among those actor may see, or None with the reason added to problems."""
    query = visible_layers(actor).where(LayerVersion.kind == ref.kind, LayerVersion.slug == ref.slug)
    candidates = list(session.scalars(query))
    if ref.owner is not None:
        candidates = [layer for layer in candidates if layer.organisation.code == ref.owner]
    elif organisation is not None and any(layer.organisation_id == organisation.id for layer in candidates):
        candidates = [layer for layer in candidates if layer.organisation_id == organisation.id]
    if not candidates:
        problems.append(Problem(ref.pointer, _unknown(session, actor, ref), "layers"))
        return None
    owners = sorted({layer.organisation.code for layer in candidates})
    if len(owners) > 1:
        problems.append(
            Problem(
                ref.pointer,
                f"several organisations publish a {ref.kind} {ref.slug!r} ({', '.join(owners)}); say whose with owner",
                "layers",
            )
        )
        return None
    if ref.version is None:
        return _latest(candidates)
    found = next((layer for layer in candidates if layer.version == ref.version), None)
    if found is None:
        versions = ", ".join(sorted((layer.version for layer in candidates), key=version_order))
        problems.append(
            Problem(
                f"/{ref.kind}/version",
                f"the {ref.kind} {ref.slug!r} of {owners[0]} has no version {ref.version} you may see; "
                f"its versions: {versions}",
                "layers",
            )
        )
    return found


def _unknown(session: Session, actor: Actor, ref: layers.Reference) -> str:
    owner = f" of {ref.owner}" if ref.owner else ""
    message = f"the catalogue has no {ref.kind} {ref.slug!r}{owner} you may see"
    known = set(
        session.scalars(visible_layers(actor).where(LayerVersion.kind == ref.kind).with_only_columns(LayerVersion.slug))
    )
    hint = difflib.get_close_matches(ref.slug, sorted(known), n=1)
    if hint and hint[0] != ref.slug:
        return f"{message}; did you mean {hint[0]!r}?"
    if ref.owner and ref.slug in known:
        return f"{message}; other organisations publish one of that id"
    return message


def _bring_definition(
    content: dict[str, Any],
    referred: dict[str, LayerVersion],
    organisation: Organisation | None,
    problems: list[Problem],
) -> None:
    """A specification referred to brings the definition it specifies; one also given must be that one."""
    specified = referred["specification"].specifies
    if specified is None:
        return
    given = referred.get("definition")
    identity = layers.identity(content, "definition")
    if given is not None and given.id != specified.id:
        problems.append(Problem("/definition/ref", _not_specified(given, specified), "layers"))
    elif identity is not None:
        owner_id = organisation.id if organisation is not None else None
        same = (specified.slug, specified.version, specified.organisation_id) == (*identity, owner_id)
        if not same or specified.content_hash != validation.content_hash(layers.bundle(content)["definition"]):
            problems.append(
                Problem(
                    "/definition",
                    f"the specification referred to specifies the definition {specified.slug!r} version "
                    f"{specified.version} of {specified.organisation.code}; leave the definition out, "
                    "or refer to that one",
                    "layers",
                )
            )
    referred["definition"] = specified


def _not_specified(given: LayerVersion, specified: LayerVersion) -> str:
    return (
        f"the specification referred to specifies the definition {specified.slug!r} version {specified.version} "
        f"of {specified.organisation.code}, not {given.slug!r} version {given.version} of "
        f"{given.organisation.code}; leave the definition out, or refer to that one"
    )


def _stored(session: Session, kind: str, organisation_id: int, content: dict[str, Any]) -> LayerVersion | None:
    return session.scalar(
        select(LayerVersion).where(
            LayerVersion.kind == kind,
            LayerVersion.organisation_id == organisation_id,
            LayerVersion.slug == content["id"],
            LayerVersion.version == content["version"],
        )
    )


def is_fixed(session: Session, layer: LayerVersion) -> bool:
    """Whether a public (approved or deprecated) version uses layer: its content may then never change."""
    used = exists().where(
        ServiceVersion.status.in_(PUBLIC_STATUSES),
        or_(ServiceVersion.definition_version_id == layer.id, ServiceVersion.specification_version_id == layer.id),
    )
    return bool(session.scalar(select(used)))


def _check_replaceable(session: Session, content: dict[str, Any], inline: _Inline, problems: list[Problem]) -> None:
    """Different content under a published layer's identity is refused where the layer's version is written."""
    if inline.existing is None or not is_fixed(session, inline.existing):
        return
    layer = content.get(inline.kind) or {}
    pointer = f"/{inline.kind}/version" if "version" in layer else f"/{inline.kind}"
    problems.append(
        Problem(
            pointer,
            f"the {inline.kind} {inline.existing.slug!r} version {inline.existing.version} is published with other "
            f"content, and a published {inline.kind} never changes: give this one a new version (the {inline.kind}'s "
            f"version), or refer to the published one with ref",
            "layers",
        )
    )
