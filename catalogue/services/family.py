"""Reading the family of a service: a Definition, the Specifications of it and their Implementations.

CSPA 2.0 Annex 1 links each Implementation Description to its Specification and each Specification to its
Definition. Everything here shows only what the reader may see (permissions.visible_layers for layers,
permissions.may_read_version for implementations). Nothing here changes the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from catalogue.auth.actors import Actor
from catalogue.auth.models import Organisation
from catalogue.exceptions import NotFound
from catalogue.services.linking import version_order
from catalogue.services.models import LAYER_KINDS, LayerVersion, ServiceVersion
from catalogue.services.permissions import may_read_version, visible_layers


@dataclass(frozen=True)
class LayerKey:
    """Who owns a layer and its id: what /definitions/<owner>/<id> names."""

    kind: str
    owner: str
    slug: str

    @classmethod
    def of(cls, layer: LayerVersion) -> LayerKey:
        """The key of layer."""
        return cls(layer.kind, layer.organisation.code, layer.slug)


@dataclass
class LayerNode:
    """One version of a layer with what hangs under it: the specifications of a definition version, or
    the implementations of a specification version (or of a definition given without specification)."""

    layer: LayerVersion
    specifications: list[LayerNode] = field(default_factory=list)
    implementations: list[ServiceVersion] = field(default_factory=list)


@dataclass
class LayerFamily:
    """A layer (all the versions a reader may see, newest first) and its family."""

    key: LayerKey
    name: str
    versions: list[LayerNode]


@dataclass(frozen=True)
class VersionFamily:
    """The family of one implementation version: the layers it links to and the other implementations
    of its definition that the reader may see."""

    definition: LayerVersion | None
    specification: LayerVersion | None
    others: list[ServiceVersion]


def _newest_first(layers: list[LayerVersion]) -> list[LayerVersion]:
    return sorted(layers, key=lambda layer: version_order(layer.version), reverse=True)


def implementations(session: Session, actor: Actor, layer_ids: list[int]) -> list[ServiceVersion]:
    """For each service, its newest version that actor may read among those linking one of layer_ids."""
    if not layer_ids:
        return []
    query = (
        select(ServiceVersion)
        .where(
            or_(
                ServiceVersion.definition_version_id.in_(layer_ids),
                ServiceVersion.specification_version_id.in_(layer_ids),
            )
        )
        .order_by(ServiceVersion.id.desc())
    )
    newest: dict[int, ServiceVersion] = {}
    for version in session.scalars(query):
        if version.service_id not in newest and may_read_version(actor, version):
            newest[version.service_id] = version
    return sorted(newest.values(), key=lambda version: (version.service.slug, version.service.organisation.code))


def of_version(session: Session, actor: Actor, version: ServiceVersion) -> VersionFamily:
    """The layers version links to and the other implementations of its definition (any of its versions)."""
    definition = version.definition_version
    others: list[ServiceVersion] = []
    if definition is not None:
        same = select(LayerVersion.id).where(
            LayerVersion.kind == "definition",
            LayerVersion.organisation_id == definition.organisation_id,
            LayerVersion.slug == definition.slug,
        )
        others = [
            v
            for v in implementations(session, actor, list(session.scalars(same)))
            if v.service_id != version.service_id
        ]
    return VersionFamily(definition, version.specification_version, others)


def layer_family(session: Session, actor: Actor, kind: str, owner: str, slug: str) -> LayerFamily:
    """The versions of one layer that actor may see, newest first, each with its specifications (for a
    definition) and implementations; NotFound when actor may see none."""
    if kind not in LAYER_KINDS:
        raise NotFound(f"no layer kind {kind!r}")
    query = (
        visible_layers(actor)
        .join(Organisation, Organisation.id == LayerVersion.organisation_id)
        .where(LayerVersion.kind == kind, LayerVersion.slug == slug, Organisation.code == owner)
    )
    found = _newest_first(list(session.scalars(query)))
    if not found:
        raise NotFound(f"no {kind} {slug!r} of {owner} you may see")
    nodes = []
    for layer in found:
        node = LayerNode(layer)
        if kind == "definition":
            specified = visible_layers(actor).where(LayerVersion.specifies_id == layer.id)
            for specification in _newest_first(list(session.scalars(specified))):
                node.specifications.append(
                    LayerNode(specification, implementations=implementations(session, actor, [specification.id]))
                )
            # Implementations that give no specification hang under the definition itself.
            node.implementations = [
                v for v in implementations(session, actor, [layer.id]) if v.specification_version_id is None
            ]
        else:
            node.implementations = implementations(session, actor, [layer.id])
        nodes.append(node)
    return LayerFamily(LayerKey(kind, owner, slug), found[0].name, nodes)


def list_layers(session: Session, actor: Actor, kind: str) -> list[LayerFamily]:
    """Every layer of kind that actor may see, by owner and id, each with its versions newest first
    (without their families: layer_family gives those)."""
    grouped: dict[LayerKey, list[LayerVersion]] = {}
    for layer in session.scalars(visible_layers(actor).where(LayerVersion.kind == kind)):
        grouped.setdefault(LayerKey.of(layer), []).append(layer)
    families = []
    for key in sorted(grouped, key=lambda k: (k.slug, k.owner)):
        versions = _newest_first(grouped[key])
        families.append(LayerFamily(key, versions[0].name, [LayerNode(layer) for layer in versions]))
    return families
