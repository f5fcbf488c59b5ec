"""A worker that only serves reads never imports the libraries only validation and migrations need.

The worker is modelled in a fresh interpreter, as gunicorn makes it: the master reads catalogue.gunicorn_conf
and checks the schema (on_starting), the worker forks from it (so inherits its modules) and creates the app.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from catalogue.cli import main
from catalogue.services import descriptors, validation
from tests.conftest import app_on_empty_database
from tests.ops.hosts import ROOT, production_env

# Packages a read-only worker has no use for: OpenAPI checks (with jsonschema-rs and pydantic), the descriptor
# schema and licence checks, Alembic (with Mako and Pygments), and rdflib (DCAT exports only). Each costs memory
# in every worker.
UNUSED_BY_READS = (
    "openapi_spec_validator",
    "openapi_schema_validator",
    "jsonschema_rs",
    "pydantic",
    "pydantic_settings",
    "jsonschema",
    "license_expression",
    "alembic",
    "mako",
    "pygments",
    "rdflib",
    "html5rdf",
)
READS = ("/", "/api/v1/search?q=data", "/api/v1/services/pxwebapi", "/services/pxwebapi")
SEED = ROOT / "seed_services" / "pxwebapi.yaml"  # a seed service with an OpenAPI interface

# The worker: what the master imports and does, then the app and the reads; then, in the same process,
# two descriptors validated through the modules it did not import until then.
WORKER = """
import json, sys
from pathlib import Path

def imported(names):
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in sys.modules))

unused, reads, seed, broken = json.loads(sys.argv[1])
from catalogue import gunicorn_conf
gunicorn_conf.on_starting(None)
from catalogue import create_app
client = create_app().test_client()
answers = {}
for path in reads:
    response = client.get(path)
    answers[path] = [response.status_code, response.get_json(silent=True)]
before = imported(unused)

from catalogue.services import descriptors, validation
valid = validation.validate(descriptors.parse(Path(seed).read_bytes(), "yaml")).to_dict()
invalid = validation.validate(descriptors.Descriptor(content=broken)).to_dict()
print(json.dumps({"answers": answers, "before": before, "after": imported(unused),
                  "valid": valid, "invalid": invalid}))
"""


def _broken(content: dict) -> dict:
    """The seed descriptor with a defect only the OpenAPI checks see (its document has no title)."""
    del content["specification"]["interface"]["openapi"]["info"]["title"]
    return content


def test_a_read_only_worker_imports_neither_validation_nor_migration_libraries(tmp_path: Path) -> None:
    folder = tmp_path / "host"
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SEED, seeds)
    broken = _broken(yaml.safe_load(SEED.read_text("utf-8")))
    with app_on_empty_database(folder, index_dir=folder / "index") as app:
        # Built here, not in the worker: db.create_all and `catalogue seed` run Alembic (a stamp, an upgrade).
        seeded = app.test_cli_runner().invoke(main, ["seed", "--dir", str(seeds)])
        assert seeded.exit_code == 0, seeded.output
        url = app.config["CATALOGUE"].database_url
        worker = subprocess.run(
            [sys.executable, "-c", WORKER, json.dumps([UNUSED_BY_READS, READS, str(SEED), broken])],
            cwd=ROOT,
            env=production_env(url, folder),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert worker.returncode == 0, worker.stderr
    found = json.loads(worker.stdout.splitlines()[-1])

    assert {path: status for path, (status, _) in found["answers"].items()} == dict.fromkeys(READS, 200)
    assert [hit["id"] for hit in found["answers"]["/api/v1/search?q=data"][1]["hits"]] == ["pxwebapi"]
    assert found["before"] == [], "a read-only worker imported what only validation or migrations need"

    # Validation still works in that worker, importing what it needs on first use, and reports exactly
    # what this process (which imported everything up front) reports.
    assert {"openapi_spec_validator", "jsonschema", "license_expression"} <= set(found["after"])
    assert found["valid"] == validation.validate(descriptors.parse(SEED.read_bytes(), "yaml")).to_dict()
    assert found["valid"]["valid"] is True
    assert found["invalid"] == validation.validate(descriptors.Descriptor(content=broken)).to_dict()
    assert [(p["pointer"], p["source"]) for p in found["invalid"]["errors"]] == [
        ("/specification/interface/openapi/info", "openapi"),
    ]
