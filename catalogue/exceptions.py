"""The domain's exceptions, and the Problem they carry: what went wrong, and where.

Logic raises these; catalogue/errors.py turns them into problem+json for the API or a page for people.
Nothing here knows about HTTP requests or the database.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One problem: where it is, what is wrong, and which check found it."""

    pointer: str
    message: str
    source: str
    line: int | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain JSON form, as the API and the CLI print it."""
        return asdict(self)


class DescriptorError(Exception):
    """The text could not be read as a descriptor at all (status 413 when it is too large to read)."""

    def __init__(self, problem: Problem, status: int = 400) -> None:
        super().__init__(problem.message)
        self.problem = problem
        self.status = status


class RegistryError(Exception):
    """A refusal by the registry, mapped to an HTTP status in catalogue/errors.py."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, problems: list[Problem] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = problems or []
        self.extra = extra


class ValidationFailed(RegistryError):
    """The descriptor has errors; they are all in problems."""

    status = 422
    title = "The descriptor is not valid"


class Conflict(RegistryError):
    """The request contradicts what is stored."""

    status = 409
    title = "Conflict"


class NotFound(RegistryError):
    """No such record."""

    status = 404
    title = "Not found"


class Unauthenticated(RegistryError):
    """No valid credentials were given."""

    status = 401
    title = "Authentication required"


class PermissionDenied(RegistryError):
    """The actor may not do this; the refusal itself goes on the audit trail (catalogue.events.record_refusal).

    It keeps ids, not records: the refused transaction is rolled back before the refusal is written.
    """

    status = 403
    title = "Permission denied"

    def __init__(
        self,
        detail: str,
        *,
        actor_id: int | None = None,
        action: str = "",
        service_id: int | None = None,
        version_id: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.actor_id = actor_id
        self.action = action
        self.service_id = service_id
        self.version_id = version_id
        self.recorded = False  # set once the refusal is on the audit trail


class InvalidRequest(RegistryError):
    """The request is well-formed but incomplete or contradictory (a refusal without a comment, say)."""

    status = 422
    title = "The request is not valid"


def check_known(wanted: set[str], known: Collection[str], pointer: str, what: str, detail: str = "") -> None:
    """Refuse (422 at pointer, listing the choices) when wanted holds a value known does not: unknown what."""
    unknown = sorted(wanted - set(known))
    if unknown:
        raise InvalidRequest(
            f"unknown {what} {', '.join(map(repr, unknown))}{detail}",
            [Problem(pointer=pointer, line=None, message=f"choose among {', '.join(known)}", source="request")],
            allowed=list(known),
        )
