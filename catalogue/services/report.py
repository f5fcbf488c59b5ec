"""Problems found in a descriptor, each located by JSON pointer (and line, for text input)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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
