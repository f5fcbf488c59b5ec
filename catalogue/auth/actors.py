"""Who acts: a signed-in user, nobody (anonymous), or the system itself; and the refusals of admin work.

The rules about services (who may see, edit or review them) are in catalogue/services/permissions.py;
this module holds what accounts need too.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalogue.auth.models import User
from catalogue.exceptions import PermissionDenied, Unauthenticated


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, nobody (anonymous), or the system itself (seed loader, commands).

    A user acting through an API token carries the token's id and scopes; a signed-in session carries
    none (scopes None), so it may do all its role allows.
    """

    user: User | None = None
    system: bool = False
    scopes: frozenset[str] | None = None
    token_id: int | None = None

    def has_scope(self, scope: str) -> bool:
        """Whether the credential behind this actor was granted scope (the role is checked apart)."""
        if self.system:
            return True
        if self.user is None:
            return False
        return self.scopes is None or scope in self.scopes

    @property
    def anonymous(self) -> bool:
        """True for a reader with no credentials."""
        return self.user is None and not self.system

    @property
    def user_id(self) -> int | None:
        """The id of the acting user, as the audit trail records it (None for anonymous and the system)."""
        return self.user.id if self.user is not None else None


SYSTEM = Actor(system=True)
"""The catalogue itself: the seed loader and the operator's commands."""

ANONYMOUS = Actor()
"""A reader with no credentials."""


def refuse(
    actor: Actor, action: str, detail: str, service_id: int | None = None, version_id: int | None = None
) -> PermissionDenied:
    """The refusal of action to actor, ready to raise (it goes on the audit trail when its transaction ends)."""
    return PermissionDenied(detail, actor_id=actor.user_id, action=action, service_id=service_id, version_id=version_id)


def check_scope(actor: Actor, scope: str, action: str) -> None:
    """Refuse (403, naming the scope) when actor acts through a token that was not granted scope."""
    if actor.user is not None and not actor.has_scope(scope):
        raise refuse(actor, action, f"this API token lacks the scope '{scope}' (it has: {_scope_names(actor)})")


def _scope_names(actor: Actor) -> str:
    return ", ".join(sorted(actor.scopes or ())) or "none"


def check_admin(actor: Actor, action: str) -> None:
    """Refuse unless actor is an admin (or the system: commands run by the operator)."""
    if actor.system:
        return
    if actor.user is None:
        raise Unauthenticated("sign in as an admin")
    if actor.user.role != "admin":
        raise refuse(actor, action, "only admins manage organisations and users")
    check_scope(actor, "admin", action)
