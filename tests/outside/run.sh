#!/usr/bin/env bash
# The outside validators, run by .ci/run as their own step: Redocly's linter (recommended rules) on the API's own
# /api/openapi.json, and Backstage's catalog model on the Backstage export of the seed catalogue. Both tools are
# installed from the npm registry through the lockfile here (npm ci). Needs the project's .venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CATALOGUE_INSTANCE_PATH="$work/instance" CATALOGUE_DATABASE_URL="sqlite:///$work/catalogue.sqlite3"
unset CATALOGUE_BASE_URL
# Redocly sends usage figures and looks for updates unless told not to; nothing here may leave the machine.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

echo "-- npm ci (tests/outside/package-lock.json)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

echo "-- the seed catalogue, its OpenAPI document and its Backstage export"
"$root/.venv/bin/catalogue" init >/dev/null
"$root/.venv/bin/catalogue" seed >/dev/null
"$root/.venv/bin/catalogue" export --format backstage --base-url https://catalogue.example.org/ --output "$work/backstage.yaml"
"$root/.venv/bin/python" - "$work" <<'PY'
import json, sys
from pathlib import Path

import yaml

from catalogue import create_app

work = Path(sys.argv[1])
spec = create_app().test_client().get("/api/openapi.json").json
(work / "openapi.json").write_text(json.dumps(spec, indent=1), "utf-8")
entities = list(yaml.safe_load_all((work / "backstage.yaml").read_text("utf-8")))
(work / "backstage.json").write_text(json.dumps(entities, default=str), "utf-8")
PY

echo "-- redocly lint (recommended rules): /api/openapi.json"
(cd "$here" && ./node_modules/.bin/redocly lint --config redocly.yaml --format=summary "$work/openapi.json")

echo "-- @backstage/catalog-model: every entity of the Backstage export"
node "$here/validate-backstage.cjs" "$work/backstage.json"
