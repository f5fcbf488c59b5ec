"""The build's one addition to setup.cfg: the repository's top-level data folders ship inside the package.

`schemas/`, `static/` and `seed_services/` stay at the top of the repository (their source of truth); the
package_dir mapping below makes each a sub-package of `catalogue` in the wheel, so no copy is kept by hand.
catalogue/resources.py finds them there when installed, and at the top of the checkout otherwise. The list of
packages is computed here because setup.cfg cannot add mapped packages to `find:`.
"""

from setuptools import find_packages, setup

SHIPPED = {"catalogue.schemas": "schemas", "catalogue.static": "static", "catalogue.seed_services": "seed_services"}

setup(packages=[*find_packages(include=["catalogue", "catalogue.*"]), *SHIPPED], package_dir=SHIPPED)
