"""The catalogue as a user gets it: the built wheel installed into a fresh virtual environment and run from a
folder outside the checkout, as a command, as a server and as the published pre-commit hook.

These tests build, install from the package index and start processes (about a minute and a half on a warm
pip cache); `pytest -m packaging` runs them alone, and .ci/run runs them as their own step.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "tests" / "data" / "good.yaml"
SEED_FILES = sorted((ROOT / "seed_services").glob("*.yaml"))
# The folders the program reads at run time that live at the top of the repository (resources.py).
SHIPPED_FOLDERS = ("schemas", "static", "seed_services")

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]


def _run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def _git(folder: Path, *args: str) -> None:
    _run("git", "-c", "user.name=catalogue", "-c", "user.email=dev@cspa-catalogue.invalid", *args, cwd=folder)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("packaging")


@pytest.fixture(scope="module")
def tree(work: Path) -> Path:
    """The repository as a fresh clone has it (with the working tree's changes), as its own git repository:
    pre-commit installs a hook from a git repository, and nothing untracked (.venv, instance/) comes along."""
    listed = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout
    copy = work / "catalogue-repository"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is left out
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    _git(copy, "init", "-q")
    _git(copy, "add", "-A")
    _git(copy, "commit", "-q", "-m", "the catalogue as committed, with the working tree's changes")
    return copy


@pytest.fixture(scope="module")
def wheel(work: Path, tree: Path) -> Path:
    """The wheel pip builds from the repository (setuptools fetched into an isolated build environment)."""
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", work / "dist", tree, cwd=work)
    [built] = (work / "dist").glob("cspa_catalogue-*.whl")
    return built


@pytest.fixture(scope="module")
def environment(work: Path, wheel: Path) -> dict[str, str]:
    """A fresh virtual environment holding the wheel and its dependencies; the process environment that runs
    its `catalogue` command: that venv first on PATH, no catalogue setting, no path back into the checkout."""
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=work)
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=work)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CATALOGUE_") and k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder outside the checkout, holding a good and a broken descriptor."""
    assert ROOT not in tmp_path.parents
    (tmp_path / "cspa.yaml").write_text(GOOD.read_text("utf-8"), "utf-8")
    broken = GOOD.read_text("utf-8").replace('gsbpm: ["5.1"]', 'gsbpm: ["4.8"]')
    (tmp_path / "broken.cspa.yaml").write_text(broken, "utf-8")
    return tmp_path


def test_the_wheel_holds_every_file_of_the_package_and_of_the_shipped_folders(wheel: Path, tree: Path) -> None:
    held = set(zipfile.ZipFile(wheel).namelist())
    tracked = _run("git", "ls-files", "catalogue", *SHIPPED_FOLDERS, cwd=tree).stdout.split()
    expected = {name if name.startswith("catalogue/") else f"catalogue/{name}" for name in tracked}
    assert sorted(expected - held) == []
    # Nothing lands beside the package in site-packages (the old wheel's schemas/ would have).
    distribution, version = wheel.name.split("-")[:2]
    assert {name.split("/")[0] for name in held} == {"catalogue", f"{distribution}-{version}.dist-info"}


def test_validate_from_a_folder_outside_the_checkout(environment: dict[str, str], elsewhere: Path) -> None:
    good = _run("catalogue", "validate", "cspa.yaml", cwd=elsewhere, env=environment, check=False)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.strip().splitlines()[-1] == "cspa.yaml: valid, 0 warnings"
    broken = _run("catalogue", "validate", "cspa.yaml", "broken.cspa.yaml", cwd=elsewhere, env=environment, check=False)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert (
        "broken.cspa.yaml:7: error: /definition/gsbpm/0: '4.8' is not a GSBPM 5.1 sub-process [reference]"
        in broken.stdout
    )
    assert "broken.cspa.yaml: 1 error, 0 warnings" in broken.stdout
    assert "Traceback" not in broken.stderr


def test_the_version_is_the_catalogue_s(environment: dict[str, str], elsewhere: Path, wheel: Path) -> None:
    shown = _run("catalogue", "--version", cwd=elsewhere, env=environment)
    assert shown.stdout.strip() == f"catalogue {wheel.name.split('-')[1]}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@pytest.fixture
def served(environment: dict[str, str], elsewhere: Path) -> Iterator[tuple[str, Path]]:
    """`catalogue serve` on the embedded default (a SQLite file under ./instance), as the README's first command."""
    port = _free_port()
    log = elsewhere / "serve.log"
    with (
        log.open("w") as out,
        subprocess.Popen(
            ["catalogue", "serve", "--port", str(port)],
            cwd=elsewhere,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        ) as server,
    ):
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    _get(f"{base}/")
                    break
                except OSError:
                    time.sleep(0.3)
            else:
                pytest.fail(f"the server did not answer:\n{log.read_text()}")
            yield base, log
        finally:
            server.terminate()
            server.wait(timeout=20)


@pytest.mark.enable_socket
def test_serve_with_the_seed_services_from_a_folder_outside_the_checkout(served: tuple[str, Path]) -> None:
    base, log = served
    for path in (
        "/",
        "/services/relais",
        "/static/catalogue.js",
        "/static/catalogue.css",
        "/schemas/cspa-service-descriptor.schema.json",
        "/document",
        "/search?q=linkage",
    ):
        status, _body = _get(base + path)
        assert status == 200, path
    _status, body = _get(f"{base}/api/v1/services?per_page=100")
    assert 50 <= len(SEED_FILES) == json.loads(body)["total"]
    assert f"{len(SEED_FILES)} of {len(SEED_FILES)} seed services loaded" in log.read_text()


def _project(folder: Path) -> Path:
    """A user's own repository holding the good and the broken descriptor, as pre-commit needs one."""
    project = folder / "project"
    project.mkdir()
    for name in ("cspa.yaml", "broken.cspa.yaml"):
        shutil.copy(folder / name, project / name)
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    return project


def test_the_pre_commit_hook_from_a_clone(environment: dict[str, str], tree: Path, elsewhere: Path, work: Path) -> None:
    project = _project(elsewhere)
    env = {**environment, "PRE_COMMIT_HOME": str(work / "pre-commit-home")}
    pre_commit = Path(sys.executable).parent / "pre-commit"
    passed = _run(
        pre_commit, "try-repo", tree, "cspa-validate", "--files", "cspa.yaml", cwd=project, env=env, check=False
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Validate CSPA service descriptors" in passed.stdout and "Passed" in passed.stdout
    failed = _run(
        pre_commit,
        "try-repo",
        tree,
        "cspa-validate",
        "--files",
        "cspa.yaml",
        "broken.cspa.yaml",
        cwd=project,
        env=env,
        check=False,
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Failed" in failed.stdout
    assert "broken.cspa.yaml:7: error: /definition/gsbpm/0" in failed.stdout
    assert "FileNotFoundError" not in failed.stdout
