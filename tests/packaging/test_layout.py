"""Fast checks of the packaging's parts (the slow end-to-end run is test_wheel.py, marker `packaging`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import yaml

from catalogue import resources

ROOT = Path(__file__).resolve().parents[2]


def _shipped_by_setup() -> dict[str, str]:
    """setup.py's SHIPPED mapping (package name to repository folder), read without running setup()."""
    tree = ast.parse((ROOT / "setup.py").read_text("utf-8"))
    [value] = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "SHIPPED" for t in node.targets)
    ]
    return ast.literal_eval(value)


def test_every_resource_exists() -> None:
    places = {name: value for name, value in vars(resources).items() if name.isupper() and isinstance(value, Path)}
    assert len(places) >= 10
    assert [name for name, path in places.items() if not path.exists()] == []


def test_a_checkout_reads_the_top_level_folders_the_build_ships() -> None:
    shipped = _shipped_by_setup()
    assert set(shipped.values()) == {"schemas", "static", "seed_services"}
    assert all(package == f"catalogue.{folder}" for package, folder in shipped.items())
    # In the checkout the top-level folders are the source of truth: no copy inside the package.
    for folder in shipped.values():
        assert not (ROOT / "catalogue" / folder).exists(), f"catalogue/{folder} would shadow the top-level {folder}/"
    assert resources.SCHEMA_DIR == ROOT / "schemas"
    assert resources.STATIC_DIR == ROOT / "static"
    assert resources.SEED_DIR == ROOT / "seed_services"


def test_the_contributors_hooks_are_valid_and_use_this_environment_s_tools() -> None:
    bin_dir = Path(sys.executable).parent
    checked = subprocess.run(
        [str(bin_dir / "pre-commit"), "validate-config", ".pre-commit-config.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text("utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {"ruff", "ruff-format", "mypy"} <= {hook["id"] for hook in hooks}
    for hook in hooks:
        program = Path(hook["entry"].split()[0])
        assert program.parts[0] == ".venv" and (bin_dir / program.name).exists(), hook["id"]
