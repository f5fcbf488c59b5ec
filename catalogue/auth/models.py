"""Organisations, their users and the users' API tokens (tokens are stored only as hashes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalogue.db import Base, utcnow

ROLES = ("submitter", "reviewer", "admin")

SCOPES = ("read", "submit", "review", "admin")
"""What an API token may be used for: reading what its owner sees, submitting, reviewing, administering."""

ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "submitter": ("read", "submit"),
    "reviewer": ("read", "review"),
    "admin": SCOPES,
}
"""The scopes each role may hand to its tokens: a token never grants more than its owner may do."""


class Organisation(Base):
    """A statistical organisation that owns services (e.g. ISTAT) and whose staff are users."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(3))


class User(Base):
    """A person who submits, reviews or administers services for an organisation."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('submitter', 'reviewer', 'admin')", name="user_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    # Changing it (password change, deactivation) ends every session signed in before.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()

    # The four members Flask-Login expects of a signed-in user (kept here so models import no Flask).
    @property
    def is_authenticated(self) -> bool:
        """A stored user is an authenticated one."""
        return True

    @property
    def is_active(self) -> bool:
        """Deactivated users cannot sign in."""
        return self.active

    @property
    def is_anonymous(self) -> bool:
        """Never anonymous."""
        return False

    def get_id(self) -> str:
        """The id kept in the session: the user and the session version, so old sessions expire."""
        return f"{self.id}:{self.session_version}"


class ApiToken(Base):
    """A bearer token: only its SHA-256 is kept; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Space-separated, in the order of SCOPES (e.g. "read submit").
    scopes: Mapped[str] = mapped_column(String(60))
    # The token that made this one, if a token made it: it is revoked with its parent and expires no later.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))

    user: Mapped[User] = relationship()

    @property
    def scope_set(self) -> frozenset[str]:
        """The scopes of this token, as a set."""
        return frozenset(self.scopes.split())

    @property
    def scope_list(self) -> list[str]:
        """The scopes of this token, in the order of SCOPES (for display and the API)."""
        return [scope for scope in SCOPES if scope in self.scope_set]


LINK_PURPOSES = ("invitation", "reset")
"""Why an account link was sent: an invitation sets a new user's first password, a reset a forgotten one."""


class AccountLink(Base):
    """A link sent by e-mail that lets its holder set a user's password once, until it expires.

    Only the SHA-256 of its token is kept. The token itself is an HMAC of the row's id and nonce under the
    catalogue's secret key, so the mail sender can rebuild it to write the mail while a copy of the database
    alone gives nobody a working link.
    """

    __tablename__ = "account_links"
    __table_args__ = (CheckConstraint("purpose IN ('invitation', 'reset')", name="account_link_purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(20))
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
