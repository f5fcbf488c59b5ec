"""The registry's records: services, their immutable versions, and the reviews of those versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalogue.auth.models import Organisation, User
from catalogue.db import Base, utcnow

STATUSES = ("draft", "submitted", "in_review", "approved", "changes_requested", "rejected", "deprecated", "retired")
PUBLIC_STATUSES = ("approved", "deprecated")
"""A version in one of these may be a service's public version."""

LAYER_KINDS = ("definition", "specification")
"""The CSPA layers stored apart from the implementations that use them (CSPA 2.0 Annex 1)."""

_STATUS_CHECK = "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")"


class Service(Base):
    """A statistical service: a stable id, its owner, its status and its versions."""

    __tablename__ = "services"
    # An id is reserved only by an approved version (README, "Security"): until then each organisation
    # holds its own service of that id, and the first approved takes reserved_slug, which no other may.
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="service_status"),
        UniqueConstraint("organisation_id", "slug", name="uq_service_organisation_slug"),
        UniqueConstraint("reserved_slug", name="uq_service_reserved_slug"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    # The slug once a version of this service was approved (kept after it is retired): its public URL.
    reserved_slug: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    latest_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_versions.id", use_alter=True, name="fk_service_latest_version")
    )
    # The version anonymous readers see: the latest approved one. A newer version under review
    # does not hide it.
    public_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_versions.id", use_alter=True, name="fk_service_public_version")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    latest_version: Mapped[ServiceVersion | None] = relationship(foreign_keys=[latest_version_id], post_update=True)
    public_version: Mapped[ServiceVersion | None] = relationship(foreign_keys=[public_version_id], post_update=True)
    versions: Mapped[list[ServiceVersion]] = relationship(
        back_populates="service", foreign_keys="ServiceVersion.service_id", order_by="ServiceVersion.id"
    )


class ServiceVersion(Base):
    """One immutable version of a service's descriptor, with its validation and compliance reports."""

    __tablename__ = "service_versions"
    __table_args__ = (
        UniqueConstraint("service_id", "version", name="uq_service_version"),
        CheckConstraint(_STATUS_CHECK, name="version_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    descriptor_text: Mapped[str] = mapped_column(Text)
    descriptor_format: Mapped[str] = mapped_column(String(8))
    descriptor: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    validation: Mapped[dict[str, Any]]
    compliance: Mapped[dict[str, Any]]
    compliance_score: Mapped[int]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The layers this version implements: a descriptor may give no specification, never no definition.
    definition_version_id: Mapped[int | None] = mapped_column(ForeignKey("layer_versions.id"), index=True)
    specification_version_id: Mapped[int | None] = mapped_column(ForeignKey("layer_versions.id"), index=True)
    # The descriptor with every layer inline and references resolved (layers.bundle): what every reader
    # reads. Kept per version, so replacing an unpublished layer never changes what an earlier version said.
    bundle: Mapped[dict[str, Any]]

    service: Mapped[Service] = relationship(back_populates="versions", foreign_keys=[service_id])
    subprocesses: Mapped[list[VersionSubprocess]] = relationship(cascade="all, delete-orphan")
    definition_version: Mapped[LayerVersion | None] = relationship(foreign_keys=[definition_version_id])
    specification_version: Mapped[LayerVersion | None] = relationship(foreign_keys=[specification_version_id])


class LayerVersion(Base):
    """One version of a Definition or a Specification, stored once and linked by every implementation of it.

    Its identity is (kind, owner, id, version). It is fixed once a public version uses it; until then the
    implementation that introduced it may replace its content.
    """

    __tablename__ = "layer_versions"
    __table_args__ = (
        UniqueConstraint("kind", "organisation_id", "slug", "version", name="uq_layer_version"),
        CheckConstraint("kind IN ('definition', 'specification')", name="layer_kind"),
        CheckConstraint("kind = 'specification' OR specifies_id IS NULL", name="layer_specifies"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    slug: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    # A specification's definition; None for a definition.
    specifies_id: Mapped[int | None] = mapped_column(ForeignKey("layer_versions.id"), index=True)
    introduced_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_versions.id", use_alter=True, name="fk_layer_introduced_by")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    specifies: Mapped[LayerVersion | None] = relationship(remote_side=[id])

    @property
    def name(self) -> str:
        """What a reader calls it: a definition's name, else its id."""
        name = self.content.get("name")
        return name if isinstance(name, str) else self.slug


class VersionSubprocess(Base):
    """A GSBPM sub-process a version serves: a table so filters are plain indexed SQL."""

    __tablename__ = "version_subprocesses"

    version_id: Mapped[int] = mapped_column(ForeignKey("service_versions.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(8), primary_key=True, index=True)


class Review(Base):
    """A reviewer's decision on one version, with their verdict and comment per compliance criterion."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("decision IN ('approved', 'changes_requested', 'rejected')", name="review_decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("service_versions.id"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    decision: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    # [{"criterion": id, "verdict": "pass" | "fail" | "not-applicable", "comment": str}]
    items: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    version: Mapped[ServiceVersion] = relationship()
    reviewer: Mapped[User | None] = relationship()


class VersionComment(Base):
    """A message in a version's conversation beside the reviewers' decisions: a submitter's reply, or a
    reviewer's remark that is not a decision."""

    __tablename__ = "version_comments"
    __table_args__ = (CheckConstraint("length(body) > 0", name="comment_body"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("service_versions.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    version: Mapped[ServiceVersion] = relationship()
