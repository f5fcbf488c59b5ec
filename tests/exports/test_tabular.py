"""The JSON and CSV exports: what anonymous readers see, one record per public service."""

from __future__ import annotations

import csv
import io


def test_exports_show_the_public_version_only(client, workflow, good_text):
    workflow.submit(good_text)
    workflow.approve("demo-linkage", "1.0.0")
    # A newer version under review, and a service that is only a draft: neither is public.
    workflow.submit(
        good_text.replace("version: 1.0.0", "version: 1.1.0").replace("Demo record linkage", "Renamed linkage")
    )
    workflow.submit(good_text.replace("id: demo-linkage", "id: hidden-draft"), status="draft")
    services = client.get("/api/v1/export/catalogue.json").json["services"]
    assert [(s["id"], s["version"], s["name"]) for s in services] == [("demo-linkage", "1.0.0", "Demo record linkage")]
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/export/catalogue.csv").get_data(as_text=True))))
    assert [(r["id"], r["version"]) for r in rows] == [("demo-linkage", "1.0.0")]


def test_csv_cells_that_spreadsheets_would_run_are_defused(client, workflow, good_text):
    workflow.submit(good_text.replace("name: Demo record linkage", 'name: "=HYPERLINK(\\"http://x\\")"'))
    workflow.approve("demo-linkage", "1.0.0")
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/export/catalogue.csv").get_data(as_text=True))))
    assert rows[0]["name"] == '\'=HYPERLINK("http://x")'
    assert client.get("/api/v1/export/catalogue.json").json["services"][0]["name"] == '=HYPERLINK("http://x")'
