"""Accounts: organisations, users, passwords and API tokens, and who is behind a password or a token.

Like every use-case, these functions never commit: the request or command that calls them commits once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from catalogue.auth.actors import SYSTEM, Actor, check_admin, refuse
from catalogue.auth.models import ROLE_SCOPES, ROLES, SCOPES, ApiToken, Organisation, User
from catalogue.db import utcnow
from catalogue.events import record_event
from catalogue.exceptions import Conflict, InvalidRequest, NotFound, Problem, Unauthenticated, check_known

TOKEN_PREFIX = "cspa_"  # the public mark of our tokens, not a secret  # nosec B105
MIN_PASSWORD_LENGTH = 12
MAX_ACTIVE_TOKENS = 20
"""The most unrevoked, unexpired tokens one user may hold: enough for every integration, few enough to audit."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            [
                Problem(
                    pointer="/password",
                    line=None,
                    message=f"use at least {MIN_PASSWORD_LENGTH} characters",
                    source="request",
                )
            ],
        )


def create_user(
    session: Session,
    email: str,
    org_code: str,
    role: str,
    display_name: str | None = None,
    password: str | None = None,
    token_days: int | None = 365,
    actor: Actor = SYSTEM,
) -> tuple[User, str | None]:
    """Create a user of an organisation (created if new); returns the user and, if token_days, an API
    token shown once in clear."""
    check_admin(actor, "create_user")
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidRequest(
            f"{email!r} is not an e-mail address",
            [Problem(pointer="/email", line=None, message="an e-mail address is needed", source="request")],
        )
    if role not in ROLES:
        raise InvalidRequest(f"the role must be one of {', '.join(ROLES)}", allowed=list(ROLES))
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict(f"a user with e-mail {email} exists already")
    organisation = session.scalar(select(Organisation).where(Organisation.code == org_code))
    if organisation is None:
        organisation = ensure_organisation(session, org_code, org_code)
    user = User(email=email, display_name=display_name or email.split("@")[0], organisation=organisation, role=role)
    if password is not None:
        _check_password(password)
        user.password_hash = generate_password_hash(password)
    session.add(user)
    session.flush()
    record_event(
        session,
        "user.created",
        actor.user_id,
        data={"user": user.id, "email": email, "role": role, "organisation": organisation.code},
    )
    token = create_token(session, Actor(user=user), token_days) if token_days else None
    return user, token


def update_user(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    role: str | None = None,
    active: bool | None = None,
    organisation_code: str | None = None,
) -> User:
    """Change a user's role, organisation or active flag (admins); a change ends the user's sessions."""
    check_admin(actor, "update_user")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    changes: dict[str, Any] = {}
    if role is not None and role != user.role:
        if role not in ROLES:
            raise InvalidRequest(f"the role must be one of {', '.join(ROLES)}", allowed=list(ROLES))
        changes["role"] = [user.role, role]
        user.role = role
        allowed = set(ROLE_SCOPES[role])
        outgrown = [row for row in _active_tokens(session, user) if not row.scope_set <= allowed]
        changes["tokens_revoked"] = _revoke(session, actor, outgrown, "role_changed")
    if organisation_code is not None:
        organisation = session.scalar(select(Organisation).where(Organisation.code == organisation_code))
        if organisation is None:
            raise NotFound(f"no organisation {organisation_code!r}")
        if organisation.id != user.organisation_id:
            changes["organisation"] = organisation.code
            user.organisation = organisation
    if active is not None and active != user.active:
        changes["active"] = active
        user.active = active
    if changes:
        user.session_version += 1
        record_event(session, "user.updated", actor.user_id, data={"user": user.id, **changes})
    return user


def set_password(session: Session, actor: Actor, user: User, password: str) -> None:
    """Set user's password (the user themselves or an admin); every other session of theirs ends and every
    API token of theirs is revoked (a token made with the old password must not outlive it)."""
    if actor.user is None or (actor.user.id != user.id and actor.user.role != "admin"):
        check_admin(actor, "set_password")
    _check_password(password)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1
    revoked = _revoke(session, actor, _active_tokens(session, user), "password_changed")
    record_event(session, "user.password_changed", actor.user_id, data={"user": user.id, "tokens_revoked": revoked})


def end_sessions(session: Session, user: User) -> None:
    """End every signed-in session of user (signing out): a session cookie copied before gets no access after."""
    user.session_version += 1
    record_event(session, "user.signed_out", user.id, data={"user": user.id})


def user_by_email(session: Session, email: str) -> User:
    """The user with this e-mail address, or NotFound."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with e-mail {email}")
    return user


def authenticate_password(session: Session, email: str, password: str) -> User:
    """The active user with this e-mail and password, or Unauthenticated (the same message either way)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    # Hash even for an unknown user, so the answer takes as long and says nothing about who exists.
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    ok = check_password_hash(stored, password)
    if user is None or not user.password_hash or not ok or not user.active:
        raise Unauthenticated("the e-mail address or password is wrong")
    return user


@cache
def _dummy_hash() -> str:
    """A hash to check against for an unknown address, made at the first such sign-in of a process, not at
    import: hashing is slow by design, and every command and worker would pay for it at start."""
    return generate_password_hash("not a password of anyone")


def create_organisation(
    session: Session, actor: Actor, code: str, name: str, country: str | None = None
) -> Organisation:
    """Create an organisation (admins)."""
    check_admin(actor, "create_organisation")
    code = code.strip().upper()
    if not code or len(code) > 32:
        raise InvalidRequest(
            "an organisation code has 1 to 32 characters",
            [Problem(pointer="/code", line=None, message="1 to 32 characters", source="request")],
        )
    if session.scalar(select(Organisation).where(Organisation.code == code)) is not None:
        raise Conflict(f"organisation {code} exists already")
    organisation = Organisation(code=code, name=name.strip() or code, country=(country or None))
    session.add(organisation)
    session.flush()
    record_event(session, "organisation.created", actor.user_id, data={"organisation": code})
    return organisation


def list_users(session: Session, actor: Actor) -> list[User]:
    """Every user, by e-mail (admins)."""
    check_admin(actor, "list_users")
    return list(session.scalars(select(User).order_by(User.email)))


def list_organisations(session: Session) -> list[Organisation]:
    """Every organisation, by code."""
    return list(session.scalars(select(Organisation).order_by(Organisation.code)))


def create_token(
    session: Session, actor: Actor, days: int | None = 365, name: str = "", scopes: Iterable[str] | None = None
) -> str:
    """A new API token for the acting user, expiring after days, granted scopes (default: all the credential
    may grant); only its hash is stored, the token is returned once.

    A token never grants more, nor lives longer, than the credential that made it: its scopes lie within the
    user's role and, when a token makes it, within that token's scopes; such a token expires no later than its
    parent and is revoked with it.
    """
    if actor.user is None:
        raise Unauthenticated("sign in to create an API token")
    if days is None or not 1 <= days <= 730:
        raise InvalidRequest(
            "a token lives 1 to 730 days",
            [Problem(pointer="/days", line=None, message="1 to 730 days", source="request")],
        )
    granted = _granted_scopes(actor, scopes)
    parent = session.get(ApiToken, actor.token_id) if actor.token_id is not None else None
    expires_at = utcnow() + timedelta(days=days)
    if parent is not None and parent.expires_at is not None:
        expires_at = min(expires_at, parent.expires_at)
    active = len(_active_tokens(session, actor.user))
    if active >= MAX_ACTIVE_TOKENS:
        raise Conflict(
            f"you hold {active} active API tokens, the most one person may hold; revoke one you no longer use first"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user=actor.user,
        name=name.strip()[:100],
        token_hash=_token_hash(token),
        prefix=token[:12],
        expires_at=expires_at,
        scopes=" ".join(granted),
        parent_id=parent.id if parent is not None else None,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        "token.created",
        actor.user_id,
        data={"token": row.id, "prefix": row.prefix, "days": days, "scopes": granted, "parent": row.parent_id},
    )
    return token


def _granted_scopes(actor: Actor, asked: Iterable[str] | None) -> list[str]:
    """The scopes a new token gets: those asked for (default: all the actor may grant), each checked."""
    assert actor.user is not None
    grantable = [s for s in ROLE_SCOPES[actor.user.role] if actor.has_scope(s)]
    wanted = set(grantable if asked is None else asked)
    check_known(wanted, SCOPES, "/scopes", "scope", f"; the scopes are {', '.join(SCOPES)}")
    if not wanted:
        raise InvalidRequest(
            "a token needs at least one scope",
            [Problem(pointer="/scopes", line=None, message="choose at least one scope", source="request")],
            allowed=grantable,
        )
    beyond = [s for s in SCOPES if s in wanted and s not in grantable]
    if beyond:
        why = "your role" if actor.scopes is None else "your role and the token you are using"
        raise refuse(
            actor,
            "create_token",
            f"you may not grant the scope {', '.join(map(repr, beyond))}: {why} allows only {', '.join(grantable)}",
        )
    return [s for s in SCOPES if s in wanted]


def _active_tokens(session: Session, user: User) -> list[ApiToken]:
    """user's tokens that are neither revoked nor expired."""
    now = utcnow()
    return list(
        session.scalars(
            select(ApiToken).where(
                ApiToken.user_id == user.id,
                ApiToken.revoked_at.is_(None),
                (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now),
            )
        )
    )


def _revoke(session: Session, actor: Actor, rows: Iterable[ApiToken], reason: str) -> list[int]:
    """Revoke rows and every token made from them (children, their children, ...); returns the ids revoked."""
    now = utcnow()
    revoked: list[int] = []
    pending = list(rows)
    while pending:
        row = pending.pop()
        if row.revoked_at is None:
            row.revoked_at = now
            revoked.append(row.id)
            record_event(
                session, "token.revoked", actor.user_id, data={"token": row.id, "prefix": row.prefix, "reason": reason}
            )
        pending.extend(
            session.scalars(select(ApiToken).where(ApiToken.parent_id == row.id, ApiToken.revoked_at.is_(None)))
        )
    return sorted(revoked)


def list_tokens(session: Session, actor: Actor) -> list[ApiToken]:
    """The acting user's tokens, newest first (never the tokens themselves)."""
    if actor.user is None:
        raise Unauthenticated("sign in to see your API tokens")
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == actor.user.id).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke one of the acting user's tokens (admins may revoke anyone's)."""
    if actor.user is None:
        raise Unauthenticated("sign in to revoke an API token")
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.user.id and actor.user.role != "admin"):
        raise NotFound(f"you have no token {token_id}")
    _revoke(session, actor, [row], "revoked")  # with the tokens it made
    return row


_TOKEN_ROW = select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == bindparam("token_hash"))
"""authenticate_token's query: the token with its user in one statement (a second one loaded the user), built once."""


def authenticate_token(session: Session, token: str) -> Actor:
    """The actor owning a valid, unexpired, unrevoked token of an active user, or Unauthenticated; the actor
    carries the token's id and scopes. A token whose parent (or the parent's parent) is revoked or expired is
    refused too, though revoking a token revokes its children already."""
    row = session.scalar(_TOKEN_ROW, {"token_hash": _token_hash(token)})
    if row is None or not row.user.active or not _alive(session, row, utcnow()):
        raise Unauthenticated("the API token is unknown, expired or revoked")
    return Actor(user=row.user, scopes=row.scope_set, token_id=row.id)


_TOKEN_READER = (
    select(
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.scopes,
        ApiToken.parent_id,
        ApiToken.id,
        User.id,
        User.role,
        User.organisation_id,
        User.active,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
"""token_reader's one query, built once (building a statement costs more than running this one)."""


@dataclass(frozen=True)
class TokenHolder:
    """The holder of a token valid now, as token_reader finds them, and until when the token stays valid if
    nothing is changed: its expiry, or an earlier one of a token above it (None: it never expires)."""

    actor: Actor
    until: datetime | None


def token_reader(connection: Connection, token: str) -> TokenHolder | None:
    """What authenticate_token finds, for deciding only what the token's holder may read, in one query on
    connection (no session, no ORM loading): the fast path of answers from memory (catalogue.conditional). The
    actor's user is a detached copy holding its id, role and organisation. None when the token is unknown,
    expired or revoked, or its user is switched off. A token made by another token is checked through its
    parents by authenticate_token's walk."""
    row = connection.execute(_TOKEN_READER, {"token_hash": _token_hash(token)}).one_or_none()
    if row is None:
        return None
    expires_at, revoked_at, scopes, parent_id, token_id, user_id, role, organisation_id, active = row
    if parent_id is not None:
        with Session(bind=connection) as session:
            try:
                actor = authenticate_token(session, token)
            except Unauthenticated:
                return None
            return TokenHolder(actor, _expiry(session, session.get(ApiToken, token_id)))
    if not active or revoked_at is not None or (expires_at is not None and expires_at < utcnow()):
        return None
    user = User(id=user_id, role=role, organisation_id=organisation_id, active=active)
    return TokenHolder(Actor(user=user, scopes=frozenset(scopes.split()), token_id=token_id), expires_at)


def _expiry(session: Session, row: ApiToken | None) -> datetime | None:
    """The earliest expiry of row and the tokens above it (None: none of them expires)."""
    earliest: datetime | None = None
    seen: set[int] = set()
    while row is not None and row.id not in seen:
        if row.expires_at is not None and (earliest is None or row.expires_at < earliest):
            earliest = row.expires_at
        seen.add(row.id)
        row = session.get(ApiToken, row.parent_id) if row.parent_id is not None else None
    return earliest


def _alive(session: Session, row: ApiToken, now: datetime) -> bool:
    """Whether row and every token above it are unrevoked and unexpired."""
    current: ApiToken | None = row
    seen: set[int] = set()
    while current is not None and current.id not in seen:
        if current.revoked_at is not None or (current.expires_at is not None and current.expires_at < now):
            return False
        seen.add(current.id)
        current = session.get(ApiToken, current.parent_id) if current.parent_id is not None else None
    return True


def ensure_organisation(session: Session, code: str, name: str, country: str | None = None) -> Organisation:
    """Create an organisation (no check: for callers that looked first), or take the one another transaction
    created at the same moment."""
    try:
        with session.begin_nested():
            organisation = Organisation(code=code, name=name, country=country)
            session.add(organisation)
    except IntegrityError:
        found = session.scalar(select(Organisation).where(Organisation.code == code))
        if found is None:
            raise
        return found
    return organisation
