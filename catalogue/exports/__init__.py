"""Exports and feeds of the public catalogue: JSON, CSV, DCAT-AP, Backstage, Atom and badges."""
