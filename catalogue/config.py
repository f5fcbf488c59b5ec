"""Settings read from the environment, so every command and test can point the app anywhere."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from catalogue.services.descriptors import Limits


@dataclass(frozen=True)
class Config:
    """Where the catalogue keeps its data, and the limits it applies to descriptors."""

    instance_path: Path
    database_url: str
    index_dir: Path
    max_descriptor_bytes: int = 2 * 1024 * 1024
    max_depth: int = 100
    max_nodes: int = 500_000
    seed_dir: Path = Path(__file__).resolve().parent.parent / "seed_services"

    @property
    def limits(self) -> Limits:
        """The parsing limits for descriptors."""
        return Limits(max_bytes=self.max_descriptor_bytes, max_depth=self.max_depth, max_nodes=self.max_nodes)

    @classmethod
    def from_env(cls) -> Config:
        """Read CATALOGUE_* variables, defaulting to an instance/ folder in the working directory."""
        instance = Path(os.environ.get("CATALOGUE_INSTANCE_PATH", "instance")).resolve()
        return cls(
            instance_path=instance,
            database_url=os.environ.get(
                "CATALOGUE_DATABASE_URL", f"sqlite:///{instance / 'catalogue.sqlite3'}"
            ),
            index_dir=Path(os.environ.get("CATALOGUE_INDEX_DIR", instance / "index")),
            max_descriptor_bytes=int(
                os.environ.get("CATALOGUE_MAX_DESCRIPTOR_BYTES", str(2 * 1024 * 1024))
            ),
        )
