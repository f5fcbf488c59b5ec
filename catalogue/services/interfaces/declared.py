"""What every kind of interface declares: its operations, each with where it is written."""

from __future__ import annotations

from dataclasses import dataclass

INTERFACE_POINTER = "/specification/interface"
"""Where a descriptor gives its interfaces; each kind is the key of its name under it."""


@dataclass(frozen=True)
class Operation:
    """One operation an interface declares: its name, other names that also refer to it, and its pointer.

    `aliases` are further names a Specification may list it by: the methods of a library class, the channel
    of an AsyncAPI operation. The operation counts as listed when its name or any alias is.
    """

    name: str
    pointer: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every name that refers to this operation."""
        return (self.name, *self.aliases)
