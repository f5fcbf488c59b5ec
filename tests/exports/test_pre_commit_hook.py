"""The pre-commit hook: the file parses, its entry point is installed, and it fails on a broken descriptor."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hook() -> dict:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    [found] = [h for h in hooks if h["id"] == "cspa-validate"]
    return found


def test_the_hook_has_what_pre_commit_requires(hook):
    assert {"id", "name", "entry", "language"} <= set(hook)
    assert hook["language"] == "python"  # pre-commit installs this repository, which provides the command
    assert hook["entry"] == "catalogue validate"


def test_the_entry_point_is_the_catalogue_command(hook):
    command = hook["entry"].split()[0]
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    assert f"{command} = catalogue.cli:main" in setup["options.entry_points"]["console_scripts"]
    [installed] = entry_points(group="console_scripts", name=command)
    assert installed.value == "catalogue.cli:main"
    from catalogue.cli import main

    assert installed.load() is main and "validate" in main.commands


@pytest.mark.parametrize(
    ("path", "matched"),
    [
        ("cspa.yaml", True),
        ("cspa.yml", True),
        ("services/cspa-relais.yaml", True),
        ("relais.cspa.json", True),
        ("deep/dir/relais.cspa.yaml", True),
        ("openapi.yaml", False),
        ("cspa.json.bak", False),
        ("notcspa.yaml", False),
        (".github/workflows/ci.yml", False),
    ],
)
def test_the_hook_runs_on_descriptor_names_only(hook, path, matched):
    assert bool(re.search(hook["files"], path)) is matched


def test_the_hook_command_fails_on_a_broken_descriptor_and_passes_a_good_one(hook, tmp_path, good_text):
    script = Path(sys.executable).parent / hook["entry"].split()[0]
    assert script.exists(), "the package is installed with its console script (pip install -e .)"
    good, broken = tmp_path / "cspa.yaml", tmp_path / "broken.cspa.yaml"
    good.write_text(good_text)
    broken.write_text(good_text.replace('gsbpm: ["5.1"]', 'gsbpm: ["9.9"]'))
    env = {"CATALOGUE_INSTANCE_PATH": str(tmp_path / "instance"), "PATH": str(script.parent)}

    def run(*files: Path) -> subprocess.CompletedProcess[str]:
        # As pre-commit runs it: the entry, then the matching files' names.
        return subprocess.run(
            [str(script), *hook["entry"].split()[1:], *map(str, files)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert run(good).returncode == 0
    failed = run(good, broken)
    assert failed.returncode == 1
    assert f"{broken}:7: error: /definition/gsbpm/0" in failed.stdout
