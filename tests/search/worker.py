"""A second catalogue process for the consistency tests: `python -m tests.search.worker COMMAND ...`.

submit URL INDEX_DIR PREFIX N  — submit N approved services, one transaction (and one index sync) each
search URL INDEX_DIR QUERY     — print the ids a search finds, as JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from catalogue import create_app
from catalogue.auth import actors
from catalogue.config import Config
from catalogue.db import db
from catalogue.search import searching
from catalogue.search.query import SearchRequest
from catalogue.services import descriptors, permissions, workflow

GOOD = Path(__file__).resolve().parents[1] / "data" / "good.yaml"


def descriptor_text(slug: str, name: str) -> str:
    """The test descriptor under another id and name."""
    content = yaml.safe_load(GOOD.read_text("utf-8"))
    content["id"] = slug
    content["definition"]["name"] = name
    return yaml.safe_dump(content)


def main(argv: list[str]) -> None:
    command, url, index_dir = argv[:3]
    app = create_app(Config(instance_path=Path(index_dir).parent, database_url=url, index_dir=Path(index_dir)))
    with app.app_context():
        if command == "submit":
            prefix, count = argv[3], int(argv[4])
            for i in range(count):
                text = descriptor_text(f"{prefix}-{i}", f"Parallel service {prefix} {i}")
                descriptor = descriptors.parse(text.encode(), "yaml", descriptors.Limits())
                with db.transaction() as session:
                    workflow.submit_version(session, actors.SYSTEM, descriptor, "yaml", status="approved")
        elif command == "search":
            result = searching().search(
                SearchRequest.build(q=argv[3], per_page=100), permissions.visibility(actors.ANONYMOUS)
            )
            print(json.dumps([hit.id for hit in result.hits]))


if __name__ == "__main__":
    main(sys.argv[1:])
